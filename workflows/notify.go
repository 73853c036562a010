// Package workflows holds Herald's Temporal workflows and their contract: the
// names, IDs and input types that the API and the worker share.
package workflows

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/activities"
)

// Search attributes Herald sets on its workflows, registered on the namespace.
var (
	AttrTenant    = temporal.NewSearchAttributeKeyKeyword("HeraldTenant")
	AttrEventType = temporal.NewSearchAttributeKeyKeyword("HeraldEventType")
	AttrStatus    = temporal.NewSearchAttributeKeyKeyword("HeraldStatus")
)

// SearchAttributeNames lists the custom search attributes to register.
var SearchAttributeNames = []string{"HeraldTenant", "HeraldEventType", "HeraldStatus"}

// Event statuses, as stored on the event and in HeraldStatus.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusPartial   = "partial" // some deliveries failed, others went out
	StatusFailed    = "failed"
)

// eventNamespace makes event IDs a pure function of tenant and idempotency key.
var eventNamespace = uuid.MustParse("6f1c3e57-1d2a-4f0e-9b7a-3c1e5d8a2b40")

// EventID derives the event ID from the tenant and the idempotency key, so a
// repeated post maps to the same event and the same workflow.
func EventID(tenantID uuid.UUID, idempotencyKey string) uuid.UUID {
	return uuid.NewSHA1(eventNamespace, append(tenantID[:], idempotencyKey...))
}

// NotifyWorkflowID is the workflow ID of an event's NotifyEvent run.
func NotifyWorkflowID(eventID uuid.UUID) string { return "notify/" + eventID.String() }

// NotifyWorkflowName is the registered name of NotifyEvent.
const NotifyWorkflowName = "NotifyEvent"

// NotifyInput starts a NotifyEvent workflow; the event itself is in the database.
type NotifyInput struct {
	TenantID uuid.UUID `json:"tenant_id"`
	EventID  uuid.UUID `json:"event_id"`
	Type     string    `json:"type"`
	// After and Carried continue a fan-out in a new run: the last recipient
	// handled and the tally so far.
	After   string        `json:"after,omitempty"`
	Carried *NotifyResult `json:"carried,omitempty"`
}

// NotifyResult tallies an event's deliveries.
type NotifyResult struct {
	Status    string `json:"status"`
	Delivered int    `json:"delivered"`
	Skipped   int    `json:"skipped"`
	Failed    int    `json:"failed"`
}

// PageSize is how many recipients one page activity handles. It bounds the
// history: 10,000 recipients are 20 pages of a handful of events each.
const PageSize = 500

// maxPagesPerRun bounds one run's history (a page is a handful of events);
// a larger audience continues as a new run, so no recipient count reaches
// Temporal's history limits.
const maxPagesPerRun = 200

// fastPathEmails is the largest batch first tried inside the workflow task,
// as a local activity: most events reach a handful of people, and sending
// their email without a round trip through the server's task queues makes
// an event cost less than a bare workflow with one activity. A batch the
// fast path does not finish goes to the regular activity with retries.
const fastPathEmails = 20

// maxEmailBatchesInFlight bounds how many pages send email at once, so a large
// fan-out overlaps database work with SMTP without flooding the mail server.
const maxEmailBatchesInFlight = 4

// a is the activities' method set; the worker registers the real instance.
var a *activities.Activities

// NotifyEvent delivers one event to its recipients on every channel they allow.
func NotifyEvent(ctx workflow.Context, in NotifyInput) (NotifyResult, error) {
	n := &notify{in: in}
	if in.Carried != nil {
		n.result = *in.Carried
	}
	return n.run(ctx)
}

type notify struct {
	in     NotifyInput
	result NotifyResult
}

