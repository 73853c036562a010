package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/heraldhq/herald/contract"
)

// putRoute describes one PUT route for checkPutRule: the body that sets
// every top-level field to something other than its default, a second
// value per field, what GET answers for each field once it is reset, and
// how to read the resource back.
type putRoute struct {
	path string
	// read answers the resource as GET shows it, by top-level field.
	read func() map[string]json.RawMessage
	// full sets every field; change gives each field another value.
	full   map[string]any
	change map[string]any
	// shown is the field GET answers for a PUT field (a write-only secret
	// is answered as whether it is set); the same name when absent.
	shown map[string]string
	// reset is what GET answers for a field after null: JSON, or "" when
	// GET then leaves the field out.
	reset map[string]string
	// ignore are fields GET answers that no PUT sets (timestamps, what is
	// computed from the rest).
	ignore []string
}

// checkPutRule checks the rule every PUT follows, field by field: a PUT of
// one field changes that field only, and a PUT of null resets that field
// only. Each step starts again from the full body.
func checkPutRule(t *testing.T, tn *tenant, r putRoute) {
	t.Helper()
	put := func(body any) {
		t.Helper()
		if res := tn.do("PUT", r.path, body); res.status != http.StatusOK && res.status != http.StatusCreated {
			t.Fatalf("PUT %s %v: %d %s", r.path, body, res.status, res.raw)
		}
	}
	fields := make([]string, 0, len(r.full))
	for f := range r.full {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	shown := func(f string) string {
		if s, ok := r.shown[f]; ok {
			return s
		}
		return f
	}
	for _, f := range fields {
		put(r.full)
		base := r.read()
		for _, step := range []struct {
			name string
			body map[string]any
		}{
			{"changed alone", map[string]any{f: r.change[f]}},
			{"null", map[string]any{f: nil}},
		} {
			put(step.body)
			got := r.read()
			// Every other field keeps what the full PUT stored.
			for name, was := range base {
				if name == shown(f) || slices.Contains(r.ignore, name) {
					continue
				}
				if !jsonEqual(got[name], was) {
					t.Errorf("PUT %s with only %s %s: %s became %s, want it kept as %s", r.path, f, step.name, name, got[name], was)
				}
			}
			v, present := got[shown(f)]
			switch {
			case step.name == "null" && r.reset[f] == "":
				if present {
					t.Errorf("PUT %s {%q: null}: GET answers %s = %s, want it left out (nothing set)", r.path, f, shown(f), v)
				}
			case step.name == "null":
				if !jsonEqual(v, json.RawMessage(r.reset[f])) {
					t.Errorf("PUT %s {%q: null}: GET answers %s = %s, want the default %s", r.path, f, shown(f), v, r.reset[f])
				}
			default:
				if jsonEqual(v, base[shown(f)]) {
					t.Errorf("PUT %s {%q: %v}: GET still answers %s = %s", r.path, f, r.change[f], shown(f), v)
				}
			}
		}
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y bytes.Buffer
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	if json.Compact(&x, a) != nil || json.Compact(&y, b) != nil {
		return false
	}
	var va, vb any
	if json.Unmarshal(x.Bytes(), &va) != nil || json.Unmarshal(y.Bytes(), &vb) != nil {
		return false
	}
	ca, _ := json.Marshal(va) // maps marshal with sorted keys
	cb, _ := json.Marshal(vb)
	return bytes.Equal(ca, cb)
}

func (tn *tenant) reader(path string) func() map[string]json.RawMessage {
	return func() map[string]json.RawMessage {
		tn.t.Helper()
		return decodeAs[map[string]json.RawMessage](tn.t, tn.must(200, tn.do("GET", path, nil)))
	}
}

func TestPutKeepsWhatItLeavesOutUsers(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	checkPutRule(t, tn, putRoute{
		path: "/v1/users/ada",
		read: tn.reader("/v1/users/ada"),
		full: map[string]any{"email": "ada@example.com", "name": "Ada", "timezone": "Europe/Berlin", "role": "owner",
			"slack_user_id": "U0ADA"},
		change: map[string]any{"email": "ada@example.org", "name": "Ada L.", "timezone": "Asia/Tokyo", "role": "executive",
			"slack_user_id": "U0ADA2"},
		reset:  map[string]string{"email": `""`, "name": `""`, "timezone": `""`, "role": `"member"`, "slack_user_id": `""`},
		ignore: []string{"updated_at"},
	})
}

func TestPutKeepsWhatItLeavesOutPreferences(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("ada", "ada@example.com")
	checkPutRule(t, tn, putRoute{
		path: "/v1/users/ada/preferences",
		read: tn.reader("/v1/users/ada/preferences"),
		full: map[string]any{
			"channels":    map[string]any{"email": map[string]any{"frequency": "daily"}},
			"categories":  map[string]any{"issues": map[string]any{"slack": false}},
			"events":      map[string]any{"issue.assigned": map[string]any{"email": false}},
			"quiet_hours": map[string]any{"enabled": true, "start": "22:00", "end": "07:00"},
		},
		change: map[string]any{
			"channels":    map[string]any{"slack": map[string]any{"enabled": false}},
			"categories":  map[string]any{"issues": map[string]any{"email": false}},
			"events":      map[string]any{"issue.assigned": map[string]any{"in_app": false}},
			"quiet_hours": map[string]any{"enabled": true, "start": "23:00", "end": "06:00", "weekends": true},
		},
		reset:  map[string]string{}, // nothing of the user's own: GET leaves each out
		ignore: []string{"effective"},
	})
}

func TestPutKeepsWhatItLeavesOutTenantSettings(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	fresh := decodeAs[map[string]json.RawMessage](t, tn.must(200, tn.do("GET", "/v1/tenant/settings", nil)))
	builtIns := fresh["rules"]
	emptyRequired := string(fresh["required"])
	checkPutRule(t, tn, putRoute{
		path: "/v1/tenant/settings",
		read: tn.reader("/v1/tenant/settings"),
		full: map[string]any{
			"defaults":            map[string]any{"channels": map[string]any{"email": map[string]any{"frequency": "daily"}}},
			"required":            map[string]any{"events": map[string]any{"billing.payment_failed": []string{"email"}}},
			"timezone":            "Europe/Berlin",
			"lead_threshold":      75,
			"usage_trend_percent": 120,
			"summaries":           map[string]any{"weekly_digest": map[string]any{"enabled": true}},
			"rules":               []any{map[string]any{"name": "bounce_rate", "disabled": true}},
		},
		change: map[string]any{
			"defaults":            map[string]any{"channels": map[string]any{"slack": map[string]any{"enabled": false}}},
			"required":            map[string]any{"categories": map[string]any{"billing": []string{"email"}}},
			"timezone":            "Asia/Tokyo",
			"lead_threshold":      0,
			"usage_trend_percent": 30,
			"summaries":           map[string]any{"daily_summary": map[string]any{"enabled": true, "at": "18:00"}},
			"rules":               []any{map[string]any{"name": "lead_threshold", "disabled": true}},
		},
		reset: map[string]string{
			"defaults": `{}`, "required": emptyRequired, "timezone": `"UTC"`, "lead_threshold": `60`, "usage_trend_percent": `50`,
			"summaries": `{"weekly_digest": {"enabled": false, "at": "09:00"}, "daily_summary": {"enabled": false, "at": "09:00"},
				"time_review": {"enabled": false, "at": "09:00"}}`,
			"rules": string(builtIns),
		},
	})
}

// TestTenantSettingsPutOfOneFieldKeepsTheRest is the report's case: a PUT
// of only the lead threshold kept the defaults, requirements and zone, and
// the scheduled summary's Temporal schedule stays.
func TestTenantSettingsPutOfOneFieldKeepsTheRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{
		"defaults":  map[string]any{"channels": map[string]any{"email": map[string]any{"frequency": "daily"}}},
		"required":  map[string]any{"events": map[string]any{"billing.payment_failed": []string{"email"}}},
		"timezone":  "Europe/Berlin",
		"summaries": map[string]any{"weekly_digest": map[string]any{"enabled": true}},
	}))
	schedule := env.temporal.ScheduleClient().GetHandle(ctx, contract.SummaryScheduleID(tn.id, "weekly_digest"))
	if _, err := schedule.Describe(ctx); err != nil {
		t.Fatalf("no schedule after enabling the weekly digest: %v", err)
	}
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"lead_threshold": 75}))
	got := decodeAs[settingsView](t, tn.must(200, tn.do("GET", "/v1/tenant/settings", nil)))
	if got.LeadThreshold != 75 || got.Timezone != "Europe/Berlin" || !bytes.Contains(got.Defaults, []byte(`"daily"`)) ||
		!slices.Equal(got.Required["events"]["billing.payment_failed"], []string{"email"}) {
		t.Errorf("after a PUT of only lead_threshold, settings = %+v (defaults %s)", got, got.Defaults)
	}
	if _, err := schedule.Describe(ctx); err != nil {
		t.Errorf("a PUT of only lead_threshold deleted the weekly digest's schedule: %v", err)
	}

	// 0 is a threshold like any other, not "unset"; null is the default.
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"lead_threshold": 0}))
	if got := decodeAs[settingsView](t, tn.must(200, tn.do("GET", "/v1/tenant/settings", nil))); got.LeadThreshold != 0 {
		t.Errorf("lead_threshold 0 stored as %d", got.LeadThreshold)
	}
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"lead_threshold": nil}))
	if got := decodeAs[settingsView](t, tn.must(200, tn.do("GET", "/v1/tenant/settings", nil))); got.LeadThreshold != 60 {
		t.Errorf("lead_threshold null: %d, want the default 60", got.LeadThreshold)
	}
	// Bad input changes nothing.
	tn.must(400, tn.do("PUT", "/v1/tenant/settings", map[string]any{"lead_threshold": 101, "timezone": "UTC"}))
	tn.must(400, tn.do("PUT", "/v1/tenant/settings", map[string]any{"timezone": "Mars/Olympus"}))
	tn.must(400, tn.do("PUT", "/v1/tenant/settings", map[string]any{"defaults": map[string]any{"bogus": 1}}))
	if got := decodeAs[settingsView](t, tn.must(200, tn.do("GET", "/v1/tenant/settings", nil))); got.LeadThreshold != 60 || got.Timezone != "Europe/Berlin" {
		t.Errorf("refused PUTs changed the settings: %+v", got)
	}
}

