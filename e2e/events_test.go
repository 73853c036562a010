package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/heraldhq/herald/activities"
)

func assignEvent(key string, users ...string) map[string]any {
	return map[string]any{
		"type": "issue.assigned", "recipients": map[string]any{"users": users},
		"data": map[string]any{"issue_key": "PROJ-123", "title": "Fix login bug"}, "idempotency_key": key,
		"link": "https://app.example/issues/PROJ-123",
	}
}

func TestEventReachesInAppAndEmail(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("ada", "ada@example.com")
	acc := tn.must(202, tn.do("POST", "/v1/events", assignEvent("evt-42", "ada")))
	if acc.body["duplicate"] != false || acc.str("run_id") == "" || !strings.HasPrefix(acc.str("workflow_id"), "notify/") {
		t.Fatalf("accepted = %s", acc.raw)
	}
	ev := tn.waitEvent(acc.str("event_id"))
	recordHistory(t, acc.str("workflow_id"), "notify_single")
	if ev.str("status") != "delivered" || ev.str("workflow_status") != "completed" {
		t.Fatalf("event = %s", ev.raw)
	}
	deliveries := ev.body["deliveries"].([]any)
	if len(deliveries) != 2 {
		t.Fatalf("want an in_app and an email delivery, got %s", ev.raw)
	}
	var emailDelivery string
	for _, d := range deliveries {
		d := d.(map[string]any)
		if d["status"] != "delivered" || d["attempts"] != float64(1) || d["delivered_at"] == nil {
			t.Errorf("delivery %v not delivered once", d)
		}
		if d["channel"] == "email" {
			emailDelivery = d["id"].(string)
		}
	}

	inbox := tn.must(200, tn.do("GET", "/v1/users/ada/notifications", nil))
	items := inbox.body["data"].([]any)
	if len(items) != 1 {
		t.Fatalf("inbox = %s", inbox.raw)
	}
	item := items[0].(map[string]any)
	if item["title"] != "PROJ-123 was assigned to you: Fix login bug" || item["read"] != false ||
		item["link"] != "https://app.example/issues/PROJ-123" {
		t.Errorf("inbox item = %v", item)
	}
	if data, _ := item["data"].(map[string]any); data["issue_key"] != "PROJ-123" {
		t.Errorf("inbox item lacks the event's data: %v", item["data"])
	}

	mails := mailFor(acc.str("event_id"))
	if len(mails) != 1 {
		t.Fatalf("caught %d emails for the event, want 1", len(mails))
	}
	m := mails[0]
	if m.Subject != "PROJ-123 was assigned to you: Fix login bug" || m.To[0] != "ada@example.com" {
		t.Errorf("email subject %q to %v", m.Subject, m.To)
	}
	if m.MessageID != activities.MessageID(mustUUID(t, emailDelivery), "e2e.test") {
		t.Errorf("Message-ID %q is not derived from delivery %s", m.MessageID, emailDelivery)
	}
	if !strings.Contains(m.Text, "is now assigned to you") || !strings.Contains(m.HTML, `href="https://app.example/issues/PROJ-123"`) {
		t.Errorf("email parts: text %q html %q", m.Text, m.HTML)
	}
}

func TestInboxReadStateAndPaging(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("bob", "bob@example.com")
	var last string
	for i := 0; i < 3; i++ {
		acc := tn.must(202, tn.do("POST", "/v1/events", assignEvent(fmt.Sprint("inbox-", i), "bob")))
		tn.waitEvent(acc.str("event_id"))
		last = acc.str("event_id")
	}
	if n := tn.must(200, tn.do("GET", "/v1/users/bob/notifications/unread_count", nil)).body["count"]; n != float64(3) {
		t.Fatalf("unread count = %v, want 3", n)
	}
	page1 := tn.must(200, tn.do("GET", "/v1/users/bob/notifications?limit=2", nil))
	items := page1.body["data"].([]any)
	if len(items) != 2 || page1.str("next_cursor") == "" {
		t.Fatalf("page 1 = %s", page1.raw)
	}
	if items[0].(map[string]any)["event_id"] != last {
		t.Errorf("inbox is not newest first")
	}
	page2 := tn.must(200, tn.do("GET", "/v1/users/bob/notifications?limit=2&cursor="+page1.str("next_cursor"), nil))
	if len(page2.body["data"].([]any)) != 1 || page2.body["next_cursor"] != nil {
		t.Fatalf("page 2 = %s", page2.raw)
	}

	first := items[0].(map[string]any)["id"].(string)
	read := tn.must(200, tn.do("PATCH", "/v1/users/bob/notifications/"+first+"/read", nil))
	if data, _ := read.body["data"].(map[string]any); read.body["read"] != true || data["issue_key"] != "PROJ-123" {
		t.Errorf("marked item = %s", read.raw)
	}
	unread := tn.must(200, tn.do("GET", "/v1/users/bob/notifications?unread=true", nil))
	if len(unread.body["data"].([]any)) != 2 {
		t.Errorf("unread list = %s", unread.raw)
	}
	if r := tn.must(200, tn.do("POST", "/v1/users/bob/notifications/mark_all_read", nil)); r.body["marked"] != float64(2) {
		t.Errorf("mark all read = %s", r.raw)
	}
	if n := tn.must(200, tn.do("GET", "/v1/users/bob/notifications/unread_count", nil)).body["count"]; n != float64(0) {
		t.Errorf("unread count after mark all = %v", n)
	}
	tn.must(404, tn.do("PATCH", "/v1/users/bob/notifications/00000000-0000-0000-0000-000000000000/read", nil))
	tn.must(404, tn.do("GET", "/v1/users/nobody/notifications", nil))

	// Another tenant sees none of it.
	other := newTenant(t)
	other.must(404, other.do("GET", "/v1/users/bob/notifications", nil))
	other.must(404, other.do("GET", "/v1/events/"+last, nil))
}

