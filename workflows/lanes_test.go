package workflows

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/delivery"
)

// sixPages is an audience of six pages of ten, on in-app, email and Slack
// DMs, with a Slack channel post for the event.
func sixPages(s *store) {
	cursors := []string{"", "p1", "p2", "p3", "p4", "p5"}
	for i, c := range cursors {
		next := ""
		if i+1 < len(cursors) {
			next = cursors[i+1]
		}
		p := storePage{next: next, users: 10, chans: []channel.Channel{channel.InApp, channel.Email, channel.Slack}}
		if c == "" {
			p.events = []channel.Channel{channel.Slack}
		}
		s.pages[c] = p
	}
}

// Slack hanging must not hold up email: every email batch is sent while
// Slack's batches fill their window and wait.
func TestSlowSlackDoesNotHoldEmail(t *testing.T) {
	s := newStore(t)
	sixPages(s)
	emailsDone := make(chan struct{})
	var emailBatches int
	s.onDeliver = func(in activities.DeliverInput) {
		switch in.Channel {
		case channel.Slack:
			// Slack answers only once every email went out (or gives up
			// after a while, and the assertions below fail).
			select {
			case <-emailsDone:
			case <-time.After(5 * time.Second):
			}
		case channel.Email:
			s.mu.Lock()
			emailBatches++
			if emailBatches == 6 {
				close(emailsDone)
			}
			s.mu.Unlock()
		}
	}
	res, _ := s.run(input)
	if res.Status != delivery.EventDelivered || res.Delivered != 6*10*3+1 {
		t.Errorf("result %+v, want all 181 delivered", res)
	}
	select {
	case <-emailsDone:
	default:
		t.Fatal("the emails waited for Slack")
	}
	slack := s.sentAt[channel.Slack]
	if len(slack) != 61 || len(s.sentAt[channel.Email]) != 60 {
		t.Fatalf("sent %d Slack posts and %d emails", len(slack), len(s.sentAt[channel.Email]))
	}
}

// A dead webhook waits in the database between tries, on the workflow's
// timer, while the rest of the event is delivered at once.
func TestDeferredTriesWaitInTheDatabase(t *testing.T) {
	s := newStore(t)
	s.pages[""] = storePage{users: 3, chans: []channel.Channel{channel.InApp, channel.Email, channel.Webhook}}
	s.answer = func(r *row, try int) answer {
		if r.ch == channel.Webhook && try < 3 {
			return deferTry
		}
		return accept
	}
	res, took := s.run(input)
	if res.Status != delivery.EventDelivered || res.Delivered != 9 {
		t.Errorf("result %+v", res)
	}
	// Tries at 0, 5 s and 5 min 5 s: the schedule, not a retry loop inside
	// an activity.
	if want := 5*time.Second + 5*time.Minute; took < want || took > want+time.Second {
		t.Errorf("took %v, want %v", took, want)
	}
	for _, at := range s.sentAt[channel.Email] {
		if at.Sub(s.env.Now().Add(-took)) > time.Second {
			t.Errorf("an email went out at +%v: it waited for the webhook", at.Sub(s.env.Now().Add(-took)))
		}
	}
}

// An operator's retry acts at once while another target's tries are still
// parked for hours.
func TestRetryActsWhileTriesAreParked(t *testing.T) {
	s := newStore(t)
	s.pages[""] = storePage{users: 2, chans: []channel.Channel{channel.Email, channel.Webhook}, events: []channel.Channel{channel.Slack}}
	var refused uuid.UUID
	var resentAt time.Time
	s.answer = func(r *row, try int) answer {
		switch {
		case r.ch == channel.Slack && r.tries < 4:
			return deferTry // dead for 5 s + 5 min + 30 min, then back
		case r.ch == channel.Webhook && r.user == "-u000" && refused == uuid.Nil:
			refused = r.id
			return refuse // a 400: failed at once
		case r.id == refused:
			resentAt = s.now()
		}
		return accept
	}
	var start time.Time
	s.env.RegisterDelayedCallback(func() {
		start = s.env.Now().Add(-10 * time.Second)
		s.env.SignalWorkflow(contract.SignalRetry, []uuid.UUID{refused})
	}, 10*time.Second)
	res, took := s.run(input)
	if res.Status != delivery.EventDelivered {
		t.Errorf("result %+v", res)
	}
	if resentAt.IsZero() || resentAt.Sub(start) > 11*time.Second {
		t.Errorf("the retried webhook went out at +%v, want at the signal (+10 s)", resentAt.Sub(start))
	}
	if took < 35*time.Minute {
		t.Errorf("took %v: Slack's tries were not paced", took)
	}
}

// A message whose answer never came is failed uncertain and never sent
// again by a retry of every failed delivery; a retry naming it sends it.
func TestUncertainIsResentOnlyWhenNamed(t *testing.T) {
	s := newStore(t)
	s.pages[""] = storePage{users: 1, chans: []channel.Channel{channel.Email}}
	var id uuid.UUID
	s.answer = func(r *row, try int) answer {
		id = r.id
		if s.sent[r.id] == 0 {
			return uncertain
		}
		return accept
	}
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(contract.SignalRetry, []uuid.UUID{}) }, time.Hour)
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(contract.SignalRetry, []uuid.UUID{id}) }, 2*time.Hour)
	res, took := s.run(input)
	if res.Status != delivery.EventDelivered || s.sent[id] != 2 {
		t.Errorf("result %+v, %d copies; want delivered by the named retry", res, s.sent[id])
	}
	if took < 2*time.Hour || took > 2*time.Hour+time.Minute {
		t.Errorf("took %v, want the named retry at 2 h to deliver it", took)
	}
}

