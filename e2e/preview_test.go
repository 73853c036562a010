package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

type previewDecisionView struct {
	WouldSend  bool   `json:"would_send"`
	Reason     string `json:"reason,omitempty"`
	QuietHours bool   `json:"quiet_hours,omitempty"`
}

type previewView struct {
	Type     string  `json:"type"`
	UserID   *string `json:"user_id"`
	Urgent   bool    `json:"urgent"`
	Channels struct {
		InApp *struct {
			previewDecisionView
			Title string `json:"title"`
			Body  string `json:"body"`
		} `json:"in_app,omitempty"`
		Email *struct {
			previewDecisionView
			To      string `json:"to"`
			Subject string `json:"subject"`
			Text    string `json:"text"`
			HTML    string `json:"html"`
		} `json:"email,omitempty"`
		Slack *struct {
			previewDecisionView
			DM       bool              `json:"dm"`
			Channels []string          `json:"channels"`
			Text     string            `json:"text"`
			Blocks   []json.RawMessage `json:"blocks"`
		} `json:"slack,omitempty"`
		Webhook *struct {
			previewDecisionView
			UserEndpoint   bool `json:"user_endpoint"`
			TenantEndpoint bool `json:"tenant_endpoint"`
			Payload        struct {
				EventID   string          `json:"event_id"`
				EventType string          `json:"event_type"`
				Timestamp time.Time       `json:"timestamp"`
				Data      json.RawMessage `json:"data"`
			} `json:"payload"`
		} `json:"webhook,omitempty"`
	} `json:"channels"`
}

// mailAddressedTo counts the caught messages addressed to one address.
func mailAddressedTo(address string) int {
	n := 0
	for _, m := range env.mail.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, address) {
				n++
			}
		}
	}
	return n
}

