package e2e

import (
	"strings"
	"testing"
)

// A tenant adds its own event type and changes a built-in one; events of
// both read as the tenant wrote them, and bad definitions change nothing.
func TestTenantEventTypes(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("dev", "dev-types@example.com")

	def := map[string]any{"category": "deploys", "title": "Deploy finished", "default_recipients": "named",
		"channels": []string{"in_app", "email"}, "required_data": []string{"service"},
		"templates": map[string]any{"subject": "{{.data.service}} is live", "text": "{{.data.service}} was deployed{{with .data.version}} at {{.}}{{end}}.", "action": "Open the service"}}
	created := tn.must(201, tn.do("PUT", "/v1/event-types/deploy.finished", def))
	if !strings.Contains(string(created.raw), `"built_in":false`) || !strings.Contains(string(created.raw), `"category":"deploys"`) {
		t.Errorf("the created type: %s", created.raw)
	}
	tn.must(200, tn.do("PUT", "/v1/event-types/deploy.finished", def))
	if list := tn.must(200, tn.do("GET", "/v1/event-types?limit=100", nil)); !strings.Contains(string(list.raw), `"key":"deploy.finished"`) {
		t.Errorf("the catalog lacks the tenant's type: %s", list.raw)
	}
	if r := tn.do("POST", "/v1/events", map[string]any{"type": "deploy.finished", "recipients": map[string]any{"users": []string{"dev"}}}); r.status != 400 || r.errCode() != "missing_data" {
		t.Errorf("an event without the type's required data: %d %s", r.status, r.raw)
	}
	acc := tn.postEvent(map[string]any{"type": "deploy.finished", "recipients": map[string]any{"users": []string{"dev"}},
		"data": map[string]any{"service": "billing", "version": "v42"}, "link": "https://deploys.example/42"})
	tn.waitEvent(acc.EventID)
	mail := mailFor(acc.EventID)
	if len(mail) != 1 || mail[0].Subject != "billing is live" || !strings.Contains(mail[0].Text, "billing was deployed at v42.") ||
		!strings.Contains(mail[0].HTML, "Open the service") {
		t.Fatalf("the tenant type's email: %d %v", len(mail), mail)
	}
	// Users can turn the new category off like any other.
	tn.must(200, tn.do("PUT", "/v1/users/dev/preferences", map[string]any{"categories": map[string]any{"deploys": map[string]any{"email": false}}}))

	// A built-in changed in its subject only keeps its body.
	tn.must(200, tn.do("PUT", "/v1/event-types/issue.assigned", map[string]any{"templates": map[string]any{"subject": "[Tracker] {{.data.issue_key}} is yours"}}))
	acc = tn.postEvent(assignEvent("assign-1", "dev"))
	tn.waitEvent(acc.EventID)
	if mail := mailFor(acc.EventID); len(mail) != 1 || !strings.HasPrefix(mail[0].Subject, "[Tracker] ") || !strings.Contains(mail[0].Text, "is now assigned to you") {
		t.Errorf("the changed built-in's email: %v", subjects(mail))
	}

	rows := count(t, "SELECT count(*) FROM event_types WHERE tenant_id = $1", tn.id)
	for _, tc := range []struct {
		key    string
		body   any
		status int
		code   string
	}{
		{"deploy.started", map[string]any{"category": "deploys", "title": "Deploy started", "templates": map[string]any{"text": "{{.data.service"}}, 422, "invalid_template"},
		{"deploy.started", map[string]any{"category": "deploys", "title": "Deploy started", "templates": map[string]any{"text": "{{nosuchfunc .data}}"}}, 422, "invalid_template"},
		{"deploy.started", map[string]any{"category": "deploys", "title": "Deploy started"}, 400, "invalid_field"},
		{"deploy.started", map[string]any{"category": "Deploys!", "title": "x", "templates": map[string]any{"text": "x"}}, 400, "invalid_field"},
		{"deploy.started", map[string]any{"category": "deploys", "title": "x", "channels": []string{"pager"}, "templates": map[string]any{"text": "x"}}, 400, "invalid_field"},
		{"deploy.started", map[string]any{"category": "deploys", "title": "x", "templates": map[string]any{"text": "x", "footer": "y"}}, 400, "invalid_field"},
		{"deploy.started", map[string]any{"category": "deploys", "title": "x", "colour": "red", "templates": map[string]any{"text": "x"}}, 400, "unknown_field"},
		{"Deploy", map[string]any{"category": "deploys", "title": "x", "templates": map[string]any{"text": "x"}}, 400, "invalid_field"},
		{"herald.digest", map[string]any{"title": "My digest"}, 422, "internal_event_type"},
		{"lead.scored", map[string]any{"title": "Scored"}, 422, "input_event_type"},
	} {
		if r := tn.do("PUT", "/v1/event-types/"+tc.key, tc.body); r.status != tc.status || r.errCode() != tc.code {
			t.Errorf("PUT %s %v: %d %s, want %d %s", tc.key, tc.body, r.status, r.raw, tc.status, tc.code)
		}
	}
	if n := count(t, "SELECT count(*) FROM event_types WHERE tenant_id = $1", tn.id); n != rows {
		t.Errorf("refused definitions stored %d rows", n-rows)
	}
	// Another tenant sees none of it.
	other := newTenant(t)
	if r := other.do("POST", "/v1/events", map[string]any{"type": "deploy.finished", "data": map[string]any{"service": "x"}}); r.status != 422 {
		t.Errorf("another tenant posted the first's type: %d %s", r.status, r.raw)
	}
}
