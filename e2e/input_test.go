package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("eve", "eve@example.com")
	big := `{"type":"issue.assigned","recipients":{"users":["eve"]},"data":{"x":"` + strings.Repeat("a", 1<<20) + `"}}`
	tests := []struct {
		name    string
		body    any
		headers []string
		status  int
		code    string
	}{
		{"unknown type", map[string]any{"type": "nope.nothing", "recipients": map[string]any{"users": []string{"eve"}}}, nil, 422, "unknown_event_type"},
		{"missing type", map[string]any{"recipients": map[string]any{"users": []string{"eve"}}}, nil, 400, "invalid_field"},
		{"named type without recipients", map[string]any{"type": "issue.assigned"}, nil, 400, "invalid_field"},
		{"empty recipients", map[string]any{"type": "issue.assigned", "recipients": map[string]any{}}, nil, 400, "invalid_field"},
		{"recipients not an object", map[string]any{"type": "issue.assigned", "recipients": []string{"eve"}}, nil, 400, "invalid_field"},
		{"bad role", map[string]any{"type": "issue.assigned", "recipients": map[string]any{"roles": []string{"king"}}}, nil, 400, "invalid_field"},
		{"bad user id", map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"a b"}}}, nil, 400, "invalid_field"},
		{"unknown user", map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"eve", "ghost"}}}, nil, 400, "unknown_recipients"},
		{"missing required data", map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"eve"}}, "data": map[string]any{"title": "x"}}, nil, 400, "missing_data"},
		{"data over 64 KiB", map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"eve"}}, "data": map[string]any{"issue_key": "A-1", "title": strings.Repeat("t", 70<<10)}}, nil, 413, "payload_too_large"},
		{"unknown field", map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"eve"}}, "colour": "red"}, nil, 400, "unknown_field"},
		{"malformed JSON", `{"type": "issue.assigned",`, nil, 400, "invalid_request"},
		{"trailing data", `{"type": "issue.assigned", "recipients": {"users": ["eve"]}} {}`, nil, 400, "invalid_request"},
		{"bad link", map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"eve"}}, "link": "javascript:alert(1)"}, nil, 400, "invalid_field"},
		{"key header and field differ", assignEvent("a", "eve"), []string{"Idempotency-Key", "b"}, 400, "invalid_request"},
		{"body over 1 MiB", big, nil, 413, "payload_too_large"},
		{"input type without its data", map[string]any{"type": "lead.scored", "data": map[string]any{"score": 70}}, nil, 400, "missing_data"},
		{"input type with recipients", map[string]any{"type": "lead.scored", "recipients": map[string]any{"users": []string{"eve"}}, "data": map[string]any{"lead_id": "l1", "score": 70}}, nil, 400, "invalid_field"},
		{"send_at over a year ahead", map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"eve"}}, "data": map[string]any{"issue_key": "A-1"}, "send_at": time.Now().AddDate(1, 1, 0)}, nil, 400, "invalid_field"},
	}
	for _, tt := range tests {
		r := tn.do("POST", "/v1/events", tt.body, tt.headers...)
		if r.status != tt.status || r.errCode() != tt.code {
			t.Errorf("%s: %d %s, want %d %s", tt.name, r.status, r.raw, tt.status, tt.code)
		}
		if r.errorBody().Error.Message == "" {
			t.Errorf("%s: error lacks a message: %s", tt.name, r.raw)
		}
	}
	if n := count(t, "SELECT count(*) FROM events WHERE tenant_id = $1", tn.id); n != 0 {
		t.Errorf("bad input stored %d events", n)
	}
	if n := count(t, "SELECT count(*) FROM deliveries WHERE tenant_id = $1", tn.id); n != 0 {
		t.Errorf("bad input stored %d deliveries", n)
	}

	r := tn.do("POST", "/v1/events", "type=issue.assigned", "Content-Type", "application/x-www-form-urlencoded")
	if r.status != http.StatusUnsupportedMediaType {
		t.Errorf("form body: %d %s", r.status, r.raw)
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	for _, key := range []string{"", "hk_notarealkeynotarealkey", "garbage"} {
		anon := &tenant{t: t, key: key, base: tn.base}
		r := anon.do("GET", "/v1/event-types", nil)
		if r.status != 401 || r.errCode() != "unauthorized" {
			t.Errorf("key %q: %d %s", key, r.status, r.raw)
		}
	}
	tn.must(200, tn.do("GET", "/v1/event-types", nil))
	if err := revoke(tn.key); err != nil {
		t.Fatal(err)
	}
	tn.must(401, tn.do("GET", "/v1/event-types", nil))
}