// A preview shows what each channel would carry and whether the user would
// get it, and sends, stores and starts nothing: after previews for users
// with every channel set up, one real event is the only thing the SMTP
// catcher, Slack and the webhook receiver ever see.
func TestPreviewSendsNothing(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	suffix := tn.id.String()[:8]
	route, dm := "#preview-"+suffix, "UPREV"+strings.ToUpper(suffix)
	tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{
		"bot_token": "xoxb-e2e", "routes": []map[string]any{{"channel": route, "purposes": []string{"issues"}}}}))
	hook := newHookServer(t)
	tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": hook.URL}))
	mia, ben := "mia-"+suffix+"@example.com", "ben-"+suffix+"@example.com"
	tn.putUser("mia", mia)
	tn.putUser("ben", ben, "slack_user_id", dm)
	tn.must(200, tn.do("PUT", "/v1/users/mia/preferences", map[string]any{"channels": map[string]any{"email": map[string]any{"enabled": false}}}))

	data := map[string]any{"issue_key": "PRV-1", "title": "Fix login"}
	for range 3 {
		p := decodeAs[previewView](t, tn.must(200, tn.do("POST", "/v1/event-types/issue.assigned/preview",
			map[string]any{"user_id": "mia", "data": data, "link": "https://app.example/issues/PRV-1"})))
		e := p.Channels.Email
		if e == nil || e.WouldSend || e.Reason != "preference_disabled" || e.Subject != "PRV-1 was assigned to you: Fix login" ||
			!strings.Contains(e.Text, "Hi User,") || !strings.Contains(e.HTML, "Fix login") || e.To != mia {
			t.Fatalf("mia's email preview: %+v", e)
		}
		if a := p.Channels.InApp; a == nil || !a.WouldSend || a.Title != e.Subject {
			t.Errorf("mia's in-app preview: %+v", a)
		}
		if s := p.Channels.Slack; s == nil || !s.WouldSend || s.DM || len(s.Channels) != 1 || s.Channels[0] != route || len(s.Blocks) == 0 {
			t.Errorf("mia's Slack preview (no Slack user, a routed post): %+v", s)
		}
		if w := p.Channels.Webhook; w == nil || !w.WouldSend || !w.TenantEndpoint || w.Payload.EventType != "issue.assigned" ||
			string(w.Payload.Data) != `{"issue_key":"PRV-1","title":"Fix login"}` {
			t.Errorf("mia's webhook preview: %+v", w)
		}
		p = decodeAs[previewView](t, tn.must(200, tn.do("POST", "/v1/event-types/issue.assigned/preview", map[string]any{"user_id": "ben", "data": data})))
		if e := p.Channels.Email; e == nil || !e.WouldSend || e.To != ben {
			t.Errorf("ben's email preview: %+v", e)
		}
		if s := p.Channels.Slack; s == nil || !s.DM {
			t.Errorf("ben's Slack preview: %+v", s)
		}
		sample := decodeAs[previewView](t, tn.must(200, tn.do("POST", "/v1/event-types/issue.assigned/preview", map[string]any{"data": data})))
		if sample.UserID != nil || sample.Channels.Email == nil || !sample.Channels.Email.WouldSend {
			t.Errorf("the sample recipient's preview: %+v", sample)
		}
	}
	if n := count(t, "SELECT count(*) FROM events WHERE tenant_id = $1", tn.id); n != 0 {
		t.Fatalf("previews stored %d events", n)
	}

	// One real event: it, and only it, arrives everywhere.
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"mia", "ben"}}, "data": data})
	if ev := tn.waitSettled(acc.EventID, time.Minute); ev.Status != "delivered" {
		t.Fatalf("the real event: %s %+v", ev.Status, ev.Deliveries)
	}
	waitFor(t, 10*time.Second, "the real event's sends", func() bool {
		return mailAddressedTo(ben) == 1 && len(slackPosts(route)) == 1 && len(slackPosts(dm)) == 1 && len(hook.calls()) == 1
	})
	time.Sleep(500 * time.Millisecond) // anything else on its way would land now
	if m, b, r, d, h := mailAddressedTo(mia), mailAddressedTo(ben), len(slackPosts(route)), len(slackPosts(dm)), len(hook.calls()); m != 0 || b != 1 || r != 1 || d != 1 || h != 1 {
		t.Errorf("mail to mia %d, to ben %d; Slack posts %d, DMs %d; webhook calls %d: want 0 1 1 1 1", m, b, r, d, h)
	}
	if n := count(t, "SELECT count(*) FROM notifications WHERE tenant_id = $1", tn.id); n != 2 {
		t.Errorf("%d inbox items, want the real event's 2", n)
	}
}

