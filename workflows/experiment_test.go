package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/quiet"
)

// experimentEnv runs Experiment with the tenant in Europe/Berlin and
// records every event it emits.
type experimentRun struct {
	env     *testsuite.TestWorkflowEnvironment
	mu      sync.Mutex
	emitted []contract.EmitRequest
	emitAt  []time.Time
}

func newExperimentRun(t *testing.T, start time.Time) *experimentRun {
	var s testsuite.WorkflowTestSuite
	r := &experimentRun{env: s.NewTestWorkflowEnvironment()}
	r.env.SetStartTime(start)
	r.env.RegisterWorkflowWithOptions(Experiment, workflow.RegisterOptions{Name: contract.ExperimentWorkflowName})
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	r.env.RegisterActivityWithOptions(func(_ context.Context, _ uuid.UUID, at string, after time.Time) (time.Time, error) {
		c, err := quiet.ParseClock(at)
		return quiet.Next(c, berlin, after), err
	}, activity.RegisterOptions{Name: "PlanExperimentCheck"})
	r.env.RegisterActivityWithOptions(func(_ context.Context, req contract.EmitRequest) (contract.Emitted, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.emitted = append(r.emitted, req)
		r.emitAt = append(r.emitAt, r.env.Now())
		return contract.Emitted{EventID: uuid.New()}, nil
	}, activity.RegisterOptions{Name: "SubmitEvent"})
	return r
}

func (r *experimentRun) samples(d time.Duration, counts map[string]int64) {
	r.env.RegisterDelayedCallback(func() { r.env.SignalWorkflow(contract.SignalSamples, counts) }, d)
}

// conclude sends the conclude update after d and records its outcome.
func (r *experimentRun) conclude(d time.Duration, winner string, out *error, view *contract.ExperimentView) {
	r.env.RegisterDelayedCallback(func() {
		r.env.UpdateWorkflow(contract.UpdateConclude, uuid.NewString(), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { *out = err },
			OnComplete: func(v any, err error) {
				if err != nil {
					*out = err
					return
				}
				*view = v.(contract.ExperimentView)
			},
		}, winner)
	}, d)
}

func (r *experimentRun) types() []string {
	var out []string
	for _, e := range r.emitted {
		out = append(out, e.Type)
	}
	return out
}

var expIn = contract.ExperimentInput{TenantID: uuid.New(), ID: "subject-lines", Name: "Subject lines", Variants: []string{"a", "b"},
	MinSampleSize: 100, CheckAt: "09:00"}

