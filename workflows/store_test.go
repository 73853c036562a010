package workflows

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/delivery"
)

// store stands in for the delivery table under the EngineLanes workflow: its
// activities keep the rows' states as the real ones do (claims aside), so a
// test states what each channel answers and asserts what the rows and the
// receivers end up with, on the test environment's skipped clock.
type store struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment

	mu   sync.Mutex
	rows map[uuid.UUID]*row
	// pages maps a page's cursor to what it plans: recipients per page on
	// each channel, and event-level sends with the first page.
	pages map[string]storePage
	// answer says what the receiver does with a delivery's try (1 for the
	// first): delivered unless it says otherwise.
	answer func(r *row, try int) answer
	// sent counts the copies each delivery's receiver got, and when.
	sent   map[uuid.UUID]int
	sentAt map[channel.Channel][]time.Time
	calls  map[string]int
	// callsAt is when (on the workflow's clock) each activity was called.
	callsAt map[string][]time.Time
	// trail is every call's name, in order.
	trail []string
	// pageTakes is how long planning one page takes on the workflow's
	// clock, so a fan-out spans time a signal can arrive in.
	pageTakes time.Duration
	// parked are the deliveries handed to the database by ParkDeliveries.
	parked []uuid.UUID
	// read are the users who read their in-app item (see storePage.held).
	read map[string]bool
	// onDeliver, when set, runs (unlocked) before a Deliver call answers;
	// onPage before a page is planned.
	onDeliver func(in activities.DeliverInput)
	onPage    func(after string)
}

type row struct {
	id        uuid.UUID
	ch        channel.Channel
	user      string
	status    delivery.Status
	reason    delivery.Reason
	notBefore *time.Time
	tries     int
	// escalated: held behind the user's in-app item (escalated_from).
	escalated bool
}

type answer int

const (
	accept answer = iota
	deferTry
	refuse
	uncertain
)

type storePage struct {
	next  string
	users int
	chans []channel.Channel
	// events are event-level sends (e.g. a Slack channel post), first page.
	events []channel.Channel
	// quiet defers the page's email until then.
	quiet *time.Time
	// held are the channels an escalation holds for heldFor behind each
	// user's in-app item.
	held    []channel.Channel
	heldFor time.Duration
	// err fails the page (as a database that is down does).
	err error
}

func newStore(t *testing.T) *store {
	s := &store{t: t, env: newEnv(t), rows: map[uuid.UUID]*row{}, pages: map[string]storePage{},
		sent: map[uuid.UUID]int{}, sentAt: map[channel.Channel][]time.Time{}, calls: map[string]int{}, callsAt: map[string][]time.Time{}, read: map[string]bool{},
		answer: func(*row, int) answer { return accept }}
	s.mock()
	s.env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	return s
}

func (s *store) call(name string) {
	s.calls[name]++
	s.callsAt[name] = append(s.callsAt[name], s.now())
	s.trail = append(s.trail, name)
}

// at lists when name was called, on the workflow's clock.
func (s *store) at(name string) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.callsAt[name])
}

func (s *store) count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[name]
}

func (s *store) now() time.Time { return s.env.Now() }

func (s *store) mock() {
	env := s.env
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).
		AfterFn(func() time.Duration { return s.pageTakes }).Return(s.preparePage)
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(s.deliver)
	env.OnActivity(a.NextRelease, mock.Anything, mock.Anything).Return(
		func(context.Context, uuid.UUID) (*time.Time, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.call("NextRelease")
			var next *time.Time
			for _, r := range s.rows {
				if r.status == delivery.Pending && r.notBefore != nil && (next == nil || r.notBefore.Before(*next)) {
					next = r.notBefore
				}
			}
			return next, nil
		})
	env.OnActivity(a.ReleaseDue, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ReleaseInput) (activities.ReleaseResult, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.call("ReleaseDue")
			var due []*row
			var res activities.ReleaseResult
			for _, r := range s.sorted() {
				if r.status != delivery.Pending || r.notBefore == nil {
					continue
				}
				isDue := !r.notBefore.After(in.AsOf)
				if (in.UserID == "" && !isDue) || (in.UserID != "" && (r.user != in.UserID || (r.escalated && !isDue))) {
					continue
				}
				if r.escalated && s.read[r.user] {
					r.status, r.reason, r.notBefore = delivery.Skipped, delivery.ReadInApp, nil
					res.Skipped++
					continue
				}
				r.notBefore = nil
				due = append(due, r)
			}
			res.Batches = byChannel(due)
			return res, nil
		})
	env.OnActivity(a.RequeueFailed, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RequeueInput) (activities.RequeueResult, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.call("RequeueFailed")
			var again []*row
			for _, r := range s.sorted() {
				named := len(in.IDs) == 0 || slices.Contains(in.IDs, r.id)
				failed := r.status == delivery.Failed && (r.reason != delivery.Uncertain || len(in.IDs) > 0)
				waiting := r.status == delivery.Pending && r.tries > 0 && r.notBefore != nil
				if named && r.ch != channel.InApp && (failed || waiting) {
					r.status, r.reason, r.notBefore, r.tries = delivery.Pending, delivery.None, nil, 0
					again = append(again, r)
				}
			}
			return activities.RequeueResult{Batches: byChannel(again)}, nil
		})
	env.OnActivity(a.SettleEvent, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SettleInput) (activities.SettledEvent, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.call("SettleEvent")
			t := s.tally()
			st := in.Status
			if st == "" {
				st = delivery.Outcome(t.Delivered, t.Failed)
			}
			return activities.SettledEvent{Status: st, Tally: t}, nil
		})
	env.OnActivity(a.ParkDeliveries, mock.Anything, mock.Anything).Return(
		func(_ context.Context, ids []uuid.UUID) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.call("ParkDeliveries")
			now := s.now()
			for _, id := range ids {
				if r := s.rows[id]; r.status == delivery.Pending && r.notBefore == nil {
					r.notBefore = &now
					s.parked = append(s.parked, id)
				}
			}
			return nil
		})
	env.OnActivity(a.CloseEvent, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(a.MarkAccepted, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(a.MarkFailed, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, ids []uuid.UUID, _ string) (activities.DeliverResult, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			for _, id := range ids {
				if r := s.rows[id]; r.status == delivery.Pending {
					r.status, r.notBefore = delivery.Failed, nil
				}
			}
			return activities.DeliverResult{Failed: len(ids)}, nil
		})
}

