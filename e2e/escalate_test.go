package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/delivery"
)

// escalatingType is the part of an event type's answer an escalation shows in.
type escalatingType struct {
	Key      string   `json:"key"`
	Channels []string `json:"channels"`
	Escalate *struct {
		After string   `json:"after"`
		To    []string `json:"to"`
	} `json:"escalate,omitempty"`
}

// TestEscalateWhenUnread: with issue.assigned escalating to email after
// 30 minutes, the email waits behind the in-app item. A user who reads the
// item first gets no email; one who leaves it unread gets one email when the
// 30 minutes are up, even if he changes his preferences meanwhile; one who
// turned in-app off has nothing to read and gets the email at once. NotifyEvent runs on a skipped clock over the real
// activities, database and SMTP catcher.
func TestEscalateWhenUnread(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	typ := decodeAs[escalatingType](t, tn.must(200, tn.do("PUT", "/v1/event-types/issue.assigned",
		map[string]any{"escalate": map[string]any{"after": "30m", "to": []string{"email"}}})))
	if typ.Escalate == nil || typ.Escalate.After != "30m" || len(typ.Escalate.To) != 1 || typ.Escalate.To[0] != "email" {
		t.Fatalf("the answer's escalate: %+v", typ.Escalate)
	}
	tn.putUser("ann", "ann-esc@example.com") // reads the item after 10 minutes
	tn.putUser("ben", "ben-esc@example.com") // never does
	tn.putUser("cat", "cat-esc@example.com") // has in-app off
	tn.must(200, tn.do("PUT", "/v1/users/cat/preferences", map[string]any{"channels": map[string]any{"in_app": map[string]any{"enabled": false}}}))

	start := time.Date(2026, 6, 17, 10, 0, 0, 0, time.UTC)
	due := start.Add(30 * time.Minute)
	r := newSkipRun(t, tn, start)
	r.storeEvent("escalate", false, "ann", "ben", "cat")

	// Ben changes his preferences while his email is held: the API tells
	// the workflow, which decides his waiting deliveries again, and the
	// held one must still wait for the escalation.
	r.wf.RegisterDelayedCallback(func() {
		tn.must(200, tn.do("PUT", "/v1/users/ben/preferences", map[string]any{"channels": map[string]any{"slack": map[string]any{"enabled": false}}}))
		r.wf.SignalWorkflow(contract.SignalReschedule, "ben")
	}, 5*time.Minute)
	checked := false
	r.wf.RegisterDelayedCallback(func() {
		checked = true
		ev := tn.event(r.eventID.String())
		for _, u := range []string{"ann", "ben"} {
			if d := deliveryOf(ev, u, "in_app"); d.Status != "delivered" {
				t.Errorf("%s's in-app item = %+v, want delivered at once", u, d)
			}
			d := deliveryOf(ev, u, "email")
			if d.Status != "pending" || d.NotBefore == nil || !d.NotBefore.Equal(due) || d.EscalatedFrom != "in_app" {
				t.Errorf("%s's email 10 minutes in = %+v, want pending until %s, escalated from in_app", u, d, due.Format(time.RFC3339))
			}
		}
		if d := deliveryOf(ev, "cat", "email"); d.Status != "delivered" || d.EscalatedFrom != "" {
			t.Errorf("cat's email = %+v, want delivered at once, not escalated", d)
		}
		if n := mailTo(r.eventID, "ann-esc@example.com") + mailTo(r.eventID, "ben-esc@example.com"); n != 0 {
			t.Errorf("%d held emails went out early", n)
		}
		// Ann reads her item in the inbox.
		items := decodeAs[listPage[inboxItem]](t, tn.must(200, tn.do("GET", "/v1/users/ann/notifications", nil))).Data
		if len(items) != 1 {
			t.Fatalf("ann's inbox has %d items, want 1", len(items))
		}
		tn.must(200, tn.do("PATCH", "/v1/users/ann/notifications/"+items[0].ID+"/read", nil))
	}, 10*time.Minute)

	res := r.run()
	if !checked {
		t.Fatal("the workflow ended before the escalation was due")
	}
	if n := mailTo(r.eventID, "ann-esc@example.com"); n != 0 {
		t.Errorf("ann read the item and got %d emails, want none", n)
	}
	if n := mailTo(r.eventID, "ben-esc@example.com"); n != 1 {
		t.Errorf("ben left the item unread and got %d emails, want 1", n)
	}
	if n := mailTo(r.eventID, "cat-esc@example.com"); n != 1 {
		t.Errorf("cat (in-app off) got %d emails, want 1", n)
	}
	ev := tn.event(r.eventID.String())
	if d := deliveryOf(ev, "ann", "email"); d.Status != "skipped" || d.Reason != string(delivery.ReadInApp) || d.EscalatedFrom != "in_app" {
		t.Errorf("ann's email = %+v, want skipped read_in_app, escalated from in_app", d)
	}
	ben := deliveryOf(ev, "ben", "email")
	if ben.Status != "delivered" || ben.EscalatedFrom != "in_app" {
		t.Errorf("ben's email = %+v, want delivered, escalated from in_app", ben)
	}
	r.checkReleasedAt(ben, due)
	// One timer for the event, however many recipients wait.
	if _, timers := r.counts(); timers != 1 {
		t.Errorf("%d timers, want 1", timers)
	}
	want := contract.NotifyResult{Status: delivery.EventDelivered, Delivered: 4, Skipped: 2, Deferred: 2}
	if res != want {
		t.Errorf("result = %+v, want %+v", res, want)
	}
}

