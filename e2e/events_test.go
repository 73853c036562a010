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
	acc := tn.postEvent(assignEvent("evt-42", "ada"))
	if acc.Duplicate || acc.RunID == "" || !strings.HasPrefix(acc.WorkflowID, "notify/") {
		t.Fatalf("accepted = %+v", acc)
	}
	ev := tn.waitEvent(acc.EventID)
	recordHistory(t, acc.WorkflowID, "notify_single")
	if ev.Status != "delivered" || ev.WorkflowStatus != "completed" {
		t.Fatalf("event = %+v", ev)
	}
	if len(ev.Deliveries) != 2 {
		t.Fatalf("want an in_app and an email delivery, got %+v", ev.Deliveries)
	}
	var emailDelivery string
	for _, d := range ev.Deliveries {
		if d.Status != "delivered" || d.Attempts != 1 || d.DeliveredAt == nil {
			t.Errorf("delivery %+v not delivered once", d)
		}
		if d.Channel == "email" {
			emailDelivery = d.ID
		}
	}

	inbox := decodeAs[listPage[inboxItem]](t, tn.must(200, tn.do("GET", "/v1/users/ada/notifications", nil)))
	if len(inbox.Data) != 1 {
		t.Fatalf("inbox = %+v", inbox)
	}
	item := inbox.Data[0]
	if item.Title != "PROJ-123 was assigned to you: Fix login bug" || item.Read ||
		item.Link != "https://app.example/issues/PROJ-123" {
		t.Errorf("inbox item = %+v", item)
	}
	if data := unmarshalAs[issueData](t, item.Data); data.IssueKey != "PROJ-123" {
		t.Errorf("inbox item lacks the event's data: %s", item.Data)
	}

	mails := mailFor(acc.EventID)
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
		acc := tn.postEvent(assignEvent(fmt.Sprint("inbox-", i), "bob"))
		tn.waitEvent(acc.EventID)
		last = acc.EventID
	}
	if n := decodeAs[countView](t, tn.must(200, tn.do("GET", "/v1/users/bob/notifications/unread_count", nil))).Count; n != 3 {
		t.Fatalf("unread count = %d, want 3", n)
	}
	page1 := decodeAs[listPage[inboxItem]](t, tn.must(200, tn.do("GET", "/v1/users/bob/notifications?limit=2", nil)))
	if len(page1.Data) != 2 || page1.NextCursor == nil || *page1.NextCursor == "" {
		t.Fatalf("page 1 = %+v", page1)
	}
	if page1.Data[0].EventID != last {
		t.Errorf("inbox is not newest first")
	}
	page2 := decodeAs[listPage[inboxItem]](t, tn.must(200, tn.do("GET", "/v1/users/bob/notifications?limit=2&cursor="+*page1.NextCursor, nil)))
	if len(page2.Data) != 1 || page2.NextCursor != nil {
		t.Fatalf("page 2 = %+v", page2)
	}

	first := page1.Data[0].ID
	read := decodeAs[inboxItem](t, tn.must(200, tn.do("PATCH", "/v1/users/bob/notifications/"+first+"/read", nil)))
	if !read.Read || unmarshalAs[issueData](t, read.Data).IssueKey != "PROJ-123" {
		t.Errorf("marked item = %+v (data %s)", read, read.Data)
	}
	unread := decodeAs[listPage[inboxItem]](t, tn.must(200, tn.do("GET", "/v1/users/bob/notifications?unread=true", nil)))
	if len(unread.Data) != 2 {
		t.Errorf("unread list = %+v", unread)
	}
	if r := tn.must(200, tn.do("POST", "/v1/users/bob/notifications/mark_all_read", nil)); decodeAs[markedView](t, r).Marked != 2 {
		t.Errorf("mark all read = %s", r.raw)
	}
	if n := decodeAs[countView](t, tn.must(200, tn.do("GET", "/v1/users/bob/notifications/unread_count", nil))).Count; n != 0 {
		t.Errorf("unread count after mark all = %d", n)
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
	var first accepted
	for i, r := range results {
		if r.status != 202 {
			t.Fatalf("status %d: %s", r.status, r.raw)
		}
		acc := decodeAs[accepted](t, r)
		if i == 0 {
			first = acc
		}
		if acc.EventID != first.EventID || acc.RunID != first.RunID {
			t.Fatalf("posts disagree: %s vs %s", r.raw, results[0].raw)
		}
		if !acc.Duplicate {
			firsts++
		}
	}
	if firsts != 1 {
		t.Errorf("%d posts were reported as first, want exactly 1", firsts)
	}
	id := first.EventID
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
	again := tn.postEvent(assignEvent("same-key", "cy"))
	if !again.Duplicate || again.RunID != first.RunID {
		t.Errorf("repeat after completion = %+v", again)
	}
	if n := len(mailFor(id)); n != 1 {
		t.Errorf("%d emails after a late repeat, want 1", n)
	}
}