// Data that drives a template past a bound of rendering is refused as a
// PUT of such a template is; bad requests are refused in the contract's
// terms.
func TestPreviewRefusals(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("dev", "dev-preview@example.com")
	// Fine with the little data a PUT tries; ten copies of 60 KiB are not.
	tn.must(201, tn.do("PUT", "/v1/event-types/deploy.previewed", map[string]any{"category": "deploys", "title": "Deployed",
		"templates": map[string]any{"text": "{{range .data.items}}{{$.data.blob}}{{end}}"}}))
	r := tn.do("POST", "/v1/event-types/deploy.previewed/preview", map[string]any{"user_id": "dev",
		"data": map[string]any{"items": make([]int, 10), "blob": strings.Repeat("x", 60<<10)}})
	if r.status != 422 || r.errCode() != "invalid_template" || r.errorBody().Error.Details["bound"] != "output" {
		t.Errorf("a preview past the output bound: %d %.300s", r.status, r.raw)
	}
	for _, tc := range []struct {
		key    string
		body   any
		status int
		code   string
	}{
		{"no.such_type", map[string]any{"data": map[string]any{}}, 404, "not_found"},
		{"issue.assigned", map[string]any{"data": map[string]any{}}, 400, "missing_data"},
		{"issue.assigned", map[string]any{"data": []int{1}}, 400, "invalid_field"},
		{"issue.assigned", map[string]any{"data": map[string]any{"issue_key": strings.Repeat("x", 70<<10)}}, 413, "payload_too_large"},
		{"issue.assigned", map[string]any{"user_id": "nobody", "data": map[string]any{"issue_key": "X-1"}}, 404, "not_found"},
		{"issue.assigned", map[string]any{"channel": "pager", "data": map[string]any{"issue_key": "X-1"}}, 400, "invalid_field"},
		{"issue.assigned", map[string]any{"channel": "push", "data": map[string]any{"issue_key": "X-1"}}, 422, "channel_not_available"},
		{"issue.assigned", map[string]any{"colour": "red", "data": map[string]any{"issue_key": "X-1"}}, 400, "unknown_field"},
		{"lead.scored", map[string]any{"data": map[string]any{}}, 422, "input_event_type"},
		{"herald.digest", map[string]any{"data": map[string]any{}}, 422, "internal_event_type"},
	} {
		if r := tn.do("POST", "/v1/event-types/"+tc.key+"/preview", tc.body); r.status != tc.status || r.errCode() != tc.code {
			t.Errorf("preview %s %.200v: %d %.300s, want %d %s", tc.key, tc.body, r.status, r.raw, tc.status, tc.code)
		}
	}
	one := decodeAs[previewView](t, tn.must(200, tn.do("POST", "/v1/event-types/issue.assigned/preview",
		map[string]any{"channel": "email", "data": map[string]any{"issue_key": "X-1"}})))
	if one.Channels.Email == nil || one.Channels.InApp != nil || one.Channels.Slack != nil || one.Channels.Webhook != nil {
		t.Errorf("channel=email answered %+v", one.Channels)
	}
}

type versionView struct {
	Version    int       `json:"version"`
	CreatedAt  time.Time `json:"created_at"`
	Definition struct {
		Category   *string           `json:"category"`
		Title      *string           `json:"title"`
		Urgent     *bool             `json:"urgent"`
		Recipients *string           `json:"default_recipients"`
		Channels   []string          `json:"channels"`
		Templates  map[string]string `json:"templates"`
		Required   []string          `json:"required_data"`
	} `json:"definition"`
}

type versionsView struct {
	Data       []versionView `json:"data"`
	NextCursor *string       `json:"next_cursor"`
}

