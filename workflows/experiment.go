package workflows

import (
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/catalog"
)

// ExperimentWorkflowName is the registered name of Experiment.
const ExperimentWorkflowName = "Experiment"

// ExperimentWorkflowID is an experiment's workflow ID.
func ExperimentWorkflowID(tenantID uuid.UUID, id string) string {
	return "experiment/" + tenantID.String() + "/" + id
}

// The experiment's signal, update and query.
const (
	SignalSamples     = "samples"  // current totals per variant
	UpdateConclude    = "conclude" // the winner
	QueryExperiment   = "state"
	PlanCheckActivity = "PlanExperimentCheck"
)

// Errors the conclude update's validator answers with, as their types.
const (
	ErrAlreadyConcluded = "AlreadyConcluded"
	ErrUnknownVariant   = "UnknownVariant"
)

// Experiment statuses.
const (
	ExperimentRunning   = "running"   // waiting for every variant's minimum sample
	ExperimentReady     = "ready"     // stamped and notified; waiting for a winner
	ExperimentConcluded = "concluded" // a winner was recorded
)

// ExperimentInput starts an Experiment run; State carries a run's state
// into the next when it continues as new.
type ExperimentInput struct {
	TenantID      uuid.UUID        `json:"tenant_id"`
	ID            string           `json:"id"`
	Name          string           `json:"name"`
	Variants      []string         `json:"variants"`
	MinSampleSize int64            `json:"min_sample_size"`
	CheckAt       string           `json:"check_at"`
	State         *ExperimentState `json:"state,omitempty"`
}

// ExperimentState is what an experiment knows, and what its query answers.
type ExperimentState struct {
	Status      string           `json:"status"`
	Counts      map[string]int64 `json:"counts"`
	Checks      int              `json:"checks"`
	NextCheckAt *time.Time       `json:"next_check_at"`
	ReadyAt     *time.Time       `json:"ready_at"`
	Winner      string           `json:"winner,omitempty"`
	ConcludedAt *time.Time       `json:"concluded_at"`
	// ReadyEventID is the experiment_ready event, once stamped.
	ReadyEventID *uuid.UUID `json:"ready_event_id,omitempty"`
}

// ExperimentView is the query's answer: the definition and the state.
type ExperimentView struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Variants      []string `json:"variants"`
	MinSampleSize int64    `json:"min_sample_size"`
	CheckAt       string   `json:"check_at"`
	ExperimentState
}

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
func Experiment(ctx workflow.Context, in ExperimentInput) (ExperimentView, error) {
	st := ExperimentState{Status: ExperimentRunning, Counts: map[string]int64{}}
	if in.State != nil {
		st = *in.State
	}
	view := func() ExperimentView {
		return ExperimentView{ID: in.ID, Name: in.Name, Variants: in.Variants, MinSampleSize: in.MinSampleSize, CheckAt: in.CheckAt, ExperimentState: st}
	}
	if err := workflow.SetQueryHandler(ctx, QueryExperiment, func() (ExperimentView, error) { return view(), nil }); err != nil {
		return view(), err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateConclude,
		func(ctx workflow.Context, winner string) (ExperimentView, error) {
			now := workflow.Now(ctx)
			st.Status, st.Winner, st.ConcludedAt, st.NextCheckAt = ExperimentConcluded, winner, &now, nil
			return view(), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(winner string) error {
			if st.Status == ExperimentConcluded {
				return temporal.NewApplicationError("experiment "+in.ID+" was concluded already; the winner is "+st.Winner,
					ErrAlreadyConcluded, st.Winner, st.ConcludedAt)
			}
			if !slices.Contains(in.Variants, winner) {
				return temporal.NewApplicationError("experiment "+in.ID+" has no variant "+winner, ErrUnknownVariant)
			}
			return nil
		}}); err != nil {
		return view(), err
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
	})
	samples := workflow.GetSignalChannel(ctx, SignalSamples)
	received, firstCheck := 0, st.Checks
	for st.Status != ExperimentConcluded {
		if st.Status == ExperimentRunning && st.NextCheckAt == nil {
			var next time.Time
			if err := workflow.ExecuteLocalActivity(lctx, PlanCheckActivity, in.TenantID, in.CheckAt, workflow.Now(ctx)).Get(ctx, &next); err != nil {
				return view(), err
			}
			st.NextCheckAt = &next
		}
		woke := func() bool { return st.Status == ExperimentConcluded || samples.Len() > 0 }
		if st.Status == ExperimentRunning {
			ok, err := workflow.AwaitWithTimeout(ctx, st.NextCheckAt.Sub(workflow.Now(ctx)), woke)
			if err != nil {
				return view(), err
			}
			if !ok && st.Status == ExperimentRunning {
				if err := check(ctx, in, &st); err != nil {
					return view(), err
				}
			}
		} else if err := workflow.Await(ctx, woke); err != nil {
			return view(), err
		}
		for {
			var counts map[string]int64
			if !samples.ReceiveAsync(&counts) {
				break
			}
			received++
			for _, v := range in.Variants { // the latest totals win, variant by variant
				if n, ok := counts[v]; ok {
					st.Counts[v] = n
				}
			}
		}
		// A run takes so many samples, or so many days, then continues as new.
		if (received >= maxExperimentSignals || st.Checks-firstCheck >= maxExperimentChecks) && st.Status != ExperimentConcluded {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return view(), err
			}
			next := in
			next.State = &st
			return view(), workflow.NewContinueAsNewError(ctx, ExperimentWorkflowName, next)
		}
	}
	// Tell the backend, so it stops the losing variants.
	losers := make([]string, 0, len(in.Variants)-1)
	for _, v := range in.Variants {
		if v != st.Winner {
			losers = append(losers, v)
		}
	}
	data := experimentData(in, st)
	data["winner"], data["losers"], data["stop"] = st.Winner, losers, strings.Join(losers, ", ")
	err := Emit(ctx, EmitRequest{TenantID: in.TenantID, Type: catalog.ExperimentConcluded, Herald: true,
		IdempotencyKey: "experiment:" + in.ID + ":concluded", Data: data}).Get(ctx, nil)
	if err != nil {
		return view(), err
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return view(), err
	}
	return view(), nil
}

// check is a daily check: it stamps the experiment and notifies once when
// every variant has its minimum sample, and otherwise plans the next.
func check(ctx workflow.Context, in ExperimentInput, st *ExperimentState) error {
	st.Checks++
	st.NextCheckAt = nil
	for _, v := range in.Variants {
		if st.Counts[v] < in.MinSampleSize {
			return nil
		}
	}
	now := workflow.Now(ctx)
	st.Status, st.ReadyAt = ExperimentReady, &now
	var out Emitted
	if err := Emit(ctx, EmitRequest{TenantID: in.TenantID, Type: "outreach.experiment_ready",
		IdempotencyKey: "experiment:" + in.ID + ":ready", Data: experimentData(in, *st)}).Get(ctx, &out); err != nil {
		return err
	}
	st.ReadyEventID = &out.EventID
	return nil
}

// experimentData is what the experiment's events carry: its name and each
// variant's count, in the order the variants were defined.
func experimentData(in ExperimentInput, st ExperimentState) map[string]any {
	variants := make([]any, 0, len(in.Variants))
	counts := make(map[string]any, len(in.Variants))
	for _, v := range in.Variants {
		variants = append(variants, map[string]any{"name": v, "count": st.Counts[v]})
		counts[v] = st.Counts[v]
	}
	return map[string]any{"experiment_id": in.ID, "name": in.Name, "variants": variants, "counts": counts,
		"min_sample_size": in.MinSampleSize}
}
