package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/dev/mailcatch"
)

// preferencesView is GET /v1/users/{id}/preferences' answer.
type preferencesView struct {
	Channels   map[string]channelView     `json:"channels,omitempty"`
	Categories map[string]map[string]bool `json:"categories,omitempty"`
	Events     map[string]map[string]bool `json:"events,omitempty"`
	QuietHours *quietView                 `json:"quiet_hours,omitempty"`
	Effective  struct {
		Channels   map[string]channelView         `json:"channels"`
		Categories map[string]map[string]bool     `json:"categories"`
		Events     map[string]map[string]bool     `json:"events"`
		QuietHours quietView                      `json:"quiet_hours"`
		Required   map[string]map[string][]string `json:"required"`
	} `json:"effective"`
}

type channelView struct {
	Enabled   *bool  `json:"enabled,omitempty"`
	Frequency string `json:"frequency,omitempty"`
}

type quietView struct {
	Enabled  bool   `json:"enabled"`
	Start    string `json:"start,omitempty"`
	End      string `json:"end,omitempty"`
	Timezone string `json:"timezone,omitempty"`
	Weekends bool   `json:"weekends,omitempty"`
}

type settingsView struct {
	Defaults      json.RawMessage                `json:"defaults"`
	Required      map[string]map[string][]string `json:"required"`
	Timezone      string                         `json:"timezone"`
	LeadThreshold int                            `json:"lead_threshold"`
}

func (tn *tenant) preferences(user string) preferencesView {
	tn.t.Helper()
	return decodeAs[preferencesView](tn.t, tn.must(200, tn.do("GET", "/v1/users/"+user+"/preferences", nil)))
}

func TestPreferencesDocumentOverTenantDefaults(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("ada", "ada@example.com", "timezone", "Asia/Tokyo")

	fresh := tn.preferences("ada")
	if fresh.Channels != nil || fresh.Effective.Channels["email"].Enabled == nil || !*fresh.Effective.Channels["email"].Enabled ||
		fresh.Effective.Channels["email"].Frequency != "immediate" {
		t.Errorf("a new user's preferences = %+v, want nothing stored and every channel on, email immediate", fresh)
	}

	settings := map[string]any{
		"defaults": map[string]any{
			"channels":    map[string]any{"slack": map[string]any{"enabled": false}},
			"categories":  map[string]any{"outreach": map[string]any{"email": false}},
			"quiet_hours": map[string]any{"enabled": true, "start": "21:00", "end": "07:00"},
		},
		"required":       map[string]any{"events": map[string]any{"billing.payment_failed": []string{"email"}}},
		"timezone":       "America/Chicago",
		"lead_threshold": 70,
	}
	got := decodeAs[settingsView](t, tn.must(200, tn.do("PUT", "/v1/tenant/settings", settings)))
	if got.Timezone != "America/Chicago" || got.LeadThreshold != 70 || got.Required["events"]["billing.payment_failed"][0] != "email" {
		t.Errorf("PUT settings answered %+v", got)
	}
	if again := decodeAs[settingsView](t, tn.must(200, tn.do("GET", "/v1/tenant/settings", nil))); again.Timezone != "America/Chicago" || string(again.Defaults) != string(got.Defaults) {
		t.Errorf("GET settings = %+v, want what was stored: %+v", again, got)
	}

	doc := map[string]any{
		"channels":   map[string]any{"email": map[string]any{"frequency": "daily"}},
		"categories": map[string]any{"outreach": map[string]any{"email": true}},
		"events":     map[string]any{"issue.assigned": map[string]any{"slack": true}},
	}
	put := decodeAs[preferencesView](t, tn.must(200, tn.do("PUT", "/v1/users/ada/preferences", doc)))
	p := tn.preferences("ada")
	for name, v := range map[string]preferencesView{"PUT": put, "GET": p} {
		e := v.Effective
		switch {
		case v.Channels["email"].Frequency != "daily" || v.QuietHours != nil:
			t.Errorf("%s: stored document = %+v, want exactly what was put", name, v)
		case e.Channels["slack"].Enabled == nil || *e.Channels["slack"].Enabled:
			t.Errorf("%s: effective slack = %+v, want off by the tenant default", name, e.Channels["slack"])
		case !e.Categories["outreach"]["email"]:
			t.Errorf("%s: effective outreach email off; the user's on must win over the tenant's off", name)
		case e.Channels["email"].Frequency != "daily":
			t.Errorf("%s: effective email frequency %q, want daily", name, e.Channels["email"].Frequency)
		case !e.QuietHours.Enabled || e.QuietHours.Start != "21:00" || e.QuietHours.Timezone != "Asia/Tokyo":
			t.Errorf("%s: effective quiet hours %+v, want the tenant's 21:00-07:00 in the user's zone", name, e.QuietHours)
		case !e.Events["billing.payment_failed"]["email"] || e.Required["events"]["billing.payment_failed"][0] != "email":
			t.Errorf("%s: effective does not show the required billing email: %+v", name, e)
		}
	}
}

