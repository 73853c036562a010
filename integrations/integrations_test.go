package integrations

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestPlan(t *testing.T) {
	routes := []Route{
		{Channel: "#sales", Purposes: []string{"outreach"}},
		{Channel: "#all", Purposes: []string{"*"}},
		{Channel: "#leads", Purposes: []string{"lead.qualified"}},
		{Channel: "#sales", Purposes: []string{"outreach.prospect_replied"}}, // same channel twice: one post
		{Channel: "#everything"},                                             // no purposes: every event
	}
	bot := &Slack{Routes: routes, BotTokenSet: true}
	hookOnly := &Slack{Routes: routes, WebhookURLSet: true}
	tests := []struct {
		name      string
		slack     *Slack
		webhook   *Webhook
		typ, cat  string
		channels  []string
		toWebhook bool
	}{
		{"category and * and empty purposes", bot, nil, "outreach.prospect_replied", "outreach", []string{"#sales", "#all", "#everything"}, false},
		{"event type purpose", bot, nil, "lead.qualified", "leads", []string{"#all", "#leads", "#everything"}, false},
		{"only a webhook URL: one post", hookOnly, nil, "lead.qualified", "leads", []string{WebhookChannel}, false},
		{"no secrets: nothing", &Slack{Routes: routes}, nil, "lead.qualified", "leads", nil, false},
		{"no routes: nothing", &Slack{BotTokenSet: true}, nil, "lead.qualified", "leads", nil, false},
		{"tenant webhook for every type", nil, &Webhook{URL: "https://h.example"}, "issue.assigned", "issues", nil, true},
		{"tenant webhook filtered out", nil, &Webhook{URL: "https://h.example", EventTypes: []string{"lead.qualified"}}, "issue.assigned", "issues", nil, false},
		{"tenant webhook filtered in", nil, &Webhook{URL: "https://h.example", EventTypes: []string{"lead.qualified"}}, "lead.qualified", "leads", nil, true},
	}
	for _, tt := range tests {
		got := Plan(tt.slack, tt.webhook, tt.typ, tt.cat, true)
		if !slices.Equal(got.SlackChannels, tt.channels) || got.Webhook != tt.toWebhook {
			t.Errorf("%s: Plan = %+v, want channels %v webhook %v", tt.name, got, tt.channels, tt.toWebhook)
		}
	}
}

// A webhook URL with no routes posts every event whose type sends to Slack
// on the webhook, and nothing else; routes of the tenant's own replace it.
func TestImpliedRoute(t *testing.T) {
	pasted := &Slack{WebhookURLSet: true}
	if got := pasted.EffectiveRoutes(); len(got) != 1 || !got[0].Implied || got[0].Channel != WebhookChannel {
		t.Fatalf("EffectiveRoutes of a pasted URL = %+v, want the implied route", got)
	}
	if got := Plan(pasted, nil, "usage.quota_warning", "billing", true); !slices.Equal(got.SlackChannels, []string{WebhookChannel}) {
		t.Errorf("a type that sends to Slack: %+v, want one post on the webhook", got)
	}
	if got := Plan(pasted, nil, "billing.notice", "billing", false); len(got.SlackChannels) != 0 {
		t.Errorf("a type that does not send to Slack: %+v, want none", got)
	}
	own := &Slack{WebhookURLSet: true, Routes: []Route{{Channel: "#leads", Purposes: []string{"leads"}}}}
	if got := own.EffectiveRoutes(); len(got) != 1 || got[0].Implied {
		t.Errorf("EffectiveRoutes with a route of its own = %+v", got)
	}
	if got := Plan(own, nil, "usage.quota_warning", "billing", true); len(got.SlackChannels) != 0 {
		t.Errorf("routes set: an unrouted type posted %+v", got)
	}
	if got := (&Slack{BotTokenSet: true}).EffectiveRoutes(); len(got) != 0 {
		t.Errorf("a bot token alone implies %+v; it has no channel to post to", got)
	}
	if got := PlanAll(pasted, nil); !slices.Equal(got.SlackChannels, []string{WebhookChannel}) {
		t.Errorf("a test notification with a pasted URL: %+v, want the webhook", got)
	}
}

