package workflows

import (
	"fmt"

	"github.com/google/uuid"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/delivery"
)

// runV1 is NotifyEvent as released before channel batches: email only, one
// SendEmails activity per page. Runs begun by that release replay and finish
// through it (workflows/testdata/v1); new runs take run. Do not change its
// command sequence. activities/send_emails_v1.go says when it can go.
func (n *notifyV4) runV1(ctx workflow.Context) (contract.NotifyResult, error) {
	logger := workflow.GetLogger(ctx)
	var inFlight []pendingV1
	settle := func(b pendingV1) {
		var res activities.SendResult
		if err := b.future.Get(ctx, &res); err != nil {
			logger.Warn("email batch failed after retries", "error", err, "deliveries", len(b.ids))
			if err := workflow.ExecuteLocalActivity(n.lctx, a.MarkFailed, b.ids, "retries ran out: "+lastError(err)).Get(ctx, &res); err != nil {
				logger.Error("marking deliveries failed", "error", err)
				n.result.Failed += len(b.ids)
				return
			}
		}
		n.add(res.Delivered, res.Skipped, res.Failed)
	}
	settleAll := func() {
		for _, b := range inFlight {
			settle(b)
		}
		inFlight = nil
	}

	after := n.in.After
	for pages := 1; ; pages++ {
		var page activities.PageResult
		in := activities.PageInput{TenantID: n.in.TenantID, EventID: n.in.EventID, After: after, Limit: PageSize}
		if err := workflow.ExecuteLocalActivity(n.lctx, a.PreparePage, in).Get(ctx, &page); err != nil {
			settleAll()
			return n.finishV1(delivery.EventFailed, fmt.Errorf("preparing recipients after %q: %w", after, err))
		}
		n.add(page.Delivered, page.Skipped, page.Failed)
		if len(page.Emails) > 0 && len(page.Emails) <= fastPathSize && after == "" && page.Next == "" {
			var res activities.SendResult
			err := workflow.ExecuteLocalActivity(n.fastctx, a.SendEmails, activities.SendInput{
				TenantID: n.in.TenantID, EventID: n.in.EventID, DeliveryIDs: page.Emails,
			}).Get(ctx, &res)
			if err == nil {
				n.add(res.Delivered, res.Skipped, res.Failed)
				page.Emails = nil
			} else {
				logger.Info("email fast path incomplete; retrying as an activity", "error", err)
			}
		}
		if len(page.Emails) > 0 {
			if len(inFlight) == maxBatchesInFlight {
				settle(inFlight[0])
				inFlight = inFlight[1:]
			}
			f := workflow.ExecuteActivity(n.actx, a.SendEmails, activities.SendInput{
				TenantID: n.in.TenantID, EventID: n.in.EventID, DeliveryIDs: page.Emails,
			})
			inFlight = append(inFlight, pendingV1{ids: page.Emails, future: f})
		}
		if page.Next == "" {
			break
		}
		after = page.Next
		if pages >= maxPagesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			settleAll()
			next := n.in
			next.After, next.Carried = after, &n.result
			return n.result, workflow.NewContinueAsNewError(ctx, NotifyEvent, next)
		}
	}
	settleAll()
	return n.finishV1(delivery.Outcome(n.result.Delivered, n.result.Failed), nil)
}

// finishV1 is finish as released: a failed FinishEvent failed the run.
func (n *notifyV4) finishV1(status delivery.EventStatus, cause error) (contract.NotifyResult, error) {
	n.result.Status = status
	if err := workflow.UpsertTypedSearchAttributes(n.lctx, contract.AttrStatus.ValueSet(string(status))); err != nil {
		return n.result, err
	}
	if err := workflow.ExecuteLocalActivity(n.lctx, a.FinishEvent, n.in.EventID, status).Get(n.lctx, nil); err != nil && cause == nil {
		cause = err
	}
	return n.result, cause
}

type pendingV1 struct {
	ids    []uuid.UUID
	future workflow.Future
}