func TestChangedBodyWithSameKeyConflicts(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("dee", "dee@example.com")
	first := tn.postEvent(assignEvent("k-409", "dee"))
	changed := assignEvent("k-409", "dee")
	changed["data"] = map[string]any{"issue_key": "PROJ-999"}
	r := tn.must(409, tn.do("POST", "/v1/events", changed))
	if r.errCode() != "idempotency_conflict" {
		t.Errorf("error = %s", r.raw)
	}
	tn.waitEvent(first.EventID)
	if n := count(t, "SELECT count(*) FROM events WHERE tenant_id = $1", tn.id); n != 1 {
		t.Errorf("%d events stored, want 1", n)
	}

	// A retry gets the first answer even after its recipient is gone.
	tn.must(204, tn.do("DELETE", "/v1/users/dee", nil))
	again := tn.postEvent(assignEvent("k-409", "dee"))
	if !again.Duplicate || again.EventID != first.EventID {
		t.Errorf("retry after the user was deleted = %+v", again)
	}
}

func TestRecipientsByRoleAndCategory(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("owner1", "o1@example.com", "role", "owner")
	tn.putUser("member1", "m1@example.com")
	tn.putUser("noemail", "")

	// billing.payment_failed goes to owners by default.
	acc := tn.postEvent(map[string]any{"type": "billing.payment_failed", "data": map[string]any{"amount": "$10"}})
	ev := tn.waitEvent(acc.EventID)
	for _, d := range ev.Deliveries {
		if d.UserID != "owner1" {
			t.Errorf("owner-only event reached %+v", d)
		}
	}
	if len(ev.Deliveries) != 2 {
		t.Errorf("deliveries = %+v", ev.Deliveries)
	}

	// system.notice goes to every subscriber; a user without an address gets
	// in-app and a skipped email with the reason.
	acc = tn.postEvent(map[string]any{"type": "system.notice", "data": map[string]any{"title": "Maintenance", "message": "Sunday"}})
	ev = tn.waitEvent(acc.EventID)
	recordHistory(t, acc.WorkflowID, "notify_subscribers")
	got := map[string]string{}
	for _, d := range ev.Deliveries {
		got[d.UserID+"/"+d.Channel] = d.Status + ":" + d.Reason
	}
	want := map[string]string{
		"owner1/in_app": "delivered:", "owner1/email": "delivered:",
		"member1/in_app": "delivered:", "member1/email": "delivered:",
		"noemail/in_app": "delivered:", "noemail/email": "skipped:no_address",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("deliveries = %v, want %v", got, want)
	}
	if ev.Status != "delivered" {
		t.Errorf("status = %s", ev.Status)
	}

	// Explicit roles override the type's default.
	acc = tn.postEvent(map[string]any{"type": "system.notice", "recipients": map[string]any{"roles": []string{"owner"}}, "data": map[string]any{"title": "Maintenance"}})
	ev = tn.waitEvent(acc.EventID)
	if len(ev.Deliveries) != 2 {
		t.Errorf("role-addressed deliveries = %+v", ev.Deliveries)
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
		acc := tn.postEvent(tc.body)
		ev := tn.waitEvent(acc.EventID)
		if len(ev.Deliveries) != 1 || ev.Deliveries[0].Channel != "in_app" {
			t.Errorf("%s: deliveries = %+v, want in-app only", tc.title, ev.Deliveries)
		}
		if n := count(t, "SELECT count(*) FROM notifications WHERE event_id = $1 AND title = $2", acc.EventID, tc.title); n != 1 {
			t.Errorf("no inbox item titled %q", tc.title)
		}
	}
	// Other tenants still see the built-in type.
	other := newTenant(t)
	other.putUser("kim", "kim@example.com")
	acc := other.postEvent(assignEvent("override-2", "kim"))
	if ev := other.waitEvent(acc.EventID); len(ev.Deliveries) != 2 {
		t.Errorf("another tenant's override leaked: %+v", ev.Deliveries)
	}
	other.must(422, other.do("POST", "/v1/events", map[string]any{"type": "deploy.finished", "recipients": map[string]any{"users": []string{"kim"}}}))
}
