// Package integrations holds a tenant's Slack and outbound-webhook settings
// and decides where an event is posted. It does no I/O: the API validates
// settings with it and the planner routes with it. Secrets live apart, in
// Secrets types that only sending activities open.
package integrations

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Kind is a kind of integration (integrations.kind).
type Kind string

// Kinds of integration.
const (
	KindSlack   Kind = "slack"
	KindWebhook Kind = "webhook"
)

// AllPurposes routes every event.
const AllPurposes = "*"

// Route sends the events of its purposes to one Slack channel. A purpose is
// an event type or a category; "*", or none at all, means every event.
type Route struct {
	Channel  string   `json:"channel"`
	Purposes []string `json:"purposes"`
	// Implied marks the route a webhook URL without routes stands for
	// (ImpliedRoute): answered so a tenant sees where posts go, never
	// stored.
	Implied bool `json:"implied,omitempty"`
}

// ImpliedRoute is what a Slack integration with an incoming-webhook URL and
// no routes posts by: every event whose type sends to Slack, on the
// webhook. Pasting the URL is the whole setup; without it, the URL would
// post nothing and say nothing.
var ImpliedRoute = Route{Channel: WebhookChannel, Purposes: []string{AllPurposes}, Implied: true}

// EffectiveRoutes are the routes s posts by: its own, or, with a webhook
// URL and none of its own, the implied one.
func (s Slack) EffectiveRoutes() []Route {
	if len(s.Routes) == 0 && s.WebhookURLSet {
		return []Route{ImpliedRoute}
	}
	return s.Routes
}

// Slack is a tenant's Slack integration as the planner sees it.
type Slack struct {
	Routes []Route `json:"routes"`
	// Which secrets are set; the secrets themselves are in SlackSecrets.
	WebhookURLSet bool `json:"webhook_url_set"`
	BotTokenSet   bool `json:"bot_token_set"`
}

// SlackSecrets are sealed at rest.
type SlackSecrets struct {
	WebhookURL string `json:"webhook_url,omitempty"`
	BotToken   string `json:"bot_token,omitempty"`
}

// Webhook is a tenant's outbound webhook endpoint as the planner sees it.
type Webhook struct {
	URL string `json:"url"`
	// EventTypes limits the endpoint to these types; empty means every event.
	EventTypes []string `json:"event_types"`
	// Disabled endpoints (they answered 410 Gone) get nothing until set
	// again; their secret still signs approval callbacks.
	Disabled bool `json:"disabled,omitempty"`
}

// WebhookSecrets are the endpoint's signing secrets, sealed at rest. During
// a rotation the previous secret signs too, until PreviousUntil.
type WebhookSecrets struct {
	Secret        string `json:"secret"`
	Previous      string `json:"previous,omitempty"`
	PreviousUntil int64  `json:"previous_until,omitempty"` // Unix seconds
}

// WebhookPayload is the JSON body of an outbound webhook: what the worker
// posts and what a preview shows.
type WebhookPayload struct {
	EventID   string          `json:"event_id"`
	EventType string          `json:"event_type"`
	Timestamp time.Time       `json:"timestamp"`
	UserID    string          `json:"user_id,omitempty"`
	Data      json.RawMessage `json:"data"`
}

// SigningKeys are the secrets a message sent at now is signed with: the
// current one and, within a rotation's grace, the previous, so receivers
// verify with either.
func (s WebhookSecrets) SigningKeys(now time.Time) []string {
	keys := []string{s.Secret}
	if s.Previous != "" && now.Before(time.Unix(s.PreviousUntil, 0)) {
		keys = append(keys, s.Previous)
	}
	return keys
}

// Targets are an event's event-level sends: one Slack post per routed
// channel, and the tenant webhook.
type Targets struct {
	SlackChannels []string
	Webhook       bool
}

// Plan decides an event's event-level sends. With routes but only a
// webhook URL (no bot token), every routed post goes to the webhook URL, so
// it is one post however many routes match. toSlack says the event's type
// sends to Slack: the implied route carries only those, while routes a
// tenant set carry what their purposes name.
func Plan(slack *Slack, webhook *Webhook, eventType, category string, toSlack bool) Targets {
	var t Targets
	if slack != nil && (slack.BotTokenSet || slack.WebhookURLSet) {
		for _, r := range slack.EffectiveRoutes() {
			if r.Implied && !toSlack {
				continue
			}
			if r.Matches(eventType, category) && !slices.Contains(t.SlackChannels, r.Channel) {
				t.SlackChannels = append(t.SlackChannels, r.Channel)
			}
		}
		if !slack.BotTokenSet && len(t.SlackChannels) > 0 {
			t.SlackChannels = []string{WebhookChannel}
		}
	}
	if webhook != nil && webhook.URL != "" && !webhook.Disabled && (len(webhook.EventTypes) == 0 || slices.Contains(webhook.EventTypes, eventType)) {
		t.Webhook = true
	}
	return t
}

