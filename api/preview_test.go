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