func TestIdempotencyUnderConcurrency(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("cy", "cy@example.com")
	const posts = 20
	var wg sync.WaitGroup
	results := make([]response, posts)
	for i := range posts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half use the header, half the field: both name the same key.
			if i%2 == 0 {
				body := assignEvent("", "cy")
				delete(body, "idempotency_key")
				results[i] = tn.do("POST", "/v1/events", body, "Idempotency-Key", "same-key")
			} else {
				results[i] = tn.do("POST", "/v1/events", assignEvent("same-key", "cy"))
			}
		}()
	}
	wg.Wait()
	firsts := 0
	for _, r := range results {
		if r.status != 202 {
			t.Fatalf("status %d: %s", r.status, r.raw)
		}
		if r.str("event_id") != results[0].str("event_id") || r.str("run_id") != results[0].str("run_id") {
			t.Fatalf("posts disagree: %s vs %s", r.raw, results[0].raw)
		}
		if r.body["duplicate"] == false {
			firsts++
		}
	}
	if firsts != 1 {
		t.Errorf("%d posts were reported as first, want exactly 1", firsts)
	}
	id := results[0].str("event_id")
	tn.waitEvent(id)
	if n := count(t, "SELECT count(*) FROM notifications WHERE event_id = $1", id); n != 1 {
		t.Errorf("%d inbox items, want 1", n)
	}
	if n := len(mailFor(id)); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
	if n := count(t, "SELECT count(*) FROM events WHERE tenant_id = $1", tn.id); n != 1 {
		t.Errorf("%d events stored, want 1", n)
	}
	// A repeat after completion is still the same event, not a second run.
	again := tn.must(202, tn.do("POST", "/v1/events", assignEvent("same-key", "cy")))
	if again.body["duplicate"] != true || again.str("run_id") != results[0].str("run_id") {
		t.Errorf("repeat after completion = %s", again.raw)
	}
	if n := len(mailFor(id)); n != 1 {
		t.Errorf("%d emails after a late repeat, want 1", n)
	}
}

func TestChangedBodyWithSameKeyConflicts(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("dee", "dee@example.com")
	first := tn.must(202, tn.do("POST", "/v1/events", assignEvent("k-409", "dee")))
	changed := assignEvent("k-409", "dee")
	changed["data"] = map[string]any{"issue_key": "PROJ-999"}
	r := tn.must(409, tn.do("POST", "/v1/events", changed))
	if r.errCode() != "idempotency_conflict" {
		t.Errorf("error = %s", r.raw)
	}
	tn.waitEvent(first.str("event_id"))
	if n := count(t, "SELECT count(*) FROM events WHERE tenant_id = $1", tn.id); n != 1 {
		t.Errorf("%d events stored, want 1", n)
	}

	// A retry gets the first answer even after its recipient is gone.
	tn.must(204, tn.do("DELETE", "/v1/users/dee", nil))
	again := tn.must(202, tn.do("POST", "/v1/events", assignEvent("k-409", "dee")))
	if again.body["duplicate"] != true || again.str("event_id") != first.str("event_id") {
		t.Errorf("retry after the user was deleted = %s", again.raw)
	}
}

