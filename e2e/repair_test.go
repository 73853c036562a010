package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/heraldhq/herald/contract"
)

type retryView struct {
	DeliveryID string `json:"delivery_id"`
	EventID    string `json:"event_id"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
}

// webhookDelivery returns the event's tenant-webhook delivery.
func webhookDelivery(ev eventView) deliveryView {
	for _, d := range ev.Deliveries {
		if d.Target == "webhook" {
			return d
		}
	}
	return deliveryView{}
}

// waitDelivery polls an event until its webhook delivery has status.
func (tn *tenant) waitWebhookStatus(eventID, status string) eventView {
	tn.t.Helper()
	var ev eventView
	waitFor(tn.t, 30*time.Second, "the webhook delivery to be "+status, func() bool {
		ev = tn.event(eventID)
		return webhookDelivery(ev).Status == status
	})
	return ev
}

func TestRetryFailedDelivery(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	hook := newHookServer(t, http.StatusBadRequest) // refused once, for good; then accepted
	tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": hook.URL}))
	tn.putUser("r1", "r1@example.com")
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"r1"}}, "data": map[string]any{"issue_key": "RP-1"}})
	ev := tn.waitSettled(acc.EventID, time.Minute)
	failed := webhookDelivery(ev)
	if ev.Status != "partial" || failed.Status != "failed" || failed.Attempts != 1 {
		t.Fatalf("event %s, webhook %+v; want partial with the webhook failed", ev.Status, failed)
	}
	// The run waits for a retry rather than completing.
	desc, err := env.temporal.DescribeWorkflowExecution(context.Background(), acc.WorkflowID, "")
	if err != nil {
		t.Fatal(err)
	}
	if s := desc.GetWorkflowExecutionInfo().GetStatus().String(); s != "Running" {
		t.Errorf("workflow %s after a failure, want Running (waiting for a retry signal)", s)
	}
	if r := tn.do("POST", "/v1/deliveries/"+deliveryOf(ev, "r1", "email").ID+"/retry", nil); r.status != 409 || r.errCode() != "not_failed" {
		t.Errorf("retrying a delivered email: %d %s, want 409 not_failed", r.status, r.raw)
	}
	if r := tn.do("POST", "/v1/deliveries/00000000-0000-0000-0000-000000000001/retry", nil); r.status != 404 {
		t.Errorf("retrying an unknown delivery: %d %s", r.status, r.raw)
	}
	got := decodeAs[retryView](t, tn.must(202, tn.do("POST", "/v1/deliveries/"+failed.ID+"/retry", nil)))
	if got.WorkflowID != acc.WorkflowID {
		t.Errorf("retry answered %+v", got)
	}
	ev = tn.waitWebhookStatus(acc.EventID, "delivered")
	if d := webhookDelivery(ev); d.Attempts != 2 || len(hook.calls()) != 2 {
		t.Errorf("after the retry: %+v with %d calls, want delivered on attempt 2, one more call", d, len(hook.calls()))
	}
	waitFor(t, 10*time.Second, "the event to be delivered", func() bool { return tn.event(acc.EventID).Status == "delivered" })
	waitFor(t, 10*time.Second, "the workflow to complete", func() bool {
		desc, err := env.temporal.DescribeWorkflowExecution(context.Background(), acc.WorkflowID, "")
		return err == nil && desc.GetWorkflowExecutionInfo().GetStatus().String() == "Completed"
	})
	recordHistory(t, acc.WorkflowID, "notify_retry")
}

// TestRetryAfterTheRunEnded: once the run has closed (its retry window
// passed; here it is terminated), a retry starts a repair run.
func TestRetryAfterTheRunEnded(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	hook := newHookServer(t, http.StatusBadRequest)
	tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": hook.URL}))
	tn.putUser("r2", "r2@example.com")
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"r2"}}, "data": map[string]any{"issue_key": "RP-2"}})
	ev := tn.waitSettled(acc.EventID, time.Minute)
	failed := webhookDelivery(ev)
	if err := env.temporal.TerminateWorkflow(context.Background(), acc.WorkflowID, "", "the retry window passed"); err != nil {
		t.Fatal(err)
	}
	got := decodeAs[retryView](t, tn.must(202, tn.do("POST", "/v1/deliveries/"+failed.ID+"/retry", nil)))
	if got.RunID == "" || got.RunID == acc.RunID {
		t.Errorf("retry answered run %q; want a new repair run", got.RunID)
	}
	tn.waitWebhookStatus(acc.EventID, "delivered")
	waitFor(t, 10*time.Second, "the event to be delivered", func() bool { return tn.event(acc.EventID).Status == "delivered" })
	if n := len(hook.calls()); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
}

func TestBulkRetry(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	hook := newHookServer(t, http.StatusBadRequest, http.StatusBadRequest)
	tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": hook.URL}))
	tn.putUser("r3", "r3@example.com")
	var events []string
	for _, key := range []string{"RP-3", "RP-4"} {
		acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"r3"}}, "data": map[string]any{"issue_key": key}})
		tn.waitWebhookStatus(acc.EventID, "failed")
		events = append(events, acc.EventID)
	}
	if r := tn.do("POST", "/v1/deliveries/retry", map[string]any{"channel": "in_app"}); r.status != 400 {
		t.Errorf("bulk retry of in-app: %d %s, want 400", r.status, r.raw)
	}
	page := decodeAs[struct {
		Queued     int     `json:"queued"`
		Events     int     `json:"events"`
		NextCursor *string `json:"next_cursor"`
	}](t, tn.must(202, tn.do("POST", "/v1/deliveries/retry", map[string]any{"channel": "webhook", "limit": 1})))
	if page.Queued != 1 || page.Events != 1 || page.NextCursor == nil {
		t.Fatalf("first page %+v, want one queued and a cursor", page)
	}
	rest := decodeAs[struct {
		Queued     int     `json:"queued"`
		NextCursor *string `json:"next_cursor"`
	}](t, tn.must(202, tn.do("POST", "/v1/deliveries/retry", map[string]any{"channel": "webhook", "limit": 1, "cursor": *page.NextCursor})))
	if rest.Queued != 1 {
		t.Errorf("second page %+v, want the other one", rest)
	}
	for _, id := range events {
		tn.waitWebhookStatus(id, "delivered")
	}
	if n := len(hook.calls()); n != 4 {
		t.Errorf("%d calls, want 4 (two refused, two retried)", n)
	}
}

// TestRetryWhileAnotherDeliveryWaits: a retry is acted on while the run is
// still pacing another delivery's tries. The tenant webhook answers 503 (its
// next try is 5 s away, then 5 minutes); a user's own webhook answered 400
// and failed. Retrying the user's webhook sends it at once, though the run
// has not settled.
func TestRetryWhileAnotherDeliveryWaits(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tenantHook := newHookServer(t, http.StatusServiceUnavailable, http.StatusServiceUnavailable)
	tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": tenantHook.URL}))
	userHook := newHookServer(t, http.StatusBadRequest)
	tn.putUser("rw", "rw@example.com")
	tn.must(200, tn.do("PUT", "/v1/users/rw/preferences", map[string]any{
		"channels": map[string]any{"webhook": map[string]any{"enabled": true, "url": userHook.URL}}}))
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"rw"}},
		"data": map[string]any{"issue_key": "RW-1"}})
	var failed deliveryView
	waitFor(t, 30*time.Second, "the user's webhook to fail", func() bool {
		failed = deliveryOf(tn.event(acc.EventID), "rw", "webhook")
		return failed.Status == "failed"
	})
	// The tenant webhook waits for its next try meanwhile.
	waitFor(t, 30*time.Second, "the tenant webhook's second try", func() bool { return len(tenantHook.calls()) == 2 })
	if d := webhookDelivery(tn.event(acc.EventID)); d.Status != "pending" || d.NotBefore == nil {
		t.Fatalf("tenant webhook %+v, want pending until its next try", d)
	}
	asked := time.Now()
	tn.must(202, tn.do("POST", "/v1/deliveries/"+failed.ID+"/retry", nil))
	waitFor(t, 10*time.Second, "the retried webhook to be delivered", func() bool {
		return deliveryOf(tn.event(acc.EventID), "rw", "webhook").Status == "delivered"
	})
	if took := time.Since(asked); took > 5*time.Second || len(userHook.calls()) != 2 {
		t.Errorf("the retry took %v and %d calls, want at once and one more call", took, len(userHook.calls()))
	}
	if ev := tn.event(acc.EventID); ev.Status != "pending" {
		t.Errorf("event %s while the tenant webhook still waits, want pending", ev.Status)
	}
	// The run ends its wait early here, for the replay fixture: the tenant
	// webhook is retried now and lands.
	tn.must(202, tn.do("POST", "/v1/deliveries/"+webhookDelivery(tn.event(acc.EventID)).ID+"/retry", nil))
	ev := tn.waitSettled(acc.EventID, time.Minute)
	if ev.Status != "delivered" {
		t.Fatalf("event %s, want delivered", ev.Status)
	}
	recordHistory(t, acc.WorkflowID, "notify_retry_while_waiting")
}

// TestContinuedRunActsOnCarriedRetry: a run that continued as new with a
// retry signal it had not acted on sends the delivery at once. The run is
// started here as continue-as-new starts it, after the first run is gone.
func TestContinuedRunActsOnCarriedRetry(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	hook := newHookServer(t, http.StatusBadRequest)
	tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": hook.URL}))
	tn.putUser("cr", "cr@example.com")
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"cr"}},
		"data": map[string]any{"issue_key": "CR-1"}})
	ev := tn.waitSettled(acc.EventID, time.Minute)
	failed := webhookDelivery(ev)
	if err := env.temporal.TerminateWorkflow(context.Background(), acc.WorkflowID, "", "continued"); err != nil {
		t.Fatal(err)
	}
	repairBy := time.Now().Add(contract.RetryWindow)
	in := contract.NotifyInput{TenantID: tn.id, EventID: mustUUID(t, acc.EventID), Type: "issue.assigned",
		Engine: contract.EngineCurrent, Waiting: true, Closed: true, RepairBy: &repairBy,
		RetryIDs: []uuid.UUID{mustUUID(t, failed.ID)}, Carried: &contract.NotifyResult{Status: "partial", Delivered: 2, Failed: 1}}
	if _, err := env.temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: acc.WorkflowID,
		TaskQueue: env.cfg.TaskQueue, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE},
		contract.NotifyWorkflowName, in); err != nil {
		t.Fatal(err)
	}
	tn.waitWebhookStatus(acc.EventID, "delivered")
	waitFor(t, 10*time.Second, "the event to be delivered", func() bool { return tn.event(acc.EventID).Status == "delivered" })
	if n := len(hook.calls()); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
	recordHistory(t, acc.WorkflowID, "notify_carried_retry")
}
