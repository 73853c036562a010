package workflows

import (
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/contract"
)

// maxExperimentSignals bounds the samples one run takes before it
// continues as new.
const maxExperimentSignals = 500

// maxExperimentChecks bounds the daily checks of one run.
const maxExperimentChecks = 90

// Experiment checks an A/B experiment daily at check_at in the tenant's
// zone. At the first check where every variant has reached the minimum
// sample, it stamps itself ready and notifies once (outreach.experiment_ready);
// samples after that never notify again. It then waits for the conclude
// update, tells the tenant's backend (experiment.concluded, through the
// tenant webhook) and ends.
func Experiment(ctx workflow.Context, in contract.ExperimentInput) (contract.ExperimentView, error) {
	e := newExperiment(ctx, in)
	if err := e.handle(ctx); err != nil {
		return e.view(), err
	}
	return e.view(), e.run(ctx)
}

// experiment is one run of an Experiment: its definition, its state and
// what the run has taken so far.
type experiment struct {
	in      contract.ExperimentInput
	st      contract.ExperimentState
	lctx    workflow.Context
	samples workflow.ReceiveChannel
	// received and firstCheck bound the run's history (see longRun).
	received, firstCheck int
}

func newExperiment(ctx workflow.Context, in contract.ExperimentInput) *experiment {
	e := &experiment{in: in, st: contract.ExperimentState{Status: contract.ExperimentRunning, Counts: map[string]int64{}}}
	if in.State != nil {
		e.st = *in.State
	}
	e.lctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
	})
	e.samples = workflow.GetSignalChannel(ctx, contract.SignalSamples)
	e.firstCheck = e.st.Checks
	return e
}

// run is the experiment's process: wait for each day's check or for
// samples until a winner is named, then tell the backend.
func (e *experiment) run(ctx workflow.Context) error {
	for !e.concluded() {
		if err := e.waitForCheckOrSamples(ctx); err != nil {
			return err
		}
		e.takeSamples()
		if e.longRun() && !e.concluded() {
			return e.continueAsNew(ctx)
		}
	}
	if err := e.announceWinner(ctx); err != nil {
		return err
	}
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// handle answers the state query and takes the conclude update, refusing a
// second winner and a variant the experiment does not have.
func (e *experiment) handle(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, contract.QueryExperiment, func() (contract.ExperimentView, error) { return e.view(), nil }); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateConclude,
		func(ctx workflow.Context, winner string) (contract.ExperimentView, error) {
			now := workflow.Now(ctx)
			e.st.Status, e.st.Winner, e.st.ConcludedAt, e.st.NextCheckAt = contract.ExperimentConcluded, winner, &now, nil
			return e.view(), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(winner string) error {
			if e.concluded() {
				return temporal.NewApplicationError("experiment "+e.in.ID+" was concluded already; the winner is "+e.st.Winner,
					contract.ErrTypeAlreadyConcluded, e.st.Winner, e.st.ConcludedAt)
			}
			if !slices.Contains(e.in.Variants, winner) {
				return temporal.NewApplicationError("experiment "+e.in.ID+" has no variant "+winner, contract.ErrTypeUnknownVariant)
			}
			return nil
		}})
}

func (e *experiment) view() contract.ExperimentView {
	return contract.ExperimentView{ID: e.in.ID, Name: e.in.Name, Variants: e.in.Variants, MinSampleSize: e.in.MinSampleSize,
		CheckAt: e.in.CheckAt, Link: e.in.Link, ExperimentState: e.st}
}

func (e *experiment) concluded() bool { return e.st.Status == contract.ExperimentConcluded }

