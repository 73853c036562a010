package workflows

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/delivery"
)

// promptly is how soon after its signal a retry must be acted on: the
// workflow task that takes the signal, plus one page being planned when it
// came (retryPageTakes).
const promptly = 3 * time.Second

// retryPageTakes is how long planning one page takes in these tests: a
// fan-out of many pages then spans a minute, and a signal arrives while a
// page is being planned, as it does in a real fan-out.
const retryPageTakes = 2 * time.Second

// refuseOnce answers the first try of user's webhook with a refusal (a 400:
// failed at once, waiting for an operator's retry) and records which
// delivery that was and when it was sent again.
type refuseOnce struct {
	s        *store
	user     string
	refused  uuid.UUID
	resentAt time.Time
}

func (f *refuseOnce) answer(r *row, _ int) answer {
	switch {
	case r.ch == channel.Webhook && r.user == f.user && f.refused == uuid.Nil:
		f.refused = r.id
		return refuse
	case r.id == f.refused:
		f.resentAt = f.s.now()
	}
	return accept
}

// signalRetryAt signals a retry of the refused delivery after d, and
// returns when it was signalled (set once it has been).
func (f *refuseOnce) signalRetryAt(t *testing.T, d time.Duration) *time.Time {
	var at time.Time
	f.s.env.RegisterDelayedCallback(func() {
		// answer runs in the activities' goroutines, under the store's lock.
		f.s.mu.Lock()
		refused := f.refused
		f.s.mu.Unlock()
		if refused == uuid.Nil {
			t.Error("nothing was refused before the retry")
		}
		at = f.s.now()
		f.s.env.SignalWorkflow(contract.SignalRetry, []uuid.UUID{refused})
	}, d)
	return &at
}

// A retry that arrives while the run still plans pages is acted on between
// two pages, not after the last: the operator's delivery goes out within
// seconds, and the fan-out then plans the rest of the audience as before.
func TestRetryActsDuringTheFanOut(t *testing.T) {
	s := newStore(t)
	const pages = 30
	for i := range pages {
		cursor, next := fmt.Sprintf("p%02d", i), fmt.Sprintf("p%02d", i+1)
		if i == 0 {
			cursor = ""
		}
		if i == pages-1 {
			next = ""
		}
		s.pages[cursor] = storePage{next: next, users: 1, chans: []channel.Channel{channel.Email, channel.Webhook}}
	}
	s.pageTakes = retryPageTakes
	f := &refuseOnce{s: s, user: "-u000"}
	s.answer = f.answer
	// Page 10 of 30 is being planned at 20 s.
	signalled := f.signalRetryAt(t, 20*time.Second)
	res, took := s.run(input)

	requeued, planned := s.at("RequeueFailed"), s.at("PreparePage")
	if len(requeued) != 1 {
		t.Fatalf("RequeueFailed ran %d times, want once", len(requeued))
	}
	if d := requeued[0].Sub(*signalled); d < 0 || d > promptly {
		t.Errorf("the retry was requeued %v after its signal, want within %v", d, promptly)
	}
	if d := f.resentAt.Sub(*signalled); f.resentAt.IsZero() || d > promptly {
		t.Errorf("the retried webhook went out %v after its signal (at %v), want within %v", d, f.resentAt, promptly)
	}
	if last := planned[len(planned)-1]; !requeued[0].Before(last) || last.Sub(requeued[0]) < 30*time.Second {
		t.Errorf("requeued at %v, the last page planned at %v: want the retry acted on well inside the fan-out", requeued[0], last)
	}
	// The fan-out still completes: every page planned once, everything
	// delivered, the retried webhook exactly once more.
	if len(planned) != pages || res.Status != delivery.EventDelivered || res.Delivered != pages*2 || res.Failed != 0 {
		t.Errorf("planned %d pages, result %+v; want %d pages and %d delivered", len(planned), res, pages, pages*2)
	}
	if n := s.sent[f.refused]; n != 1 {
		t.Errorf("the retried webhook was received %d times, want once", n)
	}
	if took < pages*retryPageTakes {
		t.Errorf("took %v: the fan-out did not span the pages' time", took)
	}
}

