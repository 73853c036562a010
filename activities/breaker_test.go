package activities

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"
)

var (
	unanswered = &url.Error{Op: "Post", URL: "(the endpoint)", Err: errors.New("i/o timeout")}
	answered   = &StatusError{Code: 503}
)

func TestBreakerOpensAfterUnansweredRequestsInARow(t *testing.T) {
	ctx := context.Background()
	var b breaker
	try := func(endpoint string, outcome error) {
		t.Helper()
		if err := b.acquire(ctx, endpoint); err != nil {
			t.Fatalf("acquire %s: %v", endpoint, err)
		}
		b.record(endpoint, outcome)
	}
	for range breakerLimit - 1 {
		try("a", unanswered)
	}
	try("a", answered) // an answer, even a 503, resets the count
	for range breakerLimit {
		try("a", unanswered)
	}
	err := b.acquire(ctx, "a")
	var nt *notTriedError
	if !errors.As(err, &nt) {
		t.Fatalf("acquire = %v after %d failures in a row, want not tried", err, breakerLimit)
	}
	if b.acquire(ctx, "b") != nil {
		t.Error("another endpoint is not affected")
	}
	// Not tried is certain, whatever the last try was: never uncertain.
	for range breakerLimit {
		try("c", Uncertain(unanswered))
	}
	if err := b.acquire(ctx, "c"); err == nil || isUncertain(err) || isPermanent(err) {
		t.Errorf("acquire after uncertain tries = %v, want a temporary not-tried error", err)
	}
	w, s := &WebhookSender{}, &SlackSender{}
	if w.Permanent(err) || s.Permanent(err) {
		t.Error("a job not tried is worth trying later")
	}
}

// TestBreakerHoldsNewRequestsWhileAFailedEndpointHasOthersOut: four
// requests hang; when the first times out, the job waiting for a slot does
// not start until the other three have answered or failed too, so a
// hanging endpoint costs one round of timeouts. An endpoint that answers
// them lets it start.
func TestBreakerHoldsNewRequestsWhileAFailedEndpointHasOthersOut(t *testing.T) {
	for _, tc := range []struct {
		name    string
		others  error
		wantTry bool
	}{{"others hang too", unanswered, false}, {"others answer", answered, true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			var b breaker
			for range 4 {
				if err := b.acquire(ctx, "h"); err != nil {
					t.Fatal(err)
				}
			}
			b.record("h", unanswered)
			got := make(chan error, 1)
			go func() { got <- b.acquire(ctx, "h") }()
			select {
			case err := <-got:
				t.Fatalf("acquire = %v while three requests to an endpoint that just failed are out, want it to wait", err)
			case <-time.After(50 * time.Millisecond):
			}
			for range 3 {
				b.record("h", tc.others)
			}
			err := <-got
			if tried := err == nil; tried != tc.wantTry {
				t.Errorf("acquire = %v, want tried = %v", err, tc.wantTry)
			}
		})
	}
	// A wait ends with the attempt.
	var b breaker
	ctx, cancel := context.WithCancel(context.Background())
	_ = b.acquire(ctx, "h")
	_ = b.acquire(ctx, "h")
	b.record("h", unanswered)
	cancel()
	if err := b.acquire(ctx, "h"); !errors.Is(err, context.Canceled) {
		t.Errorf("acquire after the attempt ended = %v, want its context's error", err)
	}
}