func TestRecipientsByRoleAndCategory(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("owner1", "o1@example.com", "role", "owner")
	tn.putUser("member1", "m1@example.com")
	tn.putUser("noemail", "")

	// billing.payment_failed goes to owners by default.
	acc := tn.must(202, tn.do("POST", "/v1/events", map[string]any{"type": "billing.payment_failed", "data": map[string]any{"amount": "$10"}}))
	ev := tn.waitEvent(acc.str("event_id"))
	for _, d := range ev.body["deliveries"].([]any) {
		if d.(map[string]any)["user_id"] != "owner1" {
			t.Errorf("owner-only event reached %v", d)
		}
	}
	if len(ev.body["deliveries"].([]any)) != 2 {
		t.Errorf("deliveries = %s", ev.raw)
	}

	// system.notice goes to every subscriber; a user without an address gets
	// in-app and a skipped email with the reason.
	acc = tn.must(202, tn.do("POST", "/v1/events", map[string]any{"type": "system.notice", "data": map[string]any{"title": "Maintenance", "message": "Sunday"}}))
	ev = tn.waitEvent(acc.str("event_id"))
	recordHistory(t, acc.str("workflow_id"), "notify_subscribers")
	got := map[string]string{}
	for _, d := range ev.body["deliveries"].([]any) {
		d := d.(map[string]any)
		got[d["user_id"].(string)+"/"+d["channel"].(string)] = d["status"].(string) + ":" + fmt.Sprint(d["reason"])
	}
	want := map[string]string{
		"owner1/in_app": "delivered:", "owner1/email": "delivered:",
		"member1/in_app": "delivered:", "member1/email": "delivered:",
		"noemail/in_app": "delivered:", "noemail/email": "skipped:no_address",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("deliveries = %v, want %v", got, want)
	}
	if ev.str("status") != "delivered" {
		t.Errorf("status = %s", ev.str("status"))
	}

	// Explicit roles override the type's default.
	acc = tn.must(202, tn.do("POST", "/v1/events", map[string]any{"type": "system.notice", "recipients": map[string]any{"roles": []string{"owner"}}, "data": map[string]any{"title": "Maintenance"}}))
	ev = tn.waitEvent(acc.str("event_id"))
	if len(ev.body["deliveries"].([]any)) != 2 {
		t.Errorf("role-addressed deliveries = %s", ev.raw)
	}
}

// TestTenantEventTypeOverridesReachDelivery stores tenant definitions as
// PUT /v1/event-types will: a new type and an override of a built-in one.
func TestTenantEventTypeOverridesReachDelivery(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("kim", "kim@example.com")
	for key, def := range map[string]string{
		"deploy.finished": `{"category": "ops", "default_recipients": "named", "channels": ["in_app"],
			"templates": {"subject": "Deployed {{.data.version}}", "text": "Version {{.data.version}} is live."}}`,
		"issue.assigned": `{"channels": ["in_app"], "templates": {"subject": "Yours now: {{.data.issue_key}}", "text": "Take a look."}}`,
	} {
		if _, err := env.pool.Exec(context.Background(),
			`INSERT INTO event_types (tenant_id, key, definition) VALUES ($1, $2, $3)`, tn.id, key, def); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		body  map[string]any
		title string
	}{
		{map[string]any{"type": "deploy.finished", "recipients": map[string]any{"users": []string{"kim"}}, "data": map[string]any{"version": "1.2.3"}}, "Deployed 1.2.3"},
		{assignEvent("override-1", "kim"), "Yours now: PROJ-123"},
	} {
		acc := tn.must(202, tn.do("POST", "/v1/events", tc.body))
		ev := tn.waitEvent(acc.str("event_id"))
		deliveries := ev.body["deliveries"].([]any)
		if len(deliveries) != 1 || deliveries[0].(map[string]any)["channel"] != "in_app" {
			t.Errorf("%s: deliveries = %s, want in-app only", tc.title, ev.raw)
		}
		if n := count(t, "SELECT count(*) FROM notifications WHERE event_id = $1 AND title = $2", acc.str("event_id"), tc.title); n != 1 {
			t.Errorf("no inbox item titled %q", tc.title)
		}
	}
	// Other tenants still see the built-in type.
	other := newTenant(t)
	other.putUser("kim", "kim@example.com")
	acc := other.must(202, other.do("POST", "/v1/events", assignEvent("override-2", "kim")))
	if ev := other.waitEvent(acc.str("event_id")); len(ev.body["deliveries"].([]any)) != 2 {
		t.Errorf("another tenant's override leaked: %s", ev.raw)
	}
	other.must(422, other.do("POST", "/v1/events", map[string]any{"type": "deploy.finished", "recipients": map[string]any{"users": []string{"kim"}}}))
}