// A week of daily 09:00 checks in Berlin across the end of summer time:
// the experiment is stamped at the first check where both variants have
// their sample, notifies once, ignores later samples, and on conclusion
// tells the backend and ends.
func TestExperimentChecksDailyStampsOnceAndConcludes(t *testing.T) {
	// Thursday 22 October 2026, 12:00 in Berlin (CEST); summer time ends
	// on Sunday the 25th.
	start := time.Date(2026, 10, 22, 10, 0, 0, 0, time.UTC)
	r := newExperimentRun(t, start)
	r.samples(time.Hour, map[string]int64{"a": 150, "b": 40})      // Thu: b short
	r.samples(25*time.Hour, map[string]int64{"b": 99})             // Fri: b still short
	r.samples(70*time.Hour, map[string]int64{"b": 100})            // Sun 09:00 CEST... before Monday's check
	r.samples(100*time.Hour, map[string]int64{"a": 500, "b": 600}) // after the stamp: no second notice
	var concludeErr, lateErr error
	var final, late contract.ExperimentView
	r.conclude(120*time.Hour, "b", &concludeErr, &final)
	r.conclude(120*time.Hour, "a", &lateErr, &late) // a race: both at once
	var midweek contract.ExperimentView
	r.env.RegisterDelayedCallback(func() {
		res, err := r.env.QueryWorkflow(contract.QueryExperiment)
		if err != nil {
			t.Fatal(err)
		}
		if err := res.Get(&midweek); err != nil {
			t.Fatal(err)
		}
	}, 49*time.Hour)
	r.env.ExecuteWorkflow(Experiment, expIn)
	if err := r.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if midweek.Status != contract.ExperimentRunning || midweek.Checks != 2 || midweek.Counts["b"] != 99 {
		t.Errorf("Saturday's state: %+v", midweek)
	}
	if got := r.types(); len(got) != 2 || got[0] != "outreach.experiment_ready" || got[1] != "experiment.concluded" {
		t.Fatalf("emitted %v, want one experiment_ready and then experiment.concluded", got)
	}
	// The sample was complete from Sunday 08:00 UTC (10:00 CEST... the
	// 70th hour); the next check is Monday 09:00 CET, 08:00 UTC.
	if want := time.Date(2026, 10, 26, 8, 0, 0, 0, time.UTC); !r.emitAt[0].Equal(want) {
		t.Errorf("stamped at %v, want Monday 09:00 Berlin (%v)", r.emitAt[0], want)
	}
	ready := r.emitted[0]
	if ready.IdempotencyKey != "experiment:subject-lines:ready" || ready.Data["counts"].(map[string]any)["b"] != float64(100) {
		t.Errorf("the ready notice: %+v", ready)
	}
	if concludeErr != nil || final.Status != contract.ExperimentConcluded || final.Winner != "b" {
		t.Errorf("conclude: %v %+v", concludeErr, final)
	}
	if lateErr == nil {
		t.Error("a second conclusion was accepted")
	}
	done := r.emitted[1]
	if done.Data["winner"] != "b" || done.Data["stop"] != "a" || !done.Herald {
		t.Errorf("the concluded event: %+v", done)
	}
}

// Checks run every day at 09:00 local, DST or not, while samples are short.
func TestExperimentCheckTimesFollowTheLocalClock(t *testing.T) {
	start := time.Date(2026, 10, 22, 10, 0, 0, 0, time.UTC)
	r := newExperimentRun(t, start)
	var checks []time.Time
	for h := 1; h <= 7*24; h++ {
		r.env.RegisterDelayedCallback(func() {
			res, _ := r.env.QueryWorkflow(contract.QueryExperiment)
			var v contract.ExperimentView
			_ = res.Get(&v)
			if len(checks) < v.Checks {
				checks = append(checks, r.env.Now())
			}
		}, time.Duration(h)*time.Hour)
	}
	var err1 error
	var v contract.ExperimentView
	r.conclude(7*24*time.Hour+time.Minute, "a", &err1, &v)
	r.env.ExecuteWorkflow(Experiment, expIn)
	if err := r.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(checks) != 7 {
		t.Fatalf("%d checks in a week: %v", len(checks), checks)
	}
	for i, c := range checks {
		// Sampled on the hour after each check; 09:00 Berlin is 07:00 UTC
		// until the 25th, 08:00 UTC from then.
		want := 8
		if c.Day() >= 25 || c.Month() == 11 {
			want = 9
		}
		if c.Hour() != want {
			t.Errorf("check %d seen at %v, want the hour after 09:00 Berlin", i, c)
		}
	}
	if r.types()[0] != "experiment.concluded" || len(r.emitted) != 1 {
		t.Errorf("an experiment short of samples emitted %v", r.types())
	}
}

// The conclude update refuses an unknown variant and leaves the
// experiment running.
func TestExperimentRefusesAnUnknownWinner(t *testing.T) {
	r := newExperimentRun(t, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	var bad, good error
	var v1, v2 contract.ExperimentView
	r.conclude(time.Minute, "c", &bad, &v1)
	r.conclude(2*time.Minute, "a", &good, &v2)
	r.env.ExecuteWorkflow(Experiment, expIn)
	if err := r.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if bad == nil || good != nil || v2.Winner != "a" {
		t.Errorf("unknown winner: %v; then a: %v %+v", bad, good, v2)
	}
}
