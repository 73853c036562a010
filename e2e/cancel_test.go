package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/dev/localstack"
	"github.com/heraldhq/herald/internal/dev/mailcatch"
)

type cancelView struct {
	EventID   string `json:"event_id"`
	Status    string `json:"status"`
	Cancelled int    `json:"cancelled"`
}

type scheduledView struct {
	Status string     `json:"status"`
	SendAt *time.Time `json:"send_at"`
}

// workflowDone waits for the event's run to complete.
func (tn *tenant) workflowDone(eventID string) {
	tn.t.Helper()
	waitFor(tn.t, 30*time.Second, "the event's run to complete", func() bool {
		return tn.event(eventID).WorkflowStatus == "completed"
	})
}

func TestScheduledSend(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("s1", "s1@example.com")
	at := time.Now().Add(3 * time.Second).UTC().Truncate(time.Millisecond)
	acc := tn.postEvent(map[string]any{"type": "project.milestone_deadline", "recipients": map[string]any{"users": []string{"s1"}},
		"data": map[string]any{"milestone": "Beta", "due": "Friday"}, "send_at": at}, "Idempotency-Key", "milestone-beta-reminder")
	ev := decodeAs[scheduledView](t, tn.must(200, tn.do("GET", "/v1/events/"+acc.EventID, nil)))
	if ev.SendAt == nil || !ev.SendAt.Equal(at) || len(tn.event(acc.EventID).Deliveries) != 0 {
		t.Fatalf("before send_at: %+v with deliveries %v; want send_at shown and nothing sent", ev, tn.event(acc.EventID).Deliveries)
	}
	done := tn.waitSettled(acc.EventID, 30*time.Second)
	mail := mailFor(acc.EventID)
	if done.Status != "delivered" || len(mail) != 1 {
		t.Fatalf("after send_at: %s with %d mails", done.Status, len(mail))
	}
	if mail[0].Received.Before(at) {
		t.Errorf("email arrived at %v, before send_at %v", mail[0].Received, at)
	}
	if r := tn.do("POST", "/v1/events", map[string]any{"type": "project.milestone_deadline", "recipients": map[string]any{"users": []string{"s1"}},
		"data": map[string]any{"milestone": "GA"}, "send_at": time.Now().AddDate(2, 0, 0)}); r.status != 400 || r.errorBody().Error.Details["field"] != "send_at" {
		t.Errorf("send_at two years ahead: %d %s, want 400 naming send_at", r.status, r.raw)
	}
	past := tn.postEvent(map[string]any{"type": "project.milestone_deadline", "recipients": map[string]any{"users": []string{"s1"}},
		"data": map[string]any{"milestone": "RC"}, "send_at": time.Now().Add(-time.Hour)})
	if tn.waitSettled(past.EventID, 30*time.Second).Status != "delivered" {
		t.Error("a past send_at did not send at once")
	}
}

func TestCancelBeforeSendAtAndTwice(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("c1", "c1@example.com")
	acc := tn.postEvent(map[string]any{"type": "project.milestone_deadline", "recipients": map[string]any{"users": []string{"c1"}},
		"data": map[string]any{"milestone": "Beta"}, "send_at": time.Now().Add(time.Hour)})
	first := decodeAs[cancelView](t, tn.must(200, tn.do("DELETE", "/v1/events/"+acc.EventID, nil)))
	again := decodeAs[cancelView](t, tn.must(200, tn.do("DELETE", "/v1/events/"+acc.EventID, nil)))
	if first.Status != "cancelled" || again.Status != "cancelled" || again.Cancelled != 0 {
		t.Errorf("cancel %+v then %+v", first, again)
	}
	tn.workflowDone(acc.EventID)
	if ev := tn.event(acc.EventID); ev.Status != "cancelled" || len(ev.Deliveries) != 0 || len(mailFor(acc.EventID)) != 0 {
		t.Errorf("cancelled event %+v", ev)
	}
	// An event whose deliveries are all made cannot be cancelled.
	done := tn.postEvent(map[string]any{"type": "project.milestone_deadline", "recipients": map[string]any{"users": []string{"c1"}}, "data": map[string]any{"milestone": "GA"}})
	tn.waitSettled(done.EventID, 30*time.Second)
	if r := tn.do("DELETE", "/v1/events/"+done.EventID, nil); r.status != 409 || r.errCode() != "already_delivered" {
		t.Errorf("cancelling a delivered event: %d %s, want 409", r.status, r.raw)
	}
	if r := tn.do("DELETE", "/v1/events/00000000-0000-0000-0000-000000000001", nil); r.status != 404 {
		t.Errorf("cancelling an unknown event: %d", r.status)
	}
}

