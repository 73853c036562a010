package workflows

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/digest"
)

var digestIn = contract.DigestInput{TenantID: uuid.New(), UserID: "u1", Channel: channel.Email}

// fakeWindow stands in for the database side of a user's window: their
// cadence and zone, what PrepareDigest listed and when, and whether items
// came after the listing.
type fakeWindow struct {
	freq    digest.Frequency
	zone    *time.Location
	items   int
	lateSeq bool // a page digested more after the listing: the window stays open

	prepared  []time.Time // workflow times PrepareDigest ran at
	delivered int
	closedAt  []int64
}

func (f *fakeWindow) mock(env *testsuite.TestWorkflowEnvironment) {
	env.OnActivity(a.PlanDigest, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PlanDigestInput) (activities.DigestPlan, error) {
			if in.Every > 0 {
				return activities.DigestPlan{Frequency: f.freq, CloseAt: in.Opened.Add(in.Every)}, nil
			}
			c, ok := digest.Close(f.freq, f.zone, in.Opened)
			if !ok || c.Before(in.AsOf) {
				c = in.AsOf
			}
			return activities.DigestPlan{Frequency: f.freq, CloseAt: c}, nil
		})
	env.OnActivity(a.PrepareDigest, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PrepareDigestInput) (activities.PreparedDigest, error) {
			f.prepared = append(f.prepared, env.Now())
			if in.WorkflowID == "" || in.UserID != digestIn.UserID {
				return activities.PreparedDigest{}, errors.New("bad prepare input")
			}
			if f.items == 0 {
				return activities.PreparedDigest{Seq: 4}, nil
			}
			return activities.PreparedDigest{EventID: uuid.New(), DeliveryID: uuid.New(), Items: f.items, Seq: 4}, nil
		})
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
			if len(in.DeliveryIDs) != 1 || in.Channel != digestIn.Channel {
				return activities.DeliverResult{}, errors.New("a digest is one delivery")
			}
			f.delivered++
			return activities.DeliverResult{Delivered: 1}, nil
		})
	env.OnActivity(a.SettleEvent, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SettleInput) (activities.SettledEvent, error) {
			if in.Status != "" {
				return activities.SettledEvent{}, errors.New("a digest's outcome is its tally")
			}
			return activities.SettledEvent{Status: delivery.EventDelivered, Tally: activities.Tally{Delivered: f.delivered}}, nil
		})
	env.OnActivity(a.CloseDigestWindow, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ activities.DigestWindow, seq int64) (bool, error) {
			f.closedAt = append(f.closedAt, seq)
			return !f.lateSeq, nil
		})
}

func zoneOf(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// Each cadence sends one digest at its boundary in the user's zone, on
// durable timers, across a DST change, and ends the window when nothing
// came after the listing.
func TestDigestSendsAtTheWindowsClose(t *testing.T) {
	berlin := zoneOf(t, "Europe/Berlin")
	cases := []struct {
		freq  digest.Frequency
		start time.Time // UTC
		want  time.Time // UTC
	}{
		{digest.Hourly, time.Date(2026, 3, 29, 0, 40, 0, 0, time.UTC), time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)},  // 01:40 CET -> 03:00 CEST
		{digest.Daily, time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 7, 0, 0, 0, time.UTC)},   // 09:00 CEST
		{digest.Daily, time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 8, 0, 0, 0, time.UTC)}, // 09:00 CET
		{digest.Weekly, time.Date(2026, 3, 25, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 7, 0, 0, 0, time.UTC)},  // Monday 09:00 CEST
	}
	for _, c := range cases {
		t.Run(string(c.freq)+" from "+c.start.Format(time.RFC3339), func(t *testing.T) {
			env := newEnv(t)
			env.SetStartTime(c.start)
			f := &fakeWindow{freq: c.freq, zone: berlin, items: 3}
			f.mock(env)
			env.ExecuteWorkflow(Digest, digestIn)
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			if len(f.prepared) != 1 || !f.prepared[0].Equal(c.want) {
				t.Fatalf("digest listed at %v, want once at %s", f.prepared, c.want)
			}
			if f.delivered != 1 || len(f.closedAt) != 1 || f.closedAt[0] != 4 {
				t.Fatalf("delivered %d, closed with %v", f.delivered, f.closedAt)
			}
		})
	}
}

