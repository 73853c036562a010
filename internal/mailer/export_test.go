package mailer

import "time"

// SetIdleTimeout lets tests observe idle expiry without waiting the production 30 s.
// It must be called before s is used.
func SetIdleTimeout(s *Sender, d time.Duration) { s.pool.idleTimeout = d }