func TestCancelWhileQuietHoursHold(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("q1", "q1@example.com")
	tn.must(200, tn.do("PUT", "/v1/users/q1/preferences", map[string]any{"quiet_hours": quietNow(3 * time.Hour)}))
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"q1"}}, "data": map[string]any{"issue_key": "CQ-1"}})
	waitFor(t, 30*time.Second, "the email to wait", func() bool {
		d := deliveryOf(tn.event(acc.EventID), "q1", "email")
		return d.Status == "pending" && d.NotBefore != nil
	})
	got := decodeAs[cancelView](t, tn.must(200, tn.do("DELETE", "/v1/events/"+acc.EventID, nil)))
	if got.Cancelled != 1 {
		t.Errorf("cancel answered %+v, want the waiting email cancelled", got)
	}
	tn.workflowDone(acc.EventID)
	ev := tn.event(acc.EventID)
	if d := deliveryOf(ev, "q1", "email"); d.Status != "cancelled" || d.Reason != "event_cancelled" {
		t.Errorf("waiting email %+v, want cancelled event_cancelled", d)
	}
	if d := deliveryOf(ev, "q1", "in_app"); d.Status != "delivered" {
		t.Errorf("in-app %+v: what was made stays made", d)
	}
	if ev.Status != "cancelled" || len(mailFor(acc.EventID)) != 0 {
		t.Errorf("event %s with %d mails", ev.Status, len(mailFor(acc.EventID)))
	}
}

// TestCancelDuringFanOut cancels an event to 10,000 recipients while its
// pages are being planned and sent (a slow SMTP server keeps the fan-out
// going): the rest is never planned, nothing pending is sent, and every
// email that went out is a delivered row.
func TestCancelDuringFanOut(t *testing.T) {
	if testing.Short() {
		t.Skip("fan-out")
	}
	t.Parallel()
	mc, err := mailcatch.Start("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	mc.SetDelay(20 * time.Millisecond)
	st, err := startStack(context.Background(), mc.URL(), "herald-e2e-cancel")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop()
	tn := newTenantOn(t, st.API.URL)
	const n = 10000
	if err := localstack.SeedUsers(context.Background(), env.owner, tn.id, n); err != nil {
		t.Fatal(err)
	}
	acc := tn.postEvent(map[string]any{"type": "project.update", "data": map[string]any{"project": "Apollo", "message": "moved"}})
	waitFor(t, 30*time.Second, "the fan-out to be under way", func() bool {
		return count(t, "SELECT count(*) FROM deliveries WHERE event_id = $1", acc.EventID) >= 1000
	})
	got := decodeAs[cancelView](t, tn.must(200, tn.do("DELETE", "/v1/events/"+acc.EventID, nil)))
	waitFor(t, 2*time.Minute, "the run to complete", func() bool { return tn.event(acc.EventID).WorkflowStatus == "completed" })
	rows := count(t, "SELECT count(*) FROM deliveries WHERE event_id = $1", acc.EventID)
	pending := count(t, "SELECT count(*) FROM deliveries WHERE event_id = $1 AND status = 'pending'", acc.EventID)
	cancelled := count(t, "SELECT count(*) FROM deliveries WHERE event_id = $1 AND status = 'cancelled'", acc.EventID)
	sent := count(t, "SELECT count(*) FROM deliveries WHERE event_id = $1 AND channel = 'email' AND status = 'delivered'", acc.EventID)
	t.Logf("cancel answered %+v; %d rows planned, %d cancelled, %d emails delivered", got, rows, cancelled, sent)
	if rows >= 2*n {
		t.Errorf("all %d recipients were planned: the cancel did not stop the fan-out", n)
	}
	if pending != 0 || cancelled == 0 {
		t.Errorf("%d pending and %d cancelled after the run; want none pending, some cancelled", pending, cancelled)
	}
	caught := 0
	for _, m := range mc.Messages() {
		if len(m.Header["X-Herald-Event-Id"]) > 0 && m.Header["X-Herald-Event-Id"][0] == acc.EventID {
			caught++
		}
	}
	if caught != sent {
		t.Errorf("%d emails at the SMTP server, %d delivered rows: every email sent must be a delivered row, and only those", caught, sent)
	}
	if st := tn.event(acc.EventID).Status; st != "cancelled" {
		t.Errorf("event status %s, want cancelled", st)
	}
}