func TestPutKeepsWhatItLeavesOutSlack(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	checkPutRule(t, tn, putRoute{
		path: "/v1/integrations/slack",
		read: tn.reader("/v1/integrations/slack"),
		full: map[string]any{
			"webhook_url": "https://hooks.slack.example/services/T1/B1/one",
			"bot_token":   "xoxb-1-one",
			"routes":      []any{map[string]any{"channel": "#alerts", "purposes": []string{"issues"}}},
		},
		change: map[string]any{
			// Secrets are write-only: an empty string removes one, which
			// GET can show.
			"webhook_url": "",
			"bot_token":   "",
			"routes":      []any{map[string]any{"channel": "#general", "purposes": []string{"*"}}},
		},
		shown: map[string]string{"webhook_url": "webhook_url_set", "bot_token": "bot_token_set"},
		// routes: null leaves the webhook URL with no routes, which GET
		// answers as the implied route (every event that sends to Slack).
		reset: map[string]string{"webhook_url": `false`, "bot_token": `false`,
			"routes": `[{"channel": "incoming-webhook", "purposes": ["*"], "implied": true}]`},
		ignore: []string{"updated_at"},
	})
}

func TestPutKeepsWhatItLeavesOutWebhook(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer hook.Close()
	checkPutRule(t, tn, putRoute{
		path: "/v1/integrations/webhook",
		read: tn.reader("/v1/integrations/webhook"),
		full: map[string]any{
			"url":         hook.URL + "/one",
			"event_types": []string{"issue.assigned"},
		},
		change: map[string]any{
			"url":         hook.URL + "/two",
			"event_types": []string{"issue.assigned", "billing.payment_failed"},
		},
		reset:  map[string]string{"url": `""`, "event_types": `[]`},
		ignore: []string{"updated_at"},
	})
	// The secret made by the first PUT is kept by every later one.
	got := decodeAs[webhookView](t, tn.must(200, tn.do("GET", "/v1/integrations/webhook", nil)))
	if !got.SecretSet || got.Secret != "" {
		t.Errorf("webhook after the PUTs = %+v, want its secret kept and not shown", got)
	}
}