// A window with nothing left (items all cancelled) sends nothing and ends.
func TestDigestWithNothingSendsNothing(t *testing.T) {
	env := newEnv(t)
	f := &fakeWindow{freq: digest.Hourly, zone: time.UTC}
	f.mock(env)
	env.ExecuteWorkflow(Digest, digestIn)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if f.delivered != 0 || len(f.prepared) != 1 {
		t.Fatalf("delivered %d digests of nothing", f.delivered)
	}
}

// Items that came after the listing keep the window open: the run
// continues as new with the next window opening at this one's close, and
// the test-only fixed window goes with it.
func TestDigestContinuesWhileItemsArrive(t *testing.T) {
	env := newEnv(t)
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	f := &fakeWindow{freq: digest.Daily, zone: time.UTC, items: 2, lateSeq: true}
	f.mock(env)
	in := digestIn
	in.Every = 5 * time.Second
	env.ExecuteWorkflow(Digest, in)
	next := digestContinued(t, env)
	if next.Opened == nil || !next.Opened.Equal(start.Add(5*time.Second)) || next.Every != in.Every || next.UserID != in.UserID {
		t.Fatalf("continued as %+v", next)
	}
	if f.delivered != 1 {
		t.Fatalf("delivered %d", f.delivered)
	}
}

// A page that found the window closed (idle) arms it again with a signal;
// one that lands after the close must not be lost to the run's end.
func TestDigestArmedAfterCloseOpensAnotherWindow(t *testing.T) {
	env := newEnv(t)
	start := time.Date(2026, 6, 1, 10, 30, 0, 0, time.UTC)
	env.SetStartTime(start)
	// The send takes a minute; the arm signal comes during it. (The first
	// matching mock wins, so this one goes before the fake's.)
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).After(time.Minute).Return(activities.DeliverResult{Delivered: 1}, nil)
	f := &fakeWindow{freq: digest.Hourly, zone: time.UTC, items: 1}
	f.mock(env)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(contract.SignalDigestArm, nil) }, 30*time.Minute+30*time.Second)
	env.ExecuteWorkflow(Digest, digestIn)
	next := digestContinued(t, env)
	if next.Opened == nil || next.Opened.Before(start.Add(30*time.Minute)) {
		t.Fatalf("continued as %+v", next)
	}
}

// Arm signals while the window is open change nothing; a user back on
// immediate flushes the window at once when their preferences change.
func TestDigestFlushesWhenTheUserGoesImmediate(t *testing.T) {
	env := newEnv(t)
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	f := &fakeWindow{freq: digest.Daily, zone: time.UTC, items: 5}
	f.mock(env)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(contract.SignalDigestArm, nil) }, time.Hour)
	env.RegisterDelayedCallback(func() {
		f.freq = digest.Immediate
		env.SignalWorkflow(contract.SignalReschedule, "u1")
	}, 2*time.Hour)
	env.ExecuteWorkflow(Digest, digestIn)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(f.prepared) != 1 || !f.prepared[0].Equal(start.Add(2*time.Hour)) || f.delivered != 1 {
		t.Fatalf("listed at %v (want %s), delivered %d", f.prepared, start.Add(2*time.Hour), f.delivered)
	}
}

// Switching cadence re-arms the window: daily to hourly closes at the next
// top of the hour instead of 09:00 tomorrow.
func TestDigestRearmsOnCadenceChange(t *testing.T) {
	env := newEnv(t)
	start := time.Date(2026, 6, 1, 10, 10, 0, 0, time.UTC)
	env.SetStartTime(start)
	f := &fakeWindow{freq: digest.Daily, zone: time.UTC, items: 1}
	f.mock(env)
	env.RegisterDelayedCallback(func() {
		f.freq = digest.Hourly
		env.SignalWorkflow(contract.SignalReschedule, "u1")
	}, 5*time.Minute)
	env.ExecuteWorkflow(Digest, digestIn)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 6, 1, 11, 0, 0, 0, time.UTC); len(f.prepared) != 1 || !f.prepared[0].Equal(want) {
		t.Fatalf("listed at %v, want %s", f.prepared, want)
	}
}

// A window whose database steps keep failing keeps its workflow (its row
// stays armed, so nothing else would start one): it tries again later.
func TestDigestKeepsItsWindowWhenTheDatabaseFails(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.PlanDigest, mock.Anything, mock.Anything).Return(activities.DigestPlan{}, errors.New("database down"))
	env.ExecuteWorkflow(Digest, digestIn)
	next := digestContinued(t, env)
	if next.Opened == nil {
		t.Fatalf("continued as %+v", next)
	}
}

