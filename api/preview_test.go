package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/integrations"
	"github.com/heraldhq/herald/prefs"
)

func previewOf(t *testing.T, key string, doc string, data map[string]any, mutate func(*previewInput)) previewResponse {
	t.Helper()
	typ, ok := catalog.BuiltIn().Lookup(key)
	if !ok {
		t.Fatalf("no built-in %s", key)
	}
	d, err := prefs.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	in := previewInput{
		typ: typ, tenant: "Acme", publicURL: "https://herald.example", doc: d,
		user: dbq.User{ID: "u1", Name: "Grace Hopper", Email: "grace@example.com", SlackUserID: "U1"},
		data: data, link: "https://app.example/issues/PROJ-1", now: time.Date(2026, 1, 3, 15, 30, 0, 0, time.UTC),
	}
	if mutate != nil {
		mutate(&in)
	}
	out, err := buildPreview(in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The preview shows the email, inbox item and Slack message a send would
// carry, rendered with the recipient's name and the event's data.
func TestPreviewRendersEachChannel(t *testing.T) {
	t.Parallel()
	out := previewOf(t, "issue.assigned", "", map[string]any{"issue_key": "PROJ-1", "title": "Fix login"}, func(in *previewInput) {
		in.slack = &integrations.Slack{BotTokenSet: true}
	})
	e := out.Channels.Email
	if e == nil || !e.WouldSend || e.Subject != "PROJ-1 was assigned to you: Fix login" || e.To != "grace@example.com" {
		t.Fatalf("email = %+v", e)
	}
	for _, want := range []string{"Hi Grace,", `PROJ-1 "Fix login" is now assigned to you.`, "View issue: https://app.example/issues/PROJ-1",
		"member of Acme", "Stop issues emails: https://herald.example/unsubscribe/preview"} {
		if !strings.Contains(e.Text, want) {
			t.Errorf("email text lacks %q:\n%s", want, e.Text)
		}
	}
	if !strings.Contains(e.HTML, "<!doctype html>") || !strings.Contains(e.HTML, "Fix login") {
		t.Errorf("email HTML = %s", e.HTML)
	}
	if a := out.Channels.InApp; a == nil || !a.WouldSend || a.Title != e.Subject || a.Body != `PROJ-1 "Fix login" is now assigned to you.` {
		t.Errorf("in-app = %+v", a)
	}
	s := out.Channels.Slack
	if s == nil || !s.WouldSend || !s.DM || len(s.Blocks) == 0 || !strings.Contains(s.Text, "PROJ-1") {
		t.Fatalf("slack = %+v", s)
	}
	blocks, _ := json.Marshal(s.Blocks)
	if !strings.Contains(string(blocks), "Fix login") {
		t.Errorf("slack blocks lack the title: %s", blocks)
	}
	if w := out.Channels.Webhook; w == nil || w.WouldSend || w.Reason != previewNotConfigured || string(w.Payload.Data) != `{"issue_key":"PROJ-1","title":"Fix login"}` {
		t.Errorf("webhook = %+v", w)
	}
}

// Preferences decide only what the user would get: the content is shown
// whatever they turned off.
func TestPreviewSaysWhatTheUserTurnedOff(t *testing.T) {
	t.Parallel()
	out := previewOf(t, "issue.assigned", `{"channels": {"email": {"enabled": false}}, "events": {"issue.assigned": {"in_app": false}}}`,
		map[string]any{"issue_key": "PROJ-1"}, nil)
	if e := out.Channels.Email; e.WouldSend || e.Reason != "preference_disabled" || e.Subject == "" {
		t.Errorf("email = %+v", e.previewDecision)
	}
	if a := out.Channels.InApp; a.WouldSend || a.Reason != "preference_disabled" || a.Title == "" {
		t.Errorf("in-app = %+v", a.previewDecision)
	}
	if s := out.Channels.Slack; s.WouldSend || s.Reason != previewNotConfigured {
		t.Errorf("slack without an integration = %+v", s.previewDecision)
	}

	digested := previewOf(t, "issue.assigned", `{"channels": {"email": {"frequency": "daily"}}}`, map[string]any{"issue_key": "PROJ-1"}, nil)
	if e := digested.Channels.Email; e.WouldSend || e.Reason != "digested" {
		t.Errorf("daily email = %+v", e.previewDecision)
	}
}

// Routed Slack posts and the tenant webhook go out whatever the recipient
// chose; a channel asked for alone is the only one rendered.
func TestPreviewEventLevelSendsAndOneChannel(t *testing.T) {
	t.Parallel()
	out := previewOf(t, "issue.assigned", `{"channels": {"slack": {"enabled": false}}}`, map[string]any{"issue_key": "PROJ-1"}, func(in *previewInput) {
		in.slack = &integrations.Slack{BotTokenSet: true, Routes: []integrations.Route{{Channel: "#eng", Purposes: []string{"issues"}}}}
		in.webhook = &integrations.Webhook{URL: "https://hooks.example/h"}
	})
	if s := out.Channels.Slack; !s.WouldSend || s.DM || len(s.Channels) != 1 || s.Channels[0] != "#eng" {
		t.Errorf("slack = %+v", s)
	}
	if w := out.Channels.Webhook; !w.WouldSend || !w.TenantEndpoint || w.UserEndpoint || w.Payload.EventType != "issue.assigned" {
		t.Errorf("webhook = %+v", w)
	}
	only := previewOf(t, "issue.assigned", "", map[string]any{"issue_key": "PROJ-1"}, func(in *previewInput) { in.channel = channel.Email })
	if only.Channels.Email == nil || only.Channels.InApp != nil || only.Channels.Slack != nil || only.Channels.Webhook != nil {
		t.Errorf("channel=email answered %+v", only.Channels)
	}
}

// Data that drives a template past a bound is refused as a send would
// fail it, naming the bound.
func TestPreviewRefusesDataPastABound(t *testing.T) {
	t.Parallel()
	typ := catalog.EventType{Key: "deploy.done", Category: "deploys", Title: "Deployed", Recipients: catalog.RecipientsSubscribers,
		Channels:  []channel.Channel{channel.InApp, channel.Email},
		Templates: catalog.Templates{Text: `{{range .data.items}}{{$.data.blob}}{{end}}`}}
	items := make([]any, 10)
	_, err := buildPreview(previewInput{typ: typ, data: map[string]any{"items": items, "blob": strings.Repeat("x", 60<<10)}})
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusUnprocessableEntity || e.Details["bound"] != catalog.BoundOutput {
		t.Fatalf("err = %v", err)
	}
}

// The preview renders the variant the recipient's locale comes to (de-AT
// finds de), or the tenant's default for a user without one, and says
// which; the unsubscribe line and the Slack DM follow it.
func TestPreviewPicksTheLocale(t *testing.T) {
	t.Parallel()
	data := map[string]any{"issue_key": "PROJ-1", "title": "Fix login"}
	out := previewOf(t, "issue.assigned", "", data, func(in *previewInput) {
		in.user.Locale = "de-AT"
		in.slack = &integrations.Slack{BotTokenSet: true}
	})
	if out.Locale != "de" || out.Channels.Email.Subject != "PROJ-1 wurde Ihnen zugewiesen: Fix login" ||
		!strings.Contains(out.Channels.Email.Text, "Keine E-Mails mehr zu „Tickets“") || out.Channels.InApp.Title != out.Channels.Email.Subject {
		t.Errorf("de-AT: %s %+v", out.Locale, out.Channels.Email)
	}
	if blocks, _ := json.Marshal(out.Channels.Slack.Message.Blocks); !strings.Contains(string(blocks), "Ticket ansehen") {
		t.Errorf("the Slack DM is not German: %s", blocks)
	}
	out = previewOf(t, "issue.assigned", "", data, func(in *previewInput) { in.settings.Locale = "fr" })
	if out.Locale != "fr" || out.Channels.Email.Subject != "PROJ-1 vous a été attribué : Fix login" {
		t.Errorf("tenant fr: %s %q", out.Locale, out.Channels.Email.Subject)
	}
	out = previewOf(t, "issue.assigned", "", data, func(in *previewInput) { in.user.Locale = "nl" })
	if out.Locale != "en" || !strings.HasPrefix(out.Channels.Email.Text, "Hi Grace,") {
		t.Errorf("nl falls back to English: %s %q", out.Locale, out.Channels.Email.Text)
	}
}

// A throttled type's preview says where the recipient stands in its
// window and, once they are at the cap, that the rest would be skipped
// (but not on a channel the tenant requires); channels the type escalates
// to say how long they would wait for the in-app item to go unread.
func TestPreviewSaysThrottleAndEscalation(t *testing.T) {
	t.Parallel()
	data := map[string]any{"issue_key": "PROJ-1"}
	guarded := func(used int, more func(*previewInput)) func(*previewInput) {
		return func(in *previewInput) {
			in.typ.Throttle = &catalog.Throttle{Max: 2, Per: "1h"}
			in.typ.Escalate = &catalog.Escalation{After: "30m", To: []channel.Channel{channel.Email}}
			in.throttleUsed = used
			if more != nil {
				more(in)
			}
		}
	}
	under := previewOf(t, "issue.assigned", "", data, guarded(1, nil))
	if th := under.Throttle; th == nil || th.Max != 2 || th.Per != "1h" || th.Used != 1 || !th.WindowEnds.Equal(time.Date(2026, 1, 3, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("throttle = %+v, want 1 of 2 used in the window ending 16:00", th)
	}
	if e := under.Channels.Email; !e.WouldSend || e.EscalatesAfter != "30m" {
		t.Errorf("email under the cap = %+v, want sent if unread after 30m", e.previewDecision)
	}
	if a := under.Channels.InApp; !a.WouldSend || a.EscalatesAfter != "" {
		t.Errorf("in-app under the cap = %+v, want sent at once", a.previewDecision)
	}

	at := previewOf(t, "issue.assigned", "", data, guarded(2, nil))
	for name, d := range map[string]previewDecision{"email": at.Channels.Email.previewDecision, "in-app": at.Channels.InApp.previewDecision} {
		if d.WouldSend || d.Reason != "throttled" {
			t.Errorf("%s at the cap = %+v, want skipped as throttled", name, d)
		}
	}
	required := previewOf(t, "issue.assigned", "", data, guarded(2, func(in *previewInput) {
		in.settings.Required = prefs.Required{Events: map[string][]channel.Channel{"issue.assigned": {channel.Email}}}
	}))
	if e := required.Channels.Email; !e.WouldSend {
		t.Errorf("a required email at the cap = %+v, want sent", e.previewDecision)
	}

	// Without the in-app item, there is nothing to wait on: email at once.
	noInbox := previewOf(t, "issue.assigned", `{"channels": {"in_app": {"enabled": false}}}`, data, guarded(0, nil))
	if e := noInbox.Channels.Email; !e.WouldSend || e.EscalatesAfter != "" {
		t.Errorf("email with in-app off = %+v, want sent at once", e.previewDecision)
	}
	if plain := previewOf(t, "issue.assigned", "", data, nil); plain.Throttle != nil || plain.Channels.Email.EscalatesAfter != "" {
		t.Errorf("a type without throttle or escalation previews %+v / %+v", plain.Throttle, plain.Channels.Email.previewDecision)
	}
}
