package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/contract"
)

// maxBatchWakes bounds the signals one run takes before it continues as new.
const maxBatchWakes = 1000

// Batch fans in a batch's job completions: each wake (a completion, the
// batch being posted, its expiry) reads the stored batch and counts its
// stored jobs; when every expected job is done it emits the batch's event,
// once, and ends. A batch that expires first records batch.expired.
// Completions may arrive before the batch is posted (a signal-with-start
// runs this with no batch yet): they are stored, and counted when it is.
func Batch(ctx workflow.Context, in contract.BatchInput) error {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
			NonRetryableErrorTypes: []string{contract.ErrTypeEmitRefused}},
	})
	if in.Until.IsZero() {
		in.Until = workflow.Now(ctx).Add(contract.DefaultBatchExpiry)
	}
	jobs := workflow.GetSignalChannel(ctx, contract.SignalBatchJob)
	defined := workflow.GetSignalChannel(ctx, contract.SignalBatchDefined)
	wakes := 0
	for {
		var st contract.BatchState
		if err := workflow.ExecuteLocalActivity(lctx, em.LoadBatch, in.TenantID, in.BatchID).Get(ctx, &st); err != nil {
			return err
		}
		switch {
		case st.Defined && st.Status != contract.BatchOpen:
			return nil // closed by an earlier run
		case st.Defined && st.Completed >= st.Expected:
			return workflow.ExecuteLocalActivity(lctx, em.CompleteBatch, in.TenantID, in.BatchID).Get(ctx, nil)
		}
		deadline := in.Until
		if st.Defined {
			deadline = st.ExpiresAt
		}
		if wait := deadline.Sub(workflow.Now(ctx)); wait <= 0 || !awaitWake(ctx, wait, jobs, defined) {
			if !st.Defined {
				workflow.GetLogger(ctx).Warn("jobs completed for a batch that was never posted", "batch_id", in.BatchID)
				return nil
			}
			return workflow.ExecuteLocalActivity(lctx, em.ExpireBatch, in.TenantID, in.BatchID).Get(ctx, nil)
		}
		wakes += drain(jobs) + drain(defined)
		if wakes >= maxBatchWakes {
			return workflow.NewContinueAsNewError(ctx, contract.BatchWorkflowName, in)
		}
	}
}

// awaitWake waits up to d for a signal on any of chans, and reports
// whether one came. The timer is cancelled when one does, so waits do not
// pile up timers in the history.
func awaitWake(ctx workflow.Context, d time.Duration, chans ...workflow.ReceiveChannel) bool {
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	woke := false
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(workflow.NewTimer(tctx, d), func(workflow.Future) {})
	for _, ch := range chans {
		sel.AddReceive(ch, func(workflow.ReceiveChannel, bool) { woke = true })
	}
	sel.Select(ctx)
	return woke
}

// drain takes every signal waiting on ch and counts them.
func drain(ch workflow.ReceiveChannel) int {
	n := 0
	for ch.ReceiveAsync(nil) {
		n++
	}
	return n
}