// Quiet-hour deferrals and a channel's next tries share one timer: the
// event closes when the last of them is delivered.
func TestQuietHoursAndRetriesShareTheWait(t *testing.T) {
	s := newStore(t)
	quietEnd := s.env.Now().Add(8 * time.Hour)
	s.pages[""] = storePage{users: 2, chans: []channel.Channel{channel.Email}, quiet: &quietEnd, events: []channel.Channel{channel.Webhook}}
	s.answer = func(r *row, try int) answer {
		if r.ch == channel.Webhook && try == 1 {
			return deferTry
		}
		return accept
	}
	res, took := s.run(input)
	if res.Status != delivery.EventDelivered || res.Delivered != 3 {
		t.Errorf("result %+v", res)
	}
	if took < 8*time.Hour || took > 8*time.Hour+time.Second {
		t.Errorf("took %v, want the quiet hours' end", took)
	}
	if at := s.sentAt[channel.Webhook]; len(at) != 1 || at[0].Sub(quietEnd.Add(-8*time.Hour)) != 5*time.Second {
		t.Errorf("webhook sent at %v, want 5 s after the start", at)
	}
}

// Retries and reschedules taken but not acted on go with a continued run.
func TestContinuedRunActsOnCarriedRetries(t *testing.T) {
	s := newStore(t)
	failed := &row{id: uuid.New(), ch: channel.Email, user: "u1", status: delivery.Failed}
	s.rows[failed.id] = failed
	by := s.env.Now().Add(contract.RetryWindow)
	in := input
	in.Waiting, in.Closed, in.RepairBy, in.RetryIDs = true, true, &by, []uuid.UUID{failed.id}
	in.Carried = &contract.NotifyResult{Status: delivery.EventFailed, Failed: 1}
	res, took := s.run(in)
	if res.Status != delivery.EventDelivered || s.sent[failed.id] != 1 || took > time.Second {
		t.Errorf("result %+v after %v, %d copies; want the carried retry delivered at once", res, took, s.sent[failed.id])
	}
}

// A run that reaches its loop bound continues as new and carries the retry
// signals still buffered.
func TestContinueAsNewCarriesBufferedSignals(t *testing.T) {
	s := newStore(t)
	s.pages[""] = storePage{users: 1, chans: []channel.Channel{channel.Email}}
	s.answer = func(*row, int) answer { return refuse }
	// Reschedules wake the run again and again while it waits for a retry.
	for i := range maxLoopRounds + 5 {
		s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(contract.SignalReschedule, "nobody") }, time.Duration(i+1)*time.Minute)
	}
	retryID := uuid.New()
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(contract.SignalRetry, []uuid.UUID{retryID}) },
		time.Duration(maxLoopRounds)*time.Minute-time.Second)
	in := input
	in.Engine = contract.EngineLanes
	s.env.ExecuteWorkflow(NotifyEvent, in)
	next := continuedAs(t, s.env)
	if !next.Waiting || !next.Closed || next.RepairBy == nil || next.Carried == nil || next.Carried.Failed != 1 {
		t.Errorf("continued with %+v, want the closed settling phase with its tally", next)
	}
	// The retry was acted on (nothing failed matched it) or carried.
	if len(next.RetryIDs) > 1 {
		t.Errorf("carried retries %v", next.RetryIDs)
	}
}

// A page the database cannot plan for hours is planned again by a fresh
// run later, not abandoned with the rest of the audience.
func TestLongDatabaseOutageRedrivesThePage(t *testing.T) {
	s := newStore(t)
	s.pages[""] = storePage{next: "p1", users: 1, chans: []channel.Channel{channel.Email}}
	s.pages["p1"] = storePage{err: temporal.NewApplicationError("connection refused", "")}
	in := input
	in.Engine = contract.EngineLanes
	s.env.ExecuteWorkflow(NotifyEvent, in)
	next := continuedAs(t, s.env)
	if next.After != "p1" || next.Waiting {
		t.Errorf("continued with %+v, want the fan-out from p1", next)
	}
	if s.sent[s.rowsOn(channel.Email)[0].id] != 1 {
		t.Error("the first page's email was not sent before the run continued")
	}
}

// A fan-out that continues as new does not wait for a slow lane's queue:
// the queued batches are handed to the database, due at once, and only
// what is in flight settles first.
func TestContinueAsNewParksQueuedBatches(t *testing.T) {
	s := newStore(t)
	cursors := []string{"", "p1", "p2", "p3", "p4", "p5", "p6"}
	for i, c := range cursors {
		next := "p7"
		if i+1 < len(cursors) {
			next = cursors[i+1]
		}
		s.pages[c] = storePage{next: next, users: 2, chans: []channel.Channel{channel.Slack}}
	}
	// Slack answers slowly: its window fills and the rest queue.
	s.onDeliver = func(in activities.DeliverInput) { time.Sleep(200 * time.Millisecond) }
	s.onPage = func(after string) {
		if after == cursors[len(cursors)-1] {
			s.env.SetContinueAsNewSuggested(true)
		}
	}
	in := input
	in.Engine = contract.EngineLanes
	s.env.ExecuteWorkflow(NotifyEvent, in)
	next := continuedAs(t, s.env)
	if next.After != "p7" || next.Waiting {
		t.Errorf("continued with %+v, want the fan-out from p7", next)
	}
	if len(s.parked) == 0 || s.count("Deliver") >= len(cursors) {
		t.Errorf("%d deliveries parked, %d batches sent before continuing; want the queue parked, not sent", len(s.parked), s.count("Deliver"))
	}
	for _, id := range s.parked {
		if s.sent[id] != 0 {
			t.Errorf("parked delivery %s was sent", id)
		}
	}
}