// waitForCheckOrSamples waits, while running, until the next daily check
// (planned in the tenant's zone) and makes it; once ready, until samples
// come or a winner is named.
func (e *experiment) waitForCheckOrSamples(ctx workflow.Context) error {
	if e.st.Status == contract.ExperimentRunning && e.st.NextCheckAt == nil {
		var next time.Time
		if err := workflow.ExecuteLocalActivity(e.lctx, em.PlanExperimentCheck, e.in.TenantID, e.in.CheckAt, workflow.Now(ctx)).Get(ctx, &next); err != nil {
			return err
		}
		e.st.NextCheckAt = &next
	}
	woke := func() bool { return e.concluded() || e.samples.Len() > 0 }
	if e.st.Status != contract.ExperimentRunning {
		return workflow.Await(ctx, woke)
	}
	ok, err := workflow.AwaitWithTimeout(ctx, e.st.NextCheckAt.Sub(workflow.Now(ctx)), woke)
	if err != nil || ok || e.st.Status != contract.ExperimentRunning {
		return err
	}
	return e.check(ctx)
}

// takeSamples takes every buffered sample: the latest totals win, variant
// by variant.
func (e *experiment) takeSamples() {
	for {
		var counts map[string]int64
		if !e.samples.ReceiveAsync(&counts) {
			return
		}
		e.received++
		for _, v := range e.in.Variants {
			if n, ok := counts[v]; ok {
				e.st.Counts[v] = n
			}
		}
	}
}

// longRun: a run takes so many samples, or so many days, then continues
// as new.
func (e *experiment) longRun() bool {
	return e.received >= maxExperimentSignals || e.st.Checks-e.firstCheck >= maxExperimentChecks
}

func (e *experiment) continueAsNew(ctx workflow.Context) error {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	next := e.in
	next.State = &e.st
	return workflow.NewContinueAsNewError(ctx, contract.ExperimentWorkflowName, next)
}

// announceWinner tells the backend, so it stops the losing variants.
func (e *experiment) announceWinner(ctx workflow.Context) error {
	losers := make([]string, 0, len(e.in.Variants)-1)
	for _, v := range e.in.Variants {
		if v != e.st.Winner {
			losers = append(losers, v)
		}
	}
	data := experimentData(e.in, e.st)
	data["winner"], data["losers"], data["stop"] = e.st.Winner, losers, strings.Join(losers, ", ")
	return Emit(ctx, contract.EmitRequest{TenantID: e.in.TenantID, Type: catalog.ExperimentConcluded, Herald: true,
		IdempotencyKey: "experiment:" + e.in.ID + ":concluded", Data: data, Link: e.in.Link}).Get(ctx, nil)
}

// check is a daily check: it stamps the experiment and notifies once when
// every variant has its minimum sample, and otherwise plans the next.
func (e *experiment) check(ctx workflow.Context) error {
	e.st.Checks++
	e.st.NextCheckAt = nil
	for _, v := range e.in.Variants {
		if e.st.Counts[v] < e.in.MinSampleSize {
			return nil
		}
	}
	now := workflow.Now(ctx)
	e.st.Status, e.st.ReadyAt = contract.ExperimentReady, &now
	var out contract.Emitted
	// The link rides in the activity's input only: the commands, and so
	// the replay of histories recorded without it, are unchanged.
	if err := Emit(ctx, contract.EmitRequest{TenantID: e.in.TenantID, Type: catalog.ExperimentReady,
		IdempotencyKey: "experiment:" + e.in.ID + ":ready", Data: experimentData(e.in, e.st), Link: e.in.Link}).Get(ctx, &out); err != nil {
		return err
	}
	e.st.ReadyEventID = &out.EventID
	return nil
}

// experimentData is what the experiment's events carry: its name and each
// variant's count, in the order the variants were defined.
func experimentData(in contract.ExperimentInput, st contract.ExperimentState) map[string]any {
	variants := make([]any, 0, len(in.Variants))
	counts := make(map[string]any, len(in.Variants))
	for _, v := range in.Variants {
		variants = append(variants, map[string]any{"name": v, "count": st.Counts[v]})
		counts[v] = st.Counts[v]
	}
	return map[string]any{"experiment_id": in.ID, "name": in.Name, "variants": variants, "counts": counts,
		"min_sample_size": in.MinSampleSize}
}
