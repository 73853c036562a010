package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/delivery"
)

// EvaluateRules runs an input event through the tenant's rules. The
// activity is idempotent per event and rule (its first outcome is stored
// and repeated on retry; emitted events have keys derived from the input
// event), so retries never fire a rule twice.
func EvaluateRules(ctx workflow.Context, in contract.RulesInput) (contract.RulesResult, error) {
	// A few short transactions and a submission: a local activity, in the
	// workflow task, spares the input event the round trips of a task queue.
	actx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
			NonRetryableErrorTypes: []string{contract.ErrTypeEmitRefused},
		},
	})
	var res contract.RulesResult
	err := workflow.ExecuteLocalActivity(actx, em.EvaluateRules, in).Get(ctx, &res)
	status := delivery.EventEvaluated
	if err != nil {
		status = delivery.EventFailed
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: 2 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
	if uerr := workflow.UpsertTypedSearchAttributes(ctx, contract.AttrStatus.ValueSet(string(status))); uerr != nil && err == nil {
		err = uerr
	}
	closeIn := activities.CloseInput{EventID: in.EventID, Status: status, RunID: workflow.GetInfo(ctx).WorkflowExecution.RunID}
	if cerr := workflow.ExecuteLocalActivity(lctx, a.CloseEvent, closeIn).Get(ctx, nil); cerr != nil && err == nil {
		err = cerr
	}
	return res, err
}