func (n *notify) run(ctx workflow.Context) (NotifyResult, error) {
	logger := workflow.GetLogger(ctx)
	// The API sets the search attributes at start; a run started another way
	// (the CLI, the UI) gets them here so operators can still filter on it.
	if _, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(AttrTenant); !ok {
		if err := workflow.UpsertTypedSearchAttributes(ctx,
			AttrTenant.ValueSet(n.in.TenantID.String()), AttrEventType.ValueSet(n.in.Type),
			AttrStatus.ValueSet(StatusPending)); err != nil {
			return n.result, err
		}
	}
	// Database steps are short and idempotent: local activities keep them off
	// the server's critical path.
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 10 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
		},
	})
	// SMTP is real I/O: a regular activity, retried with backoff, and every
	// retry skips the messages already accepted.
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			MaximumAttempts: 6,
		},
	})

	// One attempt, bounded well inside the workflow task timeout.
	fastctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 5 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})

	type batch struct {
		ids    []uuid.UUID
		future workflow.Future
	}
	var inFlight []batch
	settle := func(b batch) {
		var res activities.SendResult
		if err := b.future.Get(ctx, &res); err != nil {
			logger.Warn("email batch failed after retries", "error", err, "deliveries", len(b.ids))
			if err := workflow.ExecuteLocalActivity(lctx, a.MarkFailed, b.ids, "retries exhausted: "+err.Error()).Get(ctx, &res); err != nil {
				logger.Error("marking deliveries failed", "error", err)
				n.result.Failed += len(b.ids)
				return
			}
		}
		n.add(res)
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
		if err := workflow.ExecuteLocalActivity(lctx, a.PreparePage, in).Get(ctx, &page); err != nil {
			// Earlier pages' emails still go out (or are marked failed)
			// before the event is closed.
			settleAll()
			return n.finish(lctx, StatusFailed, fmt.Errorf("preparing recipients after %q: %w", after, err))
		}
		n.add(activities.SendResult{Delivered: page.Delivered, Skipped: page.Skipped, Failed: page.Failed})
		if len(page.Emails) > 0 && len(page.Emails) <= fastPathEmails && after == "" && page.Next == "" {
			var res activities.SendResult
			err := workflow.ExecuteLocalActivity(fastctx, a.SendEmails, activities.SendInput{
				TenantID: n.in.TenantID, EventID: n.in.EventID, DeliveryIDs: page.Emails,
			}).Get(ctx, &res)
			if err == nil {
				n.add(res)
				page.Emails = nil
			} else {
				logger.Info("email fast path incomplete; retrying as an activity", "error", err)
			}
		}
		if len(page.Emails) > 0 {
			if len(inFlight) == maxEmailBatchesInFlight {
				settle(inFlight[0])
				inFlight = inFlight[1:]
			}
			f := workflow.ExecuteActivity(actx, a.SendEmails, activities.SendInput{
				TenantID: n.in.TenantID, EventID: n.in.EventID, DeliveryIDs: page.Emails,
			})
			inFlight = append(inFlight, batch{ids: page.Emails, future: f})
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

	status := StatusDelivered
	switch {
	case n.result.Failed > 0 && n.result.Delivered == 0:
		status = StatusFailed
	case n.result.Failed > 0:
		status = StatusPartial
	}
	return n.finish(lctx, status, nil)
}

func (n *notify) add(r activities.SendResult) {
	n.result.Delivered += r.Delivered
	n.result.Failed += r.Failed
	n.result.Skipped += r.Skipped
}

// finish records the outcome on the event row and in the search attributes,
// so operators can filter failed events in the Temporal UI.
func (n *notify) finish(lctx workflow.Context, status string, cause error) (NotifyResult, error) {
	n.result.Status = status
	if err := workflow.UpsertTypedSearchAttributes(lctx, AttrStatus.ValueSet(status)); err != nil {
		return n.result, err
	}
	if err := workflow.ExecuteLocalActivity(lctx, a.FinishEvent, n.in.EventID, status).Get(lctx, nil); err != nil && cause == nil {
		cause = err
	}
	return n.result, cause
}