func (s *store) sorted() []*row {
	out := make([]*row, 0, len(s.rows))
	for _, r := range s.rows {
		out = append(out, r)
	}
	slices.SortFunc(out, func(x, y *row) int { return slices.Compare(x.id[:], y.id[:]) })
	return out
}

func byChannel(rows []*row) []delivery.Batch {
	var out []delivery.Batch
	for _, ch := range channel.All {
		var ids []uuid.UUID
		for _, r := range rows {
			if r.ch == ch {
				ids = append(ids, r.id)
			}
		}
		if len(ids) > 0 {
			out = append(out, delivery.Batch{Channel: ch, DeliveryIDs: ids})
		}
	}
	return out
}

func (s *store) tally() activities.Tally {
	var t activities.Tally
	for _, r := range s.rows {
		switch r.status {
		case delivery.Delivered:
			t.Delivered++
		case delivery.Failed:
			t.Failed++
		case delivery.Skipped, delivery.Cancelled:
			t.Skipped++
		default:
			t.Pending++
		}
	}
	return t
}

func (s *store) preparePage(_ context.Context, in activities.PageInput) (activities.PageResult, error) {
	if s.onPage != nil {
		s.onPage(in.After)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("PreparePage")
	p, ok := s.pages[in.After]
	if !ok {
		return activities.PageResult{}, fmt.Errorf("no page after %q", in.After)
	}
	if p.err != nil {
		return activities.PageResult{}, p.err
	}
	res := activities.PageResult{Next: p.next}
	var pending, events []*row
	for u := range p.users {
		user := fmt.Sprintf("%s-u%03d", in.After, u)
		for _, ch := range p.chans {
			r := &row{id: uuid.New(), ch: ch, user: user, status: delivery.Pending}
			s.rows[r.id] = r
			switch {
			case ch == channel.InApp:
				r.status = delivery.Delivered
				res.Delivered++
			case slices.Contains(p.held, ch):
				at := s.now().Add(p.heldFor)
				r.notBefore, r.escalated = &at, true
				res.Deferred++
			case ch == channel.Email && p.quiet != nil:
				r.notBefore = p.quiet
				res.Deferred++
			default:
				pending = append(pending, r)
			}
		}
	}
	if in.After == "" {
		for i, ch := range p.events {
			r := &row{id: uuid.New(), ch: ch, user: fmt.Sprintf("#%s:%d", ch, i), status: delivery.Pending}
			s.rows[r.id] = r
			events = append(events, r)
		}
	}
	res.Batches, res.EventSends = byChannel(pending), byChannel(events)
	return res, nil
}

func (s *store) deliver(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
	if !in.Paced {
		return activities.DeliverResult{}, fmt.Errorf("an EngineLanes run sent an unpaced batch")
	}
	if s.onDeliver != nil {
		s.onDeliver(in)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("Deliver")
	now := s.now()
	var res activities.DeliverResult
	for _, id := range in.DeliveryIDs {
		r := s.rows[id]
		if r.status != delivery.Pending || (r.notBefore != nil && r.notBefore.After(now)) {
			continue
		}
		r.tries++
		switch s.answer(r, r.tries) {
		case accept:
			r.status, r.notBefore = delivery.Delivered, nil
			s.sent[id]++
			s.sentAt[r.ch] = append(s.sentAt[r.ch], now)
			res.Delivered++
		case refuse:
			r.status = delivery.Failed
			res.Failed++
		case uncertain:
			s.sent[id]++
			r.status, r.reason = delivery.Failed, delivery.Uncertain
			res.Failed++
		case deferTry:
			wait, ok := delivery.NextTry(r.ch, r.tries)
			if !ok {
				r.status = delivery.Failed
				res.Failed++
				continue
			}
			at := now.Add(wait)
			r.notBefore = &at
			res.Deferred++
			if res.NextTry == nil || at.Before(*res.NextTry) {
				res.NextTry = &at
			}
		}
	}
	return res, nil
}

// run runs NotifyEvent (EngineLanes) to its end and returns its result and
// how long it took on the workflow's clock.
func (s *store) run(in contract.NotifyInput) (contract.NotifyResult, time.Duration) {
	s.t.Helper()
	in.Engine = contract.EngineLanes
	if err := s.env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(contract.AttrTenant.ValueSet(in.TenantID.String()),
		contract.AttrEventType.ValueSet(in.Type), contract.AttrStatus.ValueSet(string(delivery.EventPending)))); err != nil {
		s.t.Fatal(err)
	}
	start := s.env.Now()
	res := runOK(s.t, s.env, in)
	return res, s.env.Now().Sub(start)
}

// rowsOn lists the rows of a channel.
func (s *store) rowsOn(ch channel.Channel) []*row {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*row
	for _, r := range s.sorted() {
		if r.ch == ch {
			out = append(out, r)
		}
	}
	return out
}