// TestEscalateEventTypeValidation: a bad escalation is refused in the
// contract's error shape and changes nothing; a good one shows on the type
// and null removes it.
func TestEscalateEventTypeValidation(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	esc := func(after string, to ...string) map[string]any {
		return map[string]any{"escalate": map[string]any{"after": after, "to": to}}
	}
	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"under a minute", esc("30s", "email"), 400, "invalid_field", "escalate.after"},
		{"over seven days", esc("8d", "email"), 400, "invalid_field", "escalate.after"},
		{"not a duration", esc("soon", "email"), 400, "invalid_field", "escalate.after"},
		{"no channels", esc("30m"), 400, "invalid_field", "escalate.to"},
		{"to in_app", esc("30m", "in_app"), 400, "invalid_field", "escalate.to"},
		{"unknown channel", esc("30m", "fax"), 400, "invalid_field", "escalate.to"},
		{"a channel twice", esc("30m", "email", "email"), 400, "invalid_field", "escalate.to"},
		{"push", esc("30m", "push"), 422, "channel_not_available", "escalate.to"},
		{"unknown field", map[string]any{"escalate": map[string]any{"after": "30m", "to": []string{"email"}, "when": "unread"}}, 400, "", ""},
		{"type without in_app", map[string]any{"channels": []string{"email", "slack"}, "escalate": map[string]any{"after": "30m", "to": []string{"slack"}}},
			422, "escalation_needs_in_app", "escalate"},
	} {
		r := tn.do("PUT", "/v1/event-types/issue.assigned", tc.body)
		e := r.errorBody().Error
		if r.status != tc.status || (tc.code != "" && e.Code != tc.code) || (tc.field != "" && e.Details["field"] != tc.field) || e.Message == "" {
			t.Errorf("%s: %d %s, want %d %s on %s", tc.name, r.status, r.raw, tc.status, tc.code, tc.field)
		}
	}
	if n := count(t, "SELECT count(*) FROM event_types WHERE tenant_id = $1", tn.id); n != 0 {
		t.Errorf("refused PUTs stored %d definitions", n)
	}

	tn.must(200, tn.do("PUT", "/v1/event-types/issue.assigned", esc("2h", "email", "slack")))
	// Channels alone, leaving escalate stored: the type would escalate
	// from an in-app item it no longer sends.
	if r := tn.do("PUT", "/v1/event-types/issue.assigned", map[string]any{"channels": []string{"email"}}); r.status != 422 || r.errCode() != "escalation_needs_in_app" {
		t.Errorf("channels without in_app under a stored escalation: %d %s", r.status, r.raw)
	}
	var list listPage[escalatingType]
	if err := json.Unmarshal(tn.must(200, tn.do("GET", "/v1/event-types?limit=100", nil)).raw, &list); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, typ := range list.Data {
		if typ.Key == "issue.assigned" {
			found = true
			if typ.Escalate == nil || typ.Escalate.After != "2h" || len(typ.Escalate.To) != 2 || len(typ.Channels) != 3 {
				t.Errorf("issue.assigned in the catalog: %+v", typ)
			}
		}
	}
	if !found {
		t.Error("issue.assigned missing from the catalog")
	}
	cleared := decodeAs[escalatingType](t, tn.must(200, tn.do("PUT", "/v1/event-types/issue.assigned", map[string]any{"escalate": nil})))
	if cleared.Escalate != nil {
		t.Errorf("after escalate: null the type still escalates: %+v", cleared.Escalate)
	}
}

