package mailer

import "time"

// SetIdleTimeout lets tests observe idle expiry without waiting the production 30 s.
// It must be called before s is used.
func SetIdleTimeout(s *Sender, d time.Duration) { s.pool.idleTimeout = d }

// SetTimeouts shortens the per-step deadlines of message transactions (not of
// connecting), so that tests can outwait them in seconds. It must be called before s
// is used.
func SetTimeouts(s *Sender, command, finalReply time.Duration) {
	s.commandTimeout, s.finalReplyTimeout = command, finalReply
}
