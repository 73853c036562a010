package e2e

import (
	"testing"
	"time"
)

// quietNow is a quiet-hours window in UTC that holds now and ends in about
// `for`, to the minute.
func quietNow(span time.Duration) map[string]any {
	now := time.Now().UTC()
	return map[string]any{"enabled": true, "start": now.Add(-time.Hour).Format("15:04"),
		"end": now.Add(span + time.Minute).Format("15:04"), "timezone": "UTC"}
}

func deliveryOf(ev eventView, user, channel string) deliveryView {
	for _, d := range ev.Deliveries {
		if d.UserID == user && d.Channel == channel {
			return d
		}
	}
	return deliveryView{}
}

// TestQuietHoursWaitAndRearm: email in quiet hours waits (pending, with
// not_before at the window's end) while in-app is stored at once; moving the
// window later moves the wait; turning quiet hours off sends at once; turning
// email off skips what waits.
func TestQuietHoursWaitAndRearm(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("night", "night@example.com")
	tn.putUser("owl", "owl@example.com")
	for _, u := range []string{"night", "owl"} {
		tn.must(200, tn.do("PUT", "/v1/users/"+u+"/preferences", map[string]any{"quiet_hours": quietNow(3 * time.Hour)}))
	}
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"night", "owl"}},
		"data": map[string]any{"issue_key": "QH-1"}})

	var ev eventView
	deadline := time.Now().Add(30 * time.Second)
	for {
		ev = tn.event(acc.EventID)
		if deliveryOf(ev, "night", "in_app").Status == "delivered" && deliveryOf(ev, "owl", "in_app").Status == "delivered" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("in-app not stored at once: %+v", ev)
		}
		time.Sleep(100 * time.Millisecond)
	}
	email := deliveryOf(ev, "night", "email")
	if email.Status != "pending" || email.NotBefore == nil || time.Until(*email.NotBefore) < 2*time.Hour {
		t.Fatalf("email in quiet hours = %+v, want pending with not_before about 3 h away", email)
	}
	if ev.Status != "pending" || len(mailFor(acc.EventID)) != 0 {
		t.Fatalf("event %s with %d mails, want pending with none", ev.Status, len(mailFor(acc.EventID)))
	}

	// Later: the wait follows the new window.
	tn.must(200, tn.do("PUT", "/v1/users/night/preferences", map[string]any{"quiet_hours": quietNow(5 * time.Hour)}))
	waitFor(t, 30*time.Second, "not_before to move later", func() bool {
		d := deliveryOf(tn.event(acc.EventID), "night", "email")
		return d.NotBefore != nil && time.Until(*d.NotBefore) > 4*time.Hour
	})
	// Off: sent at once.
	tn.must(200, tn.do("PUT", "/v1/users/night/preferences", map[string]any{"quiet_hours": map[string]any{"enabled": false}}))
	waitFor(t, 30*time.Second, "night's email to arrive", func() bool { return len(mailFor(acc.EventID)) == 1 })
	// Email off while waiting: skipped, never sent, and the event closes.
	tn.must(200, tn.do("PUT", "/v1/users/owl/preferences", map[string]any{"quiet_hours": quietNow(3 * time.Hour),
		"channels": map[string]any{"email": map[string]any{"enabled": false}}}))
	ev = tn.waitSettled(acc.EventID, 30*time.Second)
	if d := deliveryOf(ev, "owl", "email"); d.Status != "skipped" || d.Reason != "preference_disabled" {
		t.Errorf("owl's waiting email = %+v, want skipped preference_disabled", d)
	}
	if d := deliveryOf(ev, "night", "email"); d.Status != "delivered" {
		t.Errorf("night's email = %+v, want delivered", d)
	}
	if mail := mailFor(acc.EventID); len(mail) != 1 || mail[0].To[0] != "night@example.com" {
		t.Errorf("mail %v, want night's only", recipientsOf(mail))
	}
	if ev.Status != "delivered" {
		t.Errorf("event status %s, want delivered", ev.Status)
	}
	recordHistory(t, acc.WorkflowID, "notify_quiet_rearm")
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
