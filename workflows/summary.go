package workflows

import (
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/delivery"
)

// Summary posts one scheduled summary, for the period ending when its
// schedule fired: an event to everyone subscribed to summaries, delivered
// by its own NotifyEvent (preferences, quiet hours, unsubscribe and the
// delivery log all apply). Its event ID derives from the tenant, kind and
// period, so a run retried or triggered twice for a period posts once.
func Summary(ctx workflow.Context, in contract.SummaryInput) error {
	// The period ends now; its key is the minute, so a second trigger in
	// the same minute is the same summary.
	until := workflow.Now(ctx).UTC()
	key := "summary-" + in.Kind + "-" + until.Truncate(time.Minute).Format(time.RFC3339)
	eventID := contract.EventID(in.TenantID, key)
	ev := activities.SummaryEvent{TenantID: in.TenantID, EventID: eventID, Kind: in.Kind, IdempotencyKey: key,
		WorkflowID: contract.NotifyWorkflowID(eventID), Until: until}
	var typ string
	if err := workflow.ExecuteLocalActivity(dbSteps(ctx), a.PostSummary, ev).Get(ctx, &typ); err != nil {
		return err
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: ev.WorkflowID,
		// The event's run outlives this one: it may wait out quiet hours.
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(contract.AttrTenant.ValueSet(in.TenantID.String()),
			contract.AttrEventType.ValueSet(typ), contract.AttrStatus.ValueSet(string(delivery.EventPending))),
	})
	child := workflow.ExecuteChildWorkflow(cctx, contract.NotifyWorkflowName,
		contract.NotifyInput{TenantID: in.TenantID, EventID: eventID, Type: typ, Engine: contract.EngineCurrent})
	var started *temporal.ChildWorkflowExecutionAlreadyStartedError
	if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil && !errors.As(err, &started) {
		return err
	}
	return nil
}