// A retry that arrives while a recipient's email waits out quiet hours is
// acted on at once, not at the quiet hours' end; the email still waits for
// that end, and the event closes then.
func TestRetryActsWhileQuietHoursHold(t *testing.T) {
	s := newStore(t)
	start := s.now()
	quietEnd := start.Add(8 * time.Hour)
	s.pages[""] = storePage{users: 2, chans: []channel.Channel{channel.Email, channel.Webhook}, quiet: &quietEnd}
	f := &refuseOnce{s: s, user: "-u000"}
	s.answer = f.answer
	signalled := f.signalRetryAt(t, time.Hour)
	res, took := s.run(input)

	requeued := s.at("RequeueFailed")
	if len(requeued) != 1 {
		t.Fatalf("RequeueFailed ran %d times, want once", len(requeued))
	}
	if d := requeued[0].Sub(*signalled); d < 0 || d > promptly {
		t.Errorf("the retry was requeued %v after its signal, want within %v", d, promptly)
	}
	if d := f.resentAt.Sub(*signalled); f.resentAt.IsZero() || d > promptly {
		t.Errorf("the retried webhook went out %v after its signal, want within %v", d, promptly)
	}
	// The quiet hours still hold: both emails go out at their end, and the
	// event closes then, delivered.
	emails := s.sentAt[channel.Email]
	if len(emails) != 2 || !emails[0].Equal(quietEnd) || !emails[1].Equal(quietEnd) {
		t.Errorf("emails sent at %v, want both at the quiet hours' end %v", emails, quietEnd)
	}
	if res.Status != delivery.EventDelivered || res.Delivered != 4 || res.Failed != 0 {
		t.Errorf("result %+v, want all 4 delivered", res)
	}
	if took < 8*time.Hour || took > 8*time.Hour+time.Second {
		t.Errorf("took %v, want the quiet hours' end", took)
	}
}

// Before send_at the event has no deliveries (they are made when its pages
// are planned, at send_at), so a retry cannot name one of them: the API
// retries only deliveries that failed or wait for their next try. A retry
// signalled meanwhile (from the Temporal UI: [] for every failed delivery)
// is kept, does not end the wait early or send anything before send_at,
// and is acted on once, at send_at, before the first page is planned.
func TestRetryDuringSendAtKeepsTheSchedule(t *testing.T) {
	s := newStore(t)
	sendAt := s.now().Add(24 * time.Hour)
	s.pages[""] = storePage{users: 2, chans: []channel.Channel{channel.Email, channel.Webhook}}
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(contract.SignalRetry, []uuid.UUID{}) }, time.Hour)
	in := input
	in.SendAt = &sendAt
	res, took := s.run(in)

	requeued, planned := s.at("RequeueFailed"), s.at("PreparePage")
	if len(requeued) != 1 || len(planned) != 1 || !requeued[0].Equal(sendAt) || !planned[0].Equal(sendAt) {
		t.Errorf("requeued at %v, planned at %v; want one requeue and the page, both at send_at %v", requeued, planned, sendAt)
	}
	if i, j := slices.Index(s.trail, "RequeueFailed"), slices.Index(s.trail, "PreparePage"); i < 0 || i > j {
		t.Errorf("calls %v: want the retry acted on before the first page", s.trail)
	}
	for ch, at := range s.sentAt {
		for _, t0 := range at {
			if t0.Before(sendAt) {
				t.Errorf("%s sent at %v, before send_at %v", ch, t0, sendAt)
			}
		}
	}
	if res.Status != delivery.EventDelivered || res.Delivered != 4 || took != 24*time.Hour {
		t.Errorf("result %+v after %v, want all 4 delivered at send_at", res, took)
	}
}
