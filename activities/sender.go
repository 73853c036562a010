package activities

import (
	"context"
	"errors"
	"fmt"

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
	// was accepted, or an error. via names the route that accepted it when
	// the channel has several (an email relay's host:port), "" otherwise.
	// When ctx ends, jobs in transmission finish and jobs not started get
	// ctx's error. done may be slow (it writes to the database); Send must
	// not call it while holding a lock others need.
	Send(ctx context.Context, ev *Event, jobs []Job, done func(i int, hash []byte, via string, err error))
	// Permanent reports whether err means retrying cannot help.
	Permanent(err error) bool
	// Describe turns err into a sentence safe to show API clients: no
	// hostnames, addresses or worker identities. The raw error is logged.
	Describe(err error) string
}

// Job is one claimed delivery and its recipient.
type Job struct {
	DeliveryID uuid.UUID
	Recipient  catalog.Recipient
	// SlackUserID addresses Slack DMs.
	SlackUserID string
	// WebhookURL is the recipient's own webhook endpoint, and
	// WebhookSecrets its signing secrets, sealed ("" for none).
	WebhookURL     string
	WebhookSecrets string
}

// ErrNoAddress is what a Sender reports for a recipient it cannot reach at
// all on its channel (no email address, no Slack user ID): the delivery is
// skipped with reason no_address.
var ErrNoAddress = errors.New("recipient has no address on this channel")

// suppressor is a Sender whose channel has a suppression list (email): a
// permanent refusal it names as the recipient address's fault lists that
// address, and the reply that said so.
type suppressor interface {
	Suppresses(err error) (detail string, ok bool)
}

// errSuppressed is the outcome of a delivery whose address is on the
// tenant's suppression list when it is claimed: skipped with reason
// suppressed, never handed to the Sender.
var errSuppressed = errors.New("the address is on the tenant's suppression list")

// errRenderTimedOut is a message whose rendering ran out of time on every
// try (see catalog.TimedOut): not sent, so it waits for its next try.
var errRenderTimedOut = errors.New("rendering the message took too long on a busy worker; not sent, tried again later")

// notRendered is the fate of a message its templates could not render:
// failed for good (broken for this data, or past a bound it will pass
// again), unless the render only ran out of time, which a less busy moment
// may not: then it waits for its next try like any deferral.
func notRendered(what string, err error) error {
	if catalog.TimedOut(err) {
		return errRenderTimedOut
	}
	return Permanent(fmt.Errorf("%s: %w", what, err))
}

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

// uncertainError marks a message that left and whose answer never came.
type uncertainError struct{ err error }

func (e uncertainError) Error() string { return e.err.Error() }
func (e uncertainError) Unwrap() error { return e.err }

// Uncertain marks err as the fate of a message that may have been accepted
// (its data went out, the answer never came): Deliver fails it with reason
// uncertain and never sends it again by itself.
func Uncertain(err error) error { return uncertainError{err} }

func isUncertain(err error) bool {
	var u uncertainError
	return errors.As(err, &u)
}

// renderFailure is the error recorded on a delivery whose notification
// could not be rendered for its recipient: a template that exceeded a
// bound of rendering (catalog.BoundError) for this recipient's data says
// which; other template errors may quote the data, and are only logged.
func renderFailure(err error) string {
	var bound *catalog.BoundError
	if errors.As(err, &bound) {
		return errRenderInApp + ": " + bound.Error()
	}
	return errRenderInApp
}