func TestPreferencesRefusals(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("bob", "bob@example.com")
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{
		"required": map[string]any{"events": map[string]any{"billing.payment_failed": []string{"email"}}, "categories": map[string]any{"issues": []string{"in_app"}}},
	}))
	stored := map[string]any{"channels": map[string]any{"email": map[string]any{"enabled": true}}}
	tn.must(200, tn.do("PUT", "/v1/users/bob/preferences", stored))
	before := tn.do("GET", "/v1/users/bob/preferences", nil).raw

	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   string
		field  string
	}{
		{"bad HH:MM", `{"quiet_hours":{"enabled":true,"start":"22:00","end":"8:00"}}`, 400, "invalid_field", "quiet_hours.end"},
		{"unknown zone", `{"quiet_hours":{"enabled":true,"start":"22:00","end":"08:00","timezone":"Europe/Atlantis"}}`, 400, "invalid_field", "quiet_hours.timezone"},
		{"unknown channel", `{"channels":{"pager":{"enabled":true}}}`, 400, "invalid_field", "channels.pager"},
		{"unknown category", `{"categories":{"marketing":{"email":false}}}`, 400, "invalid_field", "categories.marketing"},
		{"unknown event type", `{"events":{"issue.deleted":{"email":false}}}`, 400, "invalid_field", "events.issue.deleted"},
		{"bad frequency", `{"channels":{"email":{"frequency":"sometimes"}}}`, 400, "invalid_field", "channels.email.frequency"},
		{"unknown field", `{"channels":{},"mood":"quiet"}`, 400, "", ""},
		{"unknown nested field", `{"quiet_hours":{"enabled":true,"start":"22:00","end":"08:00","days":[1]}}`, 400, "", ""},
		{"required event type off", `{"events":{"billing.payment_failed":{"email":false}}}`, 422, "required_notification", "events.billing.payment_failed.email"},
		{"required category off", `{"categories":{"issues":{"in_app":false}}}`, 422, "required_notification", "categories.issues.in_app"},
		{"event type in a required category off", `{"events":{"issue.assigned":{"in_app":false}}}`, 422, "required_notification", "events.issue.assigned.in_app"},
	} {
		r := tn.do("PUT", "/v1/users/bob/preferences", tc.body)
		e := r.errorBody().Error
		if r.status != tc.status || (tc.code != "" && e.Code != tc.code) || (tc.field != "" && e.Details["field"] != tc.field) {
			t.Errorf("%s: %d %s, want %d %s naming %q", tc.name, r.status, r.raw, tc.status, tc.code, tc.field)
		}
	}
	if after := tn.do("GET", "/v1/users/bob/preferences", nil).raw; string(after) != string(before) {
		t.Errorf("refused documents changed what is stored:\nbefore %s\nafter  %s", before, after)
	}
	// Turning the whole channel off is allowed: required email still arrives.
	tn.must(200, tn.do("PUT", "/v1/users/bob/preferences", `{"channels":{"email":{"enabled":false}}}`))

	if r := tn.do("GET", "/v1/users/nobody/preferences", nil); r.status != 404 {
		t.Errorf("GET preferences of a missing user: %d %s", r.status, r.raw)
	}
	if r := tn.do("PUT", "/v1/users/nobody/preferences", `{}`); r.status != 404 {
		t.Errorf("PUT preferences of a missing user: %d %s", r.status, r.raw)
	}
	settingsBefore := tn.do("GET", "/v1/tenant/settings", nil).raw
	for body, field := range map[string]string{
		`{"timezone":"Mars/Olympus"}`:                           "timezone",
		`{"required":{"events":{"nope.never":["email"]}}}`:      "required.events.nope.never",
		`{"defaults":{"categories":{"outreach":{"fax":true}}}}`: "defaults.categories.outreach.fax",
		`{"lead_threshold":500}`:                                "lead_threshold",
	} {
		r := tn.do("PUT", "/v1/tenant/settings", body)
		if r.status != 400 || r.errorBody().Error.Details["field"] != field {
			t.Errorf("PUT settings %s: %d %s, want 400 naming %s", body, r.status, r.raw, field)
		}
	}
	if after := tn.do("GET", "/v1/tenant/settings", nil).raw; string(after) != string(settingsBefore) {
		t.Errorf("refused settings changed what is stored")
	}
}