// eventTypeOf reads one event type from the catalog's pages.
func (tn *tenant) eventTypeOf(key string) map[string]json.RawMessage {
	tn.t.Helper()
	path := "/v1/event-types?limit=200"
	for {
		page := decodeAs[listPage[map[string]json.RawMessage]](tn.t, tn.must(200, tn.do("GET", path, nil)))
		for _, typ := range page.Data {
			if string(typ["key"]) == `"`+key+`"` {
				return typ
			}
		}
		if page.NextCursor == nil {
			tn.t.Fatalf("event type %s is not in the catalog", key)
		}
		path = "/v1/event-types?limit=200&cursor=" + *page.NextCursor
	}
}

func TestPutKeepsWhatItLeavesOutEventTypes(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const key = "issue.assigned"
	builtIn := tn.eventTypeOf(key)
	reset := map[string]string{}
	for _, f := range []string{"category", "title", "urgent", "default_recipients", "channels", "templates", "required_data"} {
		reset[f] = string(builtIn[f])
	}
	checkPutRule(t, tn, putRoute{
		path: "/v1/event-types/" + key,
		read: func() map[string]json.RawMessage { return tn.eventTypeOf(key) },
		full: map[string]any{
			"category":           "work",
			"title":              "Work assigned",
			"urgent":             true,
			"default_recipients": "owner",
			"channels":           []string{"in_app", "email"},
			"templates":          map[string]string{"subject": "Yours: {{.data.title}}"},
			"required_data":      []string{"issue_key", "title", "assignee"},
		},
		change: map[string]any{
			"category":           "tasks",
			"title":              "Task assigned",
			"urgent":             false,
			"default_recipients": "subscribers",
			"channels":           []string{"email"},
			"templates":          map[string]string{"text": "{{.data.title}} is yours"},
			"required_data":      []string{"title"},
		},
		reset: reset,
	})

	// A type of the tenant's own keeps what it was created with, and what
	// only it can say cannot be reset to nothing.
	tn.must(201, tn.do("PUT", "/v1/event-types/deploy.finished", map[string]any{
		"category": "deploys", "title": "Deployed", "templates": map[string]string{"text": "{{.data.service}} is live"}}))
	tn.must(200, tn.do("PUT", "/v1/event-types/deploy.finished", map[string]any{"urgent": true}))
	own := tn.eventTypeOf("deploy.finished")
	if string(own["title"]) != `"Deployed"` || string(own["category"]) != `"deploys"` || string(own["urgent"]) != "true" {
		t.Errorf("deploy.finished after a PUT of urgent = %s %s %s", own["title"], own["category"], own["urgent"])
	}
	tn.must(400, tn.do("PUT", "/v1/event-types/deploy.finished", map[string]any{"title": nil}))
	if own := tn.eventTypeOf("deploy.finished"); string(own["title"]) != `"Deployed"` {
		t.Errorf("a refused PUT changed the title to %s", own["title"])
	}
}

