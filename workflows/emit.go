package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/emitter"
)

// em is the emitter's method set (events Herald emits on its own behalf);
// the worker registers the real instance.
var em *emitter.Activities

// emitOptions retry an emission for a day: PostgreSQL or Temporal being
// down delays an emitted event, it does not lose it.
var emitOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    30 * time.Second,
	ScheduleToCloseTimeout: 24 * time.Hour,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
		NonRetryableErrorTypes: []string{contract.ErrTypeEmitRefused},
	},
}

// Emit submits an event from a workflow; the future yields Emitted.
func Emit(ctx workflow.Context, req contract.EmitRequest) workflow.Future {
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, emitOptions), em.SubmitEvent, req)
}