// PlanAll is every event-level send the tenant has configured, whatever the
// routes' purposes and the webhook's event types: what a test notification
// reaches.
func PlanAll(slack *Slack, webhook *Webhook) Targets {
	var all *Slack
	if slack != nil {
		copied := *slack
		copied.Routes = nil
		for _, r := range slack.Routes {
			copied.Routes = append(copied.Routes, Route{Channel: r.Channel})
		}
		all = &copied
	}
	var hook *Webhook
	if webhook != nil {
		copied := *webhook
		copied.EventTypes = nil
		hook = &copied
	}
	return Plan(all, hook, "", "", true)
}

// WebhookChannel names the Slack incoming webhook as a post's channel: the
// URL decides where it lands.
const WebhookChannel = "incoming-webhook"

// Event-level deliveries are rows like any other, keyed by a recipient that
// no user ID can be ('#' is not allowed in user IDs): the routed Slack
// channel, or the tenant webhook.
const (
	targetPrefix  = "#"
	slackTarget   = "#slack:"
	TargetWebhook = "#webhook"
)

// TargetSlack is the recipient key of a post to a Slack channel.
func TargetSlack(channel string) string { return slackTarget + channel }

// SlackChannelOf returns the channel of a Slack post's recipient key.
func SlackChannelOf(target string) (string, bool) { return strings.CutPrefix(target, slackTarget) }

// EventLevel reports whether a delivery's recipient key is an event-level
// target rather than a user.
func EventLevel(recipient string) bool { return strings.HasPrefix(recipient, targetPrefix) }

// Describe names an event-level target for API answers: "slack:#sales",
// "webhook".
func Describe(target string) string { return strings.TrimPrefix(target, targetPrefix) }

// Matches reports whether the route carries events of this type.
func (r Route) Matches(eventType, category string) bool {
	if len(r.Purposes) == 0 {
		return true
	}
	for _, p := range r.Purposes {
		if p == AllPurposes || p == eventType || p == category {
			return true
		}
	}
	return false
}

// SealPurpose binds an integration's sealed secrets to its tenant and kind:
// one tenant's ciphertext cannot be opened as another's.
func SealPurpose(tenantID fmt.Stringer, kind Kind) string {
	return "integration:" + string(kind) + ":" + tenantID.String()
}

// UserWebhookSealPurpose binds the sealed secrets of a user's own webhook
// endpoint (WebhookSecrets) to that user: copied to another user's row,
// or another tenant's, they do not open.
func UserWebhookSealPurpose(tenantID fmt.Stringer, userID string) string {
	return "user-webhook:" + tenantID.String() + ":" + userID
}

// RotationGrace is how long a rotated webhook secret keeps signing beside
// the new one, so receivers can switch without losing a message.
const RotationGrace = 24 * time.Hour

// Rotate is s with fresh as its secret and the current one signing beside
// it until RotationGrace after now.
func (s WebhookSecrets) Rotate(fresh string, now time.Time) WebhookSecrets {
	return WebhookSecrets{Secret: fresh, Previous: s.Secret, PreviousUntil: now.Add(RotationGrace).Unix()}
}

// PreviousExpiresAt is when, during a rotation, the previous secret stops
// signing; nil outside one.
func (s WebhookSecrets) PreviousExpiresAt(now time.Time) *time.Time {
	if s.Previous == "" || !now.Before(time.Unix(s.PreviousUntil, 0)) {
		return nil
	}
	t := time.Unix(s.PreviousUntil, 0).UTC()
	return &t
}

// Parse reads plain config JSON; nil or empty input is nil.
func Parse[T any](raw []byte) (*T, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, err
	}
	return v, nil
}

// Known is what routes and filters may name.
type Known struct {
	EventTypes map[string]bool
	Categories map[string]bool
}

// ValidateRoutes reports the first problem with routes, naming the field.
func ValidateRoutes(routes []Route, k Known) (field, msg string) {
	if len(routes) > 50 {
		return "routes", "at most 50 routes"
	}
	for i, r := range routes {
		f := fmt.Sprintf("routes[%d]", i)
		ch := strings.TrimSpace(r.Channel)
		if ch == "" || len(ch) > 80 || strings.ContainsAny(ch, " \t\n<>") {
			return f + ".channel", "want a Slack channel name such as #sales or an ID such as C0123ABCD"
		}
		for j, p := range r.Purposes {
			if p != AllPurposes && !k.EventTypes[p] && !k.Categories[p] {
				return fmt.Sprintf("%s.purposes[%d]", f, j), fmt.Sprintf("%q is neither an event type nor a category of this tenant, nor *", p)
			}
		}
	}
	return "", ""
}