// TestEscalateOnTheRealStack runs an escalation end to end on the real
// servers, at the shortest wait a type may have (1m): posted through the
// API, held by the worker, released by the Temporal server's timer. Dan
// reads the item and gets no email; Eve does not and gets one.
func TestEscalateOnTheRealStack(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.must(200, tn.do("PUT", "/v1/event-types/issue.assigned",
		map[string]any{"escalate": map[string]any{"after": "1m", "to": []string{"email"}}}))
	tn.putUser("dan", "dan-esc@example.com")
	tn.putUser("eve", "eve-esc@example.com")
	posted := time.Now()
	acc := tn.postEvent(assignEvent("escalate-real", "dan", "eve"))

	// Both items arrive at once; both emails are held.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ev := tn.event(acc.EventID)
		held := 0
		for _, u := range []string{"dan", "eve"} {
			if d := deliveryOf(ev, u, "email"); d.Status == "pending" && d.EscalatedFrom == "in_app" && d.NotBefore != nil &&
				!d.NotBefore.Before(posted.Add(time.Minute-time.Second)) && deliveryOf(ev, u, "in_app").Status == "delivered" {
				held++
			}
		}
		if held == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the emails were not held behind the in-app items: %+v", ev.Deliveries)
		}
		time.Sleep(100 * time.Millisecond)
	}
	items := decodeAs[listPage[inboxItem]](t, tn.must(200, tn.do("GET", "/v1/users/dan/notifications", nil))).Data
	if len(items) != 1 {
		t.Fatalf("dan's inbox has %d items, want 1", len(items))
	}
	tn.must(200, tn.do("PATCH", "/v1/users/dan/notifications/"+items[0].ID+"/read", nil))
	if n := len(mailFor(acc.EventID)); n != 0 {
		t.Fatalf("%d emails before the escalation was due", n)
	}

	ev := tn.waitEvent(acc.EventID)
	if time.Since(posted) < time.Minute {
		t.Errorf("the event settled %v after it was posted, before its escalation was due", time.Since(posted))
	}
	id := mustUUID(t, acc.EventID)
	if dan, eve := mailTo(id, "dan-esc@example.com"), mailTo(id, "eve-esc@example.com"); dan != 0 || eve != 1 {
		t.Errorf("dan (read) got %d emails, eve (unread) %d; want 0 and 1", dan, eve)
	}
	if d := deliveryOf(ev, "dan", "email"); d.Status != "skipped" || d.Reason != "read_in_app" {
		t.Errorf("dan's email = %+v, want skipped read_in_app", d)
	}
	if ev.Status != "delivered" {
		t.Errorf("event status %s, want delivered", ev.Status)
	}
}