func TestUsers(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	u := decodeAs[userView](t, tn.must(201, tn.do("PUT", "/v1/users/u-1", map[string]any{"email": "u1@example.com", "name": "Ada", "timezone": "Europe/Berlin", "role": "owner", "slack_user_id": "U123"})))
	if u.Role != "owner" || u.Timezone != "Europe/Berlin" {
		t.Errorf("created = %+v", u)
	}
	u = decodeAs[userView](t, tn.must(200, tn.do("PUT", "/v1/users/u-1", map[string]any{"email": "new@example.com"})))
	if u.Email != "new@example.com" || u.Role != "owner" || u.Name != "Ada" {
		t.Errorf("partial update = %+v, want other fields kept", u)
	}
	u = decodeAs[userView](t, tn.must(200, tn.do("PUT", "/v1/users/u-1", map[string]any{"slack_user_id": ""})))
	if u.SlackUserID != "" {
		t.Errorf("empty string did not clear: %+v", u)
	}
	tn.must(200, tn.do("GET", "/v1/users/u-1", nil))
	// JSON answers are not HTML-escaped.
	if r := tn.must(200, tn.do("PUT", "/v1/users/u-1", map[string]any{"name": "Tom & Jerry <co>"})); !strings.Contains(string(r.raw), `"Tom & Jerry <co>"`) {
		t.Errorf("name came back as %s", r.raw)
	}
	for name, body := range map[string]map[string]any{
		"bad email": {"email": "not-an-email"},
		"bad zone":  {"timezone": "Mars/Olympus"},
		"bad role":  {"role": "admin"},
		"null role": {"role": ""},
		"unknown":   {"mail": "x@example.com"},
	} {
		if r := tn.do("PUT", "/v1/users/u-1", body); r.status != 400 {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
	if u := decodeAs[userView](t, tn.must(200, tn.do("GET", "/v1/users/u-1", nil))); u.Email != "new@example.com" {
		t.Errorf("bad input changed the user: %+v", u)
	}
	tn.must(400, tn.do("PUT", "/v1/users/has%20space", map[string]any{}))
	tn.must(204, tn.do("DELETE", "/v1/users/u-1", nil))
	tn.must(404, tn.do("GET", "/v1/users/u-1", nil))
	tn.must(404, tn.do("DELETE", "/v1/users/u-1", nil))
}

func TestCatalogHealthAndRoutes(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	all := decodeAs[listPage[eventTypeView]](t, tn.must(200, tn.do("GET", "/v1/event-types?limit=200", nil)))
	keys := map[string]bool{}
	for _, e := range all.Data {
		keys[e.Key] = true
	}
	for _, k := range []string{"issue.assigned", "outreach.prospect_replied", "lead.scored", "approval.executive_alert", "usage.quota_reached"} {
		if !keys[k] {
			t.Errorf("catalog lacks %s", k)
		}
	}
	// The catalog pages like every list.
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		page := decodeAs[listPage[eventTypeView]](t, tn.must(200, tn.do("GET", "/v1/event-types?limit=10&cursor="+cursor, nil)))
		for _, e := range page.Data {
			seen[e.Key] = true
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != len(keys) {
		t.Errorf("paging saw %d types, one page of all saw %d", len(seen), len(keys))
	}
	tn.must(200, tn.do("GET", "/healthz", nil))
	if r := tn.must(200, tn.do("GET", "/readyz", nil)); decodeAs[statusView](t, r).Status != "ready" {
		t.Errorf("readyz = %s", r.raw)
	}
	if r := tn.do("GET", "/v1/nothing-here", nil); r.status != 404 || r.errCode() != "not_found" {
		t.Errorf("unknown route = %d %s", r.status, r.raw)
	}
	if r := tn.do("GET", "/openapi.json", nil); r.status != 200 || decodeAs[openAPIView](t, r).OpenAPI == "" {
		t.Errorf("openapi = %d", r.status)
	}
}