func digestContinued(t *testing.T, env *testsuite.TestWorkflowEnvironment) contract.DigestInput {
	t.Helper()
	var cont *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &cont) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	var next contract.DigestInput
	if err := converter.GetDefaultDataConverter().FromPayloads(cont.Input, &next); err != nil {
		t.Fatal(err)
	}
	return next
}

// A summary run posts its period's event and starts the event's own run;
// the event's ID is the same for the same tenant, kind and minute.
func TestSummaryPostsOnceAndStartsTheEventsRun(t *testing.T) {
	env := newEnv(t)
	at := time.Date(2026, 6, 8, 7, 0, 12, 0, time.UTC)
	env.SetStartTime(at)
	in := contract.SummaryInput{TenantID: uuid.New(), Kind: "weekly_digest"}
	var posted activities.SummaryEvent
	env.OnActivity(a.PostSummary, mock.Anything, mock.Anything).Return(
		func(_ context.Context, ev activities.SummaryEvent) (string, error) {
			posted = ev
			return "summary.weekly_digest", nil
		})
	var started contract.NotifyInput
	env.OnWorkflow(contract.NotifyWorkflowName, mock.Anything, mock.Anything).Return(
		func(_ workflow.Context, n contract.NotifyInput) (contract.NotifyResult, error) {
			started = n
			return contract.NotifyResult{Status: delivery.EventDelivered}, nil
		})
	env.ExecuteWorkflow(Summary, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := contract.EventID(in.TenantID, "summary-weekly_digest-2026-06-08T07:00:00Z")
	if posted.EventID != want || !posted.Until.Equal(at) || posted.WorkflowID != contract.NotifyWorkflowID(want) {
		t.Fatalf("posted %+v", posted)
	}
	if started.EventID != want || started.Type != "summary.weekly_digest" || started.Engine != contract.EngineCurrent {
		t.Fatalf("started %+v", started)
	}
}

// A collapse window runs the digest's steps over its own items: every step
// names the window's event type and group key, its one notification goes
// out at the close the plan gives (its first item plus group_window), and
// the window ends when nothing came after the listing.
func TestCollapseWindowSendsOnceAtItsClose(t *testing.T) {
	env := newEnv(t)
	start := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	in := digestIn
	in.Group = &contract.Group{Type: "issue.commented", Key: "PROJ-123"}
	named := func(w activities.DigestWindow) error {
		if w.GroupType != in.Group.Type || w.GroupKey != in.Group.Key {
			return fmt.Errorf("step for window %+v, want group %+v", w, *in.Group)
		}
		return nil
	}
	var prepared []time.Time
	var closed int
	env.OnActivity(a.PlanDigest, mock.Anything, mock.Anything).Return(
		func(_ context.Context, p activities.PlanDigestInput) (activities.DigestPlan, error) {
			return activities.DigestPlan{Frequency: digest.Immediate, CloseAt: start.Add(10 * time.Minute)}, named(p.DigestWindow)
		})
	env.OnActivity(a.PrepareDigest, mock.Anything, mock.Anything).Return(
		func(_ context.Context, p activities.PrepareDigestInput) (activities.PreparedDigest, error) {
			prepared = append(prepared, env.Now())
			return activities.PreparedDigest{EventID: uuid.New(), DeliveryID: uuid.New(), Items: 5, Seq: 5}, named(p.DigestWindow)
		})
	var sent int
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(
		func(_ context.Context, d activities.DeliverInput) (activities.DeliverResult, error) {
			sent += len(d.DeliveryIDs)
			return activities.DeliverResult{Delivered: len(d.DeliveryIDs)}, nil
		})
	env.OnActivity(a.SettleEvent, mock.Anything, mock.Anything).Return(activities.SettledEvent{Status: delivery.EventDelivered}, nil)
	env.OnActivity(a.CloseDigestWindow, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, w activities.DigestWindow, seq int64) (bool, error) {
			closed++
			return seq == 5, named(w)
		})
	env.ExecuteWorkflow(Digest, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(prepared) != 1 || !prepared[0].Equal(start.Add(10*time.Minute)) || sent != 1 || closed != 1 {
		t.Fatalf("listed at %v, sent %d, closed %d times: want once at %s", prepared, sent, closed, start.Add(10*time.Minute))
	}
}
