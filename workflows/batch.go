package workflows

import (
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// BatchWorkflowName is the registered name of Batch.
const BatchWorkflowName = "Batch"

// BatchWorkflowID is a batch's workflow ID: one per tenant and batch ID.
func BatchWorkflowID(tenantID uuid.UUID, batchID string) string {
	return "batch/" + tenantID.String() + "/" + batchID
}

// Signals a Batch run listens to. Each only wakes it: the stored batch and
// its stored job rows are what it counts.
const (
	SignalBatchJob     = "job"     // a job completed
	SignalBatchDefined = "defined" // the batch was posted
)

// Batch activities, registered by package emitter and called by name.
const (
	LoadBatchActivity     = "LoadBatch"
	CompleteBatchActivity = "CompleteBatch"
	ExpireBatchActivity   = "ExpireBatch"
)

// DefaultBatchExpiry is how long a batch waits for its jobs unless posted
// with expires_in, and how long a run started by a completion waits for its
// batch to be posted.
const DefaultBatchExpiry = 7 * 24 * time.Hour

// BatchInput starts a Batch run.
type BatchInput struct {
	TenantID uuid.UUID `json:"tenant_id"`
	BatchID  string    `json:"batch_id"`
	// Until is when a run that has not seen its batch posted gives up;
	// zero means DefaultBatchExpiry from the run's start. It is carried
	// across continue-as-new.
	Until time.Time `json:"until,omitempty"`
}

// BatchState is a batch as stored.
type BatchState struct {
	Defined   bool      `json:"defined"`
	Status    string    `json:"status"` // open, completed, expired
	Expected  int       `json:"expected"`
	Completed int       `json:"completed"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Batch statuses.
const (
	BatchOpen      = "open"
	BatchCompleted = "completed"
	BatchExpired   = "expired"
)

// maxBatchWakes bounds the signals one run takes before it continues as new.
const maxBatchWakes = 1000

// Batch fans in a batch's job completions: each wake (a completion, the
// batch being posted, its expiry) reads the stored batch and counts its
// stored jobs; when every expected job is done it emits the batch's event,
// once, and ends. A batch that expires first records batch.expired.
// Completions may arrive before the batch is posted (a signal-with-start
// runs this with no batch yet): they are stored, and counted when it is.
func Batch(ctx workflow.Context, in BatchInput) error {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
			NonRetryableErrorTypes: []string{EmitRefused}},
	})
	if in.Until.IsZero() {
		in.Until = workflow.Now(ctx).Add(DefaultBatchExpiry)
	}
	jobs := workflow.GetSignalChannel(ctx, SignalBatchJob)
	defined := workflow.GetSignalChannel(ctx, SignalBatchDefined)
	wakes := 0
	for {
		var st BatchState
		if err := workflow.ExecuteLocalActivity(lctx, LoadBatchActivity, in.TenantID, in.BatchID).Get(ctx, &st); err != nil {
			return err
		}
		switch {
		case st.Defined && st.Status != BatchOpen:
			return nil // closed by an earlier run
		case st.Defined && st.Completed >= st.Expected:
			return workflow.ExecuteLocalActivity(lctx, CompleteBatchActivity, in.TenantID, in.BatchID).Get(ctx, nil)
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
			return workflow.ExecuteLocalActivity(lctx, ExpireBatchActivity, in.TenantID, in.BatchID).Get(ctx, nil)
		}
		wakes += drain(jobs) + drain(defined)
		if wakes >= maxBatchWakes {
			return workflow.NewContinueAsNewError(ctx, BatchWorkflowName, in)
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