// Each PUT of an event type is kept as a version; PUTting an old version
// back rolls the type back, fields it did not set included, and what users
// receive follows.
func TestEventTypeVersionsRollBack(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("dev", "dev-versions-"+tn.id.String()[:8]+"@example.com")
	const path = "/v1/event-types/deploy.versioned"
	base := map[string]any{"category": "deploys", "title": "Deployed", "default_recipients": "named", "channels": []string{"email"},
		"templates": map[string]any{"subject": "v1: {{.data.service}} is live", "text": "{{.data.service}} was deployed."}}
	tn.must(201, tn.do("PUT", path, base))
	tn.must(200, tn.do("PUT", path, map[string]any{"urgent": true, "templates": map[string]any{"subject": "v2: {{.data.service}}", "text": "two"}}))
	v3 := map[string]any{"templates": map[string]any{"subject": "v3: {{.data.service}} broke", "text": "three"}}
	tn.must(200, tn.do("PUT", path, v3))
	// The same PUT again (a client retrying) is no new version.
	tn.must(200, tn.do("PUT", path, v3))
	// A refused PUT is no version.
	if r := tn.do("PUT", path, map[string]any{"templates": map[string]any{"text": "{{.data.service"}}); r.status != 422 {
		t.Fatalf("a broken template: %d %s", r.status, r.raw)
	}

	got := decodeAs[versionsView](t, tn.must(200, tn.do("GET", path+"/versions", nil)))
	if len(got.Data) != 3 || got.Data[0].Version != 3 || got.Data[2].Version != 1 || got.NextCursor != nil {
		t.Fatalf("versions after three PUTs: %+v", got)
	}
	v1 := got.Data[2]
	if v1.CreatedAt.IsZero() || v1.Definition.Templates["subject"] != "v1: {{.data.service}} is live" || v1.Definition.Urgent != nil {
		t.Errorf("version 1: %+v", v1)
	}
	if u := got.Data[1].Definition.Urgent; u == nil || !*u {
		t.Errorf("version 2 lost urgent: %+v", got.Data[1].Definition)
	}
	first := decodeAs[versionsView](t, tn.must(200, tn.do("GET", path+"/versions?limit=2", nil)))
	if len(first.Data) != 2 || first.NextCursor == nil {
		t.Fatalf("the first page of 2: %+v", first)
	}
	rest := decodeAs[versionsView](t, tn.must(200, tn.do("GET", path+"/versions?limit=2&cursor="+*first.NextCursor, nil)))
	if len(rest.Data) != 1 || rest.Data[0].Version != 1 || rest.NextCursor != nil {
		t.Errorf("the second page: %+v", rest)
	}

	// Roll back: the definition as listed, nulls and all.
	def, _ := json.Marshal(v1.Definition)
	tn.must(200, tn.do("PUT", path, def))
	acc := tn.postEvent(map[string]any{"type": "deploy.versioned", "recipients": map[string]any{"users": []string{"dev"}},
		"data": map[string]any{"service": "billing"}})
	tn.waitEvent(acc.EventID)
	if mail := mailFor(acc.EventID); len(mail) != 1 || mail[0].Subject != "v1: billing is live" || !strings.Contains(mail[0].Text, "billing was deployed.") {
		t.Errorf("the email after the rollback: %v", subjects(mail))
	}
	if ev := tn.event(acc.EventID); ev.Type != "deploy.versioned" {
		t.Errorf("event: %+v", ev)
	}
	var urgent bool
	for _, typ := range decodeAs[struct {
		Data []struct {
			Key    string `json:"key"`
			Urgent bool   `json:"urgent"`
		} `json:"data"`
	}](t, tn.must(200, tn.do("GET", "/v1/event-types?limit=200", nil))).Data {
		if typ.Key == "deploy.versioned" {
			urgent = typ.Urgent
		}
	}
	if urgent {
		t.Errorf("the rollback kept version 2's urgent")
	}
	got = decodeAs[versionsView](t, tn.must(200, tn.do("GET", path+"/versions", nil)))
	if len(got.Data) != 4 || got.Data[0].Version != 4 || got.Data[0].Definition.Templates["subject"] != v1.Definition.Templates["subject"] {
		t.Errorf("versions after the rollback: %+v", got.Data)
	}

	// Only the last 20 are kept.
	for i := range 20 {
		tn.must(200, tn.do("PUT", path, map[string]any{"title": "Deployed " + string(rune('a'+i))}))
	}
	all := decodeAs[versionsView](t, tn.must(200, tn.do("GET", path+"/versions?limit=200", nil)))
	if len(all.Data) != 20 || all.Data[0].Version != 24 || all.Data[19].Version != 5 {
		t.Errorf("after 24 PUTs: %d versions, %d to %d", len(all.Data), all.Data[0].Version, all.Data[len(all.Data)-1].Version)
	}

	if r := tn.do("GET", "/v1/event-types/no.such_type/versions", nil); r.status != 404 {
		t.Errorf("versions of an unknown type: %d %s", r.status, r.raw)
	}
	if r := tn.do("GET", path+"/versions?cursor=bogus", nil); r.status != 400 {
		t.Errorf("a bad cursor: %d %s", r.status, r.raw)
	}
	// A built-in the tenant never changed has none; another tenant sees none.
	if b := decodeAs[versionsView](t, tn.must(200, tn.do("GET", "/v1/event-types/issue.assigned/versions", nil))); len(b.Data) != 0 {
		t.Errorf("an unchanged built-in: %+v", b)
	}
	if r := newTenant(t).do("GET", path+"/versions", nil); r.status != 404 {
		t.Errorf("another tenant's versions: %d %s", r.status, r.raw)
	}
}