func TestValidateRoutes(t *testing.T) {
	k := Known{EventTypes: map[string]bool{"lead.qualified": true}, Categories: map[string]bool{"outreach": true}}
	if f, m := ValidateRoutes([]Route{{Channel: "#sales", Purposes: []string{"outreach", "lead.qualified", "*"}}, {Channel: "C0123"}}, k); f != "" {
		t.Errorf("valid routes refused: %s %s", f, m)
	}
	for _, tc := range []struct {
		routes []Route
		field  string
	}{
		{[]Route{{Channel: ""}}, "routes[0].channel"},
		{[]Route{{Channel: "#ok"}, {Channel: "has space"}}, "routes[1].channel"},
		{[]Route{{Channel: "#ok", Purposes: []string{"outreach", "marketing"}}}, "routes[0].purposes[1]"},
	} {
		if f, _ := ValidateRoutes(tc.routes, k); f != tc.field {
			t.Errorf("ValidateRoutes(%+v) names %q, want %q", tc.routes, f, tc.field)
		}
	}
}

func TestTargets(t *testing.T) {
	if ch, ok := SlackChannelOf(TargetSlack("#sales")); !ok || ch != "#sales" || !EventLevel(TargetSlack("#sales")) || Describe(TargetSlack("#sales")) != "slack:#sales" {
		t.Errorf("slack target does not round-trip")
	}
	if !EventLevel(TargetWebhook) || EventLevel("user-1") || Describe(TargetWebhook) != "webhook" {
		t.Errorf("webhook target misread")
	}
}

func TestPlanAllIgnoresFilters(t *testing.T) {
	got := PlanAll(&Slack{BotTokenSet: true, Routes: []Route{{Channel: "#leads", Purposes: []string{"lead.qualified"}}, {Channel: "#ops", Purposes: []string{"system"}}}},
		&Webhook{URL: "https://h.example", EventTypes: []string{"lead.qualified"}})
	if !slices.Equal(got.SlackChannels, []string{"#leads", "#ops"}) || !got.Webhook {
		t.Errorf("PlanAll = %+v, want every route and the webhook", got)
	}
	if got := PlanAll(nil, &Webhook{URL: "https://h.example", Disabled: true}); got.Webhook {
		t.Error("PlanAll reaches a disabled webhook")
	}
}

func TestRotationSignsWithBothForTheGrace(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := WebhookSecrets{Secret: "old"}.Rotate("new", now)
	if got := s.SigningKeys(now.Add(RotationGrace - time.Second)); !slices.Equal(got, []string{"new", "old"}) {
		t.Errorf("within the grace: %v", got)
	}
	if got := s.SigningKeys(now.Add(RotationGrace)); !slices.Equal(got, []string{"new"}) {
		t.Errorf("after the grace: %v", got)
	}
	if at := s.PreviousExpiresAt(now); at == nil || !at.Equal(now.Add(RotationGrace)) {
		t.Errorf("previous expires at %v", at)
	}
	if at := s.PreviousExpiresAt(now.Add(RotationGrace)); at != nil {
		t.Errorf("after the grace the previous still expires at %v", at)
	}
}

func TestUserWebhookSealPurposeNamesTheUser(t *testing.T) {
	tenant := uuid.New()
	a, b := UserWebhookSealPurpose(tenant, "ada"), UserWebhookSealPurpose(tenant, "bob")
	if a == b || a == UserWebhookSealPurpose(uuid.New(), "ada") || a == SealPurpose(tenant, KindWebhook) {
		t.Errorf("purposes collide: %q %q", a, b)
	}
}
