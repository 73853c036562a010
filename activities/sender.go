package activities

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
)

// Sender delivers one channel's messages. Deliver claims the deliveries,
// hands them to the channel's Sender and records each outcome; a Sender only
// renders and transmits. Adding a channel is adding a Sender.
type Sender interface {
	Channel() channel.Channel
	// Send transmits every job and calls done once per job, from any
	// goroutine, as soon as its outcome is known: the content hash of what
	// was accepted, or an error. When ctx ends, jobs in transmission finish
	// and jobs not started get ctx's error. done may be slow (it writes to
	// the database); Send must not call it while holding a lock others need.
	Send(ctx context.Context, ev *Event, jobs []Job, done func(i int, hash []byte, err error))
	// Permanent reports whether err means retrying cannot help.
	Permanent(err error) bool
	// Describe turns err into a sentence safe to show API clients: no
	// hostnames, addresses or worker identities. The raw error is logged.
	Describe(err error) string
	// Linger bounds how long a job already in transmission may go on after
	// Send's context ends; claims are leased for that much longer.
	Linger() time.Duration
}

// Job is one claimed delivery and its recipient.
type Job struct {
	DeliveryID uuid.UUID
	Recipient  catalog.Recipient
	// SlackUserID addresses Slack DMs.
	SlackUserID string
	// WebhookURL is the recipient's own webhook endpoint.
	WebhookURL string
}

// ErrNoAddress is what a Sender reports for a recipient it cannot reach at
// all on its channel (no email address, no Slack user ID): the delivery is
// skipped with reason no_address.
var ErrNoAddress = errors.New("recipient has no address on this channel")

// permanentError marks an error no retry can fix, whatever the channel.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one no retry can fix (a template that fails for
// this recipient's data, say).
func Permanent(err error) error { return permanentError{err} }

func isPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
