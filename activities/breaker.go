package activities

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
)

// breakerLimit is how many requests in a row to one endpoint may fail
// without an answer (refused, timed out, reset) before an attempt stops
// trying it: the rest of the batch waits for its next try without being
// sent, so an endpoint that hangs costs an attempt a few timeouts, not one
// per delivery.
const breakerLimit = 3

// breaker counts one attempt's consecutive unanswered requests per
// endpoint. Once a request to an endpoint went unanswered, no new request
// starts there while others are still out: they may be hanging too, and
// waiting for them (rather than starting the next job in the slot the
// failure freed) lets an endpoint that hangs cost one round of timeouts,
// not one more for each job that slipped in. It is safe for concurrent use.
type breaker struct {
	mu       sync.Mutex
	fails    map[string]int
	last     map[string]error
	inFlight map[string]int
	// changed is closed (and replaced) whenever a request's outcome is
	// recorded: what acquire waits for.
	changed chan struct{}
}

func (b *breaker) init() {
	if b.fails == nil {
		b.fails, b.last, b.inFlight = map[string]int{}, map[string]error{}, map[string]int{}
		b.changed = make(chan struct{})
	}
}

// acquire is called before a request to endpoint: nil to try it (record
// must follow), the error to give the job without trying it, or ctx's
// error if it ended while waiting for the requests already out.
func (b *breaker) acquire(ctx context.Context, endpoint string) error {
	for {
		b.mu.Lock()
		b.init()
		if b.fails[endpoint] >= breakerLimit {
			err := &notTriedError{fails: b.fails[endpoint], last: b.last[endpoint]}
			b.mu.Unlock()
			return err
		}
		if b.fails[endpoint] == 0 || b.inFlight[endpoint] == 0 {
			b.inFlight[endpoint]++
			b.mu.Unlock()
			return nil
		}
		wait := b.changed
		b.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// record notes the outcome of a request acquire let through: one that got
// no answer counts, any answer resets.
func (b *breaker) record(endpoint string, err error) {
	var ue *url.Error
	b.mu.Lock()
	defer b.mu.Unlock()
	b.init()
	if b.inFlight[endpoint] > 0 {
		b.inFlight[endpoint]--
	}
	close(b.changed)
	b.changed = make(chan struct{})
	if errors.As(err, &ue) {
		b.fails[endpoint]++
		b.last[endpoint] = err
		return
	}
	b.fails[endpoint] = 0
}

// notTriedError is a job an attempt did not try because its endpoint kept
// failing: nothing was sent, so it waits for its next try like any deferral.
// It does not unwrap to the last error, which may have been an uncertain
// send: this job's fate is certain.
type notTriedError struct {
	fails int
	last  error
}

func (e *notTriedError) Error() string {
	return fmt.Sprintf("not tried: %d requests to the endpoint failed in a row: %v", e.fails, e.last)
}

type breakerKey struct{}

// withBreaker gives a Deliver attempt's sends one breaker: the attempt may
// call Send more than once (deliveries another attempt let go are claimed
// again), and an endpoint that kept failing stays untried.
func withBreaker(ctx context.Context) context.Context {
	return context.WithValue(ctx, breakerKey{}, &breaker{})
}

// breakerOf is the attempt's breaker, or a fresh one for a Send called on
// its own.
func breakerOf(ctx context.Context) *breaker {
	if b, ok := ctx.Value(breakerKey{}).(*breaker); ok {
		return b
	}
	return &breaker{}
}