// TestPreferencesDecideDeliveries posts real events and reads each delivery's
// outcome and reason, and the mail that arrived.
func TestPreferencesDecideDeliveries(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{
		"required": map[string]any{"events": map[string]any{"billing.payment_failed": []string{"email"}}},
	}))
	tn.putUser("owner", "owner@example.com", "role", "owner")
	tn.putUser("quietcat", "quietcat@example.com")
	tn.putUser("noinbox", "noinbox@example.com")
	tn.putUser("nomail", "")
	tn.must(200, tn.do("PUT", "/v1/users/owner/preferences", `{"channels":{"email":{"enabled":false}}}`))
	tn.must(200, tn.do("PUT", "/v1/users/quietcat/preferences", `{"categories":{"issues":{"email":false}}}`))
	tn.must(200, tn.do("PUT", "/v1/users/noinbox/preferences", `{"events":{"issue.assigned":{"in_app":false}}}`))

	assigned := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"owner", "quietcat", "noinbox", "nomail"}},
		"data": map[string]any{"issue_key": "PREF-1"}})
	ev := tn.waitSettled(assigned.EventID, time.Minute)
	want := map[string]string{
		"owner/email": "skipped preference_disabled", "owner/in_app": "delivered ",
		"quietcat/email": "skipped category_unsubscribed", "quietcat/in_app": "delivered ",
		"noinbox/email": "delivered ", "noinbox/in_app": "skipped preference_disabled",
		"nomail/email": "skipped no_address", "nomail/in_app": "delivered ",
	}
	got := map[string]string{}
	for _, d := range ev.Deliveries {
		got[d.UserID+"/"+d.Channel] = d.Status + " " + d.Reason
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if mail := mailFor(assigned.EventID); len(mail) != 1 || mail[0].To[0] != "noinbox@example.com" {
		t.Errorf("issue.assigned mail went to %v, want noinbox only", recipientsOf(mail))
	}

	// The owner turned email off, but the tenant requires this one.
	failed := tn.postEvent(map[string]any{"type": "billing.payment_failed", "data": map[string]any{"amount": "$20"}})
	tn.waitSettled(failed.EventID, time.Minute)
	mail := mailFor(failed.EventID)
	if len(mail) != 1 || mail[0].To[0] != "owner@example.com" {
		t.Fatalf("payment_failed mail went to %v, want the owner, whose opt-out a required email ignores", recipientsOf(mail))
	}
	if h := mail[0].Header["List-Unsubscribe"]; len(h) != 0 {
		t.Errorf("a required email carries List-Unsubscribe %v; it cannot be unsubscribed from", h)
	}
}

func recipientsOf(mail []mailcatch.Message) []string {
	var out []string
	for _, m := range mail {
		out = append(out, m.To...)
	}
	return out
}
