package integrations

import (
	"slices"
	"testing"
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
		got := Plan(tt.slack, tt.webhook, tt.typ, tt.cat)
		if !slices.Equal(got.SlackChannels, tt.channels) || got.Webhook != tt.toWebhook {
			t.Errorf("%s: Plan = %+v, want channels %v webhook %v", tt.name, got, tt.channels, tt.toWebhook)
		}
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
