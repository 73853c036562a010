package workflows

import (
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/delivery"
)

// RulesWorkflowName is the registered name of EvaluateRules.
const RulesWorkflowName = "EvaluateRules"

// RulesWorkflowPrefix starts the workflow ID of every input event's run.
const RulesWorkflowPrefix = "rules/"

// RulesWorkflowID is the workflow ID of an input event's run.
func RulesWorkflowID(eventID uuid.UUID) string { return RulesWorkflowPrefix + eventID.String() }

// EvaluateRulesActivity is the registered name of the activity that decides
// an input event's rules, records each outcome and emits what fired
// (package emitter).
const EvaluateRulesActivity = "EvaluateRules"

// RulesInput starts an EvaluateRules run; the event is in the database.
type RulesInput struct {
	TenantID uuid.UUID `json:"tenant_id"`
	EventID  uuid.UUID `json:"event_id"`
	Type     string    `json:"type"`
}

// RulesResult counts what the tenant's rules made of an input event.
type RulesResult struct {
	Fired   int         `json:"fired"`
	Held    int         `json:"held"`
	Emitted []uuid.UUID `json:"emitted,omitempty"`
}

// EvaluateRules runs an input event through the tenant's rules. The
// activity is idempotent per event and rule (its first outcome is stored
// and repeated on retry; emitted events have keys derived from the input
// event), so retries never fire a rule twice.
func EvaluateRules(ctx workflow.Context, in RulesInput) (RulesResult, error) {
	// A few short transactions and a submission: a local activity, in the
	// workflow task, spares the input event the round trips of a task queue.
	actx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
			NonRetryableErrorTypes: []string{EmitRefused},
		},
	})
	var res RulesResult
	err := workflow.ExecuteLocalActivity(actx, EvaluateRulesActivity, in).Get(ctx, &res)
	status := delivery.EventEvaluated
	if err != nil {
		status = delivery.EventFailed
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: 2 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
	if uerr := workflow.UpsertTypedSearchAttributes(ctx, AttrStatus.ValueSet(string(status))); uerr != nil && err == nil {
		err = uerr
	}
	closeIn := activities.CloseInput{EventID: in.EventID, Status: status, RunID: workflow.GetInfo(ctx).WorkflowExecution.RunID}
	if cerr := workflow.ExecuteLocalActivity(lctx, a.CloseEvent, closeIn).Get(ctx, nil); cerr != nil && err == nil {
		err = cerr
	}
	return res, err
}
