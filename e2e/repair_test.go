package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"
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