// Concurrent first PUTs of a webhook, of different fields, on a tenant that
// has none yet: each merges over the one before it, so both fields stand
// and exactly one answer carries the signing secret, the one stored.
func TestFirstPutsOfAnIntegrationAllCount(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer hook.Close()
	const n = 8
	answers := make([]webhookView, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := map[string]any{"url": hook.URL + "/hook"}
			if i%2 == 1 {
				body = map[string]any{"event_types": []string{"issue.assigned"}}
			}
			answers[i] = decodeAs[webhookView](t, tn.must(200, tn.do("PUT", "/v1/integrations/webhook", body)))
		}()
	}
	wg.Wait()
	got := decodeAs[webhookView](t, tn.must(200, tn.do("GET", "/v1/integrations/webhook", nil)))
	if got.URL != hook.URL+"/hook" || len(got.EventTypes) != 1 || got.EventTypes[0] != "issue.assigned" || !got.SecretSet {
		t.Errorf("after concurrent first PUTs: %+v, want the URL, the event type and a secret", got)
	}
	var secrets []string
	for _, a := range answers {
		if a.Secret != "" {
			secrets = append(secrets, a.Secret)
		}
	}
	if len(secrets) != 1 {
		t.Fatalf("%d answers carried a signing secret, want exactly 1 (the one stored)", len(secrets))
	}
}
