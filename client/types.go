package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// The types below are the OpenAPI document's schemas (api/openapi.json),
// one Go type per schema under the schema's name; openapi_test.go checks
// that their JSON fields are the schema's properties, so they cannot drift.
//
// Answers use values for what the document requires and pointers for what
// may be null. Request types use pointers (with omitempty) where leaving a
// field out means something different from its zero value: a PUT keeps a
// top-level field it leaves out. Free-form data decodes numbers as
// json.Number, so an amount keeps its exact value.

// Role is a user's role in the tenant.
type Role string

// Roles.
const (
	RoleOwner     Role = "owner"
	RoleMember    Role = "member"
	RoleExecutive Role = "executive"
)

// Channel is a delivery channel.
type Channel string

// Channels.
const (
	ChannelInApp   Channel = "in_app"
	ChannelEmail   Channel = "email"
	ChannelSlack   Channel = "slack"
	ChannelWebhook Channel = "webhook"
	// ChannelPush is listed by ListChannels as coming soon: naming it
	// anywhere a channel goes is 422 channel_not_available.
	ChannelPush Channel = "push"
)

// Frequency is how often a channel's (or a category's) non-urgent
// notifications go out: immediate, or one digest per window.
type Frequency string

// Frequencies.
const (
	FrequencyImmediate Frequency = "immediate"
	// FrequencyHourly digests at the top of the hour.
	FrequencyHourly Frequency = "hourly"
	// FrequencyDaily digests at 09:00 in the user's zone.
	FrequencyDaily Frequency = "daily"
	// FrequencyWeekly digests on Monday at 09:00 in the user's zone.
	FrequencyWeekly Frequency = "weekly"
)

// DeliveryStatus is a delivery row's status.
type DeliveryStatus string

// Delivery statuses.
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliveryDelivered DeliveryStatus = "delivered"
	DeliveryFailed    DeliveryStatus = "failed"
	DeliverySkipped   DeliveryStatus = "skipped"
	DeliveryCancelled DeliveryStatus = "cancelled"
)

// EventStatus is an event's status.
type EventStatus string

// Event statuses.
const (
	EventPending   EventStatus = "pending"
	EventDelivered EventStatus = "delivered"
	EventPartial   EventStatus = "partial"
	EventFailed    EventStatus = "failed"
	EventCancelled EventStatus = "cancelled"
	EventEvaluated EventStatus = "evaluated"
)

// Health is the answer of GET /healthz.
type Health struct {
	Status string `json:"status"`
}

// Readiness is the answer of GET /readyz.
type Readiness struct {
	Status string          `json:"status"`
	Checks ReadinessChecks `json:"checks"`
}

// ReadinessChecks says which dependency answered.
type ReadinessChecks struct {
	Postgres string `json:"postgres"`
	Temporal string `json:"temporal"`
}

// UserInput is the body of PUT /v1/users/{id}: a field left nil keeps its
// stored value.
type UserInput struct {
	Email       *string `json:"email,omitempty"`
	Name        *string `json:"name,omitempty"`
	Timezone    *string `json:"timezone,omitempty"`
	Role        *Role   `json:"role,omitempty"`
	SlackUserID *string `json:"slack_user_id,omitempty"`
	// Locale is a BCP 47 tag such as de-AT: the language the user reads.
	Locale *string `json:"locale,omitempty"`
}

// User is a stored user.
type User struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	Name        string `json:"name"`
	Timezone    string `json:"timezone"`
	Role        Role   `json:"role"`
	SlackUserID string `json:"slack_user_id"`
	// Locale is nil when the user reads the tenant's default locale.
	Locale    *string   `json:"locale"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Recipients says whom an event reaches; nil recipients mean the event
// type's default recipients.
type Recipients struct {
	Users []string `json:"users,omitempty"`
	Roles []Role   `json:"roles,omitempty"`
}

// EventRequest is the body of POST /v1/events. Client.PostEvent fills in
// IdempotencyKey's header when it is empty.
type EventRequest struct {
	Type           string         `json:"type"`
	Recipients     *Recipients    `json:"recipients,omitempty"`
	Data           map[string]any `json:"data,omitempty"`
	IdempotencyKey string         `json:"idempotency_key,omitempty"`
	Urgent         bool           `json:"urgent,omitempty"`
	SendAt         *time.Time     `json:"send_at,omitempty"`
	Link           string         `json:"link,omitempty"`
	// GroupKey and GroupWindow (a Go duration such as "10m", 10s to 24h)
	// collapse events of one type with one key that reach a user within the
	// window into one notification per channel. Set both or neither.
	GroupKey    string `json:"group_key,omitempty"`
	GroupWindow string `json:"group_window,omitempty"`
}

// EventAccepted is the answer of POST /v1/events.
type EventAccepted struct {
	EventID    string `json:"event_id"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	// Duplicate is true when the idempotency key was already used for
	// this same event: nobody is notified twice.
	Duplicate bool `json:"duplicate"`
}

// Event is an event with its workflow's status and its deliveries.
type Event struct {
	EventID             string         `json:"event_id"`
	Type                string         `json:"type"`
	Status              EventStatus    `json:"status"`
	WorkflowID          string         `json:"workflow_id"`
	WorkflowStatus      string         `json:"workflow_status"`
	Urgent              bool           `json:"urgent"`
	Link                string         `json:"link,omitempty"`
	Data                map[string]any `json:"data"`
	CreatedAt           time.Time      `json:"created_at"`
	Deliveries          []Delivery     `json:"deliveries"`
	DeliveriesTruncated bool           `json:"deliveries_truncated,omitempty"`
	DeliveriesNext      string         `json:"deliveries_next,omitempty"`
	SendAt              *time.Time     `json:"send_at"`
	GroupKey            string         `json:"group_key,omitempty"`
	GroupWindow         string         `json:"group_window,omitempty"`
	SourceEventID       string         `json:"source_event_id,omitempty"`
	Rules               []RuleOutcome  `json:"rules,omitempty"`
}

// Delivery is one row of the delivery log.
type Delivery struct {
	ID          string         `json:"id"`
	EventID     string         `json:"event_id"`
	UserID      string         `json:"user_id"`
	Channel     Channel        `json:"channel"`
	Status      DeliveryStatus `json:"status"`
	Reason      string         `json:"reason,omitempty"`
	Attempts    int32          `json:"attempts"`
	NotBefore   *time.Time     `json:"not_before"`
	DeliveredAt *time.Time     `json:"delivered_at"`
	Error       string         `json:"error,omitempty"`
	DigestID    string         `json:"digest_id,omitempty"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	Target      string         `json:"target,omitempty"`
	// Relay is the SMTP relay (host:port) that accepted a delivered email.
	Relay string `json:"relay,omitempty"`
	// EscalatedFrom is "in_app" for a delivery of an event type's
	// escalate.to: held until escalate.after, then sent only if the in-app
	// item was still unread (skipped with reason read_in_app otherwise).
	EscalatedFrom Channel `json:"escalated_from,omitempty"`
}

// Notification is an in-app inbox item.
type Notification struct {
	ID            string         `json:"id"`
	EventID       string         `json:"event_id"`
	Type          string         `json:"type"`
	Title         string         `json:"title"`
	Body          string         `json:"body"`
	Link          string         `json:"link,omitempty"`
	Data          map[string]any `json:"data"`
	DataTruncated bool           `json:"data_truncated,omitempty"`
	Read          bool           `json:"read"`
	ReadAt        *time.Time     `json:"read_at"`
	CreatedAt     time.Time      `json:"created_at"`
	Seen          bool           `json:"seen"`
	SeenAt        *time.Time     `json:"seen_at"`
	Archived      bool           `json:"archived"`
	ArchivedAt    *time.Time     `json:"archived_at"`
	SnoozedUntil  *time.Time     `json:"snoozed_until"`
}

// EventType is an entry of the event catalog.
type EventType struct {
	Key               string    `json:"key"`
	Category          string    `json:"category"`
	Title             string    `json:"title"`
	Urgent            bool      `json:"urgent"`
	Input             bool      `json:"input"`
	DefaultRecipients string    `json:"default_recipients"`
	Channels          []Channel `json:"channels"`
	Templates         Templates `json:"templates"`
	// Throttle is the tenant's cap on each recipient's notifications of
	// the type; nil when there is none.
	Throttle *Throttle `json:"throttle,omitempty"`
	BuiltIn  bool      `json:"built_in"`
	// Escalate is nil when the type does not escalate.
	Escalate *Escalation `json:"escalate,omitempty"`
}

// Escalation holds an event type's To channels behind its in-app item:
// they go to a recipient only if the item is still unread After ("30m",
// from 1m to 7d).
type Escalation struct {
	After string    `json:"after"`
	To    []Channel `json:"to"`
}

// Throttle caps each recipient's notifications of an event type at Max per
// window of Per (a duration such as "1h", "90m" or "7d", from 1m to 30d).
// What is over the cap is skipped with reason throttled, or held until the
// window ends (OverflowDigest).
type Throttle struct {
	Max int    `json:"max"`
	Per string `json:"per"`
	// Overflow is OverflowSkip (the default when empty) or OverflowDigest.
	Overflow Overflow `json:"overflow,omitempty"`
}

// Overflow is what a throttle does with a notification over its cap.
type Overflow string

const (
	OverflowSkip Overflow = "skip"
	// OverflowDigest holds the overflow until the throttle's window ends
	// and sends it then as one notification per channel.
	OverflowDigest Overflow = "digest"
)

// Templates are an event type's Go text/template sources, in English and,
// under Locales, in other languages by BCP 47 tag.
type Templates struct {
	Subject string                     `json:"subject"`
	Text    string                     `json:"text"`
	HTML    string                     `json:"html,omitempty"`
	Action  string                     `json:"action,omitempty"`
	Locales map[string]TemplateVariant `json:"locales,omitempty"`
}

// TemplateVariant is one language's templates; an empty field is the
// English one's.
type TemplateVariant struct {
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text,omitempty"`
	HTML    string `json:"html,omitempty"`
	Action  string `json:"action,omitempty"`
}

// EventTypeList is a page of the catalog.
type EventTypeList struct {
	Data       []EventType `json:"data"`
	NextCursor string      `json:"next_cursor"`
}

// ChannelInfo is one channel of GET /v1/channels. Status is available or
// coming_soon; a channel coming soon (push) cannot be chosen yet.
type ChannelInfo struct {
	Key       Channel `json:"key"`
	Title     string  `json:"title"`
	Available bool    `json:"available"`
	Status    string  `json:"status"`
}

// ChannelList is every channel Herald lists, in planning order.
type ChannelList struct {
	Data []ChannelInfo `json:"data"`
}

// DeliveryPage is a page of the delivery log.
type DeliveryPage struct {
	Data       []Delivery `json:"data"`
	NextCursor string     `json:"next_cursor"`
}

// NotificationPage is a page of a user's inbox.
type NotificationPage struct {
	Data       []Notification `json:"data"`
	NextCursor string         `json:"next_cursor"`
}

// UnreadCount is the answer of GET /v1/users/{id}/notifications/unread_count.
type UnreadCount struct {
	Count  int64 `json:"count"`
	Unseen int64 `json:"unseen"`
}

// MarkedCount is how many inbox items a bulk update marked.
type MarkedCount struct {
	Marked int64 `json:"marked"`
}

// ArchivedCount is how many read items POST .../archive_all_read archived.
type ArchivedCount struct {
	Archived int64 `json:"archived"`
}

// ChannelSettings is one channel of a preference document.
type ChannelSettings struct {
	Enabled      *bool     `json:"enabled,omitempty"`
	Frequency    Frequency `json:"frequency,omitempty"`
	URL          *string   `json:"url,omitempty"`
	RotateSecret bool      `json:"rotate_secret,omitempty"`
	// Secret, SecretSet and PreviousSecretExpiresAt are answered, never sent:
	// the webhook's signing secret is answered once.
	Secret                  string     `json:"secret,omitempty"`
	SecretSet               bool       `json:"secret_set,omitempty"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
}

// QuietHours defers non-urgent email and Slack DMs.
type QuietHours struct {
	Enabled  *bool  `json:"enabled,omitempty"`
	Start    string `json:"start,omitempty"`
	End      string `json:"end,omitempty"`
	Timezone string `json:"timezone,omitempty"`
	Weekends *bool  `json:"weekends,omitempty"`
}

// CategorySettings is one category of a preference document: per channel
// on (true) or off (false), and optionally the category's own frequency,
// the cadence of its email and Slack DMs. In JSON it is one object, the
// channels' flags beside "frequency": {"email": true, "frequency": "daily"};
// MarshalJSON and UnmarshalJSON read and write that shape (the tags below
// only name the fields).
type CategorySettings struct {
	// Channels turns the category on or off per channel; a channel left out
	// is decided by a lower layer.
	Channels map[Channel]bool `json:"-"`
	// Frequency is the category's own cadence; left zero, the channel's
	// frequency applies.
	Frequency CategoryFrequency `json:"frequency,omitempty"`
}

// categoryFrequencyKey is the one key of a category's object that is not
// a channel.
const categoryFrequencyKey = "frequency"

// CategoryFrequency is a category's frequency in one of its two JSON forms:
// All, a string, sets email and Slack DMs alike ("daily"); ByChannel, an
// object, sets them apart ({"email": "weekly"}); only email and slack have
// a frequency. Set one of them: MarshalJSON refuses both. The zero value
// sets nothing, and the channel's frequency applies; JSON null reads as it.
type CategoryFrequency struct {
	All       Frequency
	ByChannel map[Channel]Frequency
}

// IsZero reports whether f sets nothing.
func (f CategoryFrequency) IsZero() bool { return f.All == "" && f.ByChannel == nil }

// On is the frequency f sets on ch, or "" when it leaves ch to the
// channel's frequency (always on a channel other than email and slack).
func (f CategoryFrequency) On(ch Channel) Frequency {
	if ch != ChannelEmail && ch != ChannelSlack {
		return ""
	}
	if v, ok := f.ByChannel[ch]; ok {
		return v
	}
	return f.All
}

// MarshalJSON writes the form f holds: a string, an object per channel, or
// null when f is zero.
func (f CategoryFrequency) MarshalJSON() ([]byte, error) {
	switch {
	case f.All != "" && f.ByChannel != nil:
		return nil, fmt.Errorf("category frequency: set All (%q) or ByChannel, not both", f.All)
	case f.ByChannel != nil:
		return json.Marshal(f.ByChannel)
	case f.All != "":
		return json.Marshal(f.All)
	}
	return []byte("null"), nil
}

// UnmarshalJSON reads either form; null sets nothing.
func (f *CategoryFrequency) UnmarshalJSON(b []byte) error {
	*f = CategoryFrequency{}
	switch t := bytes.TrimSpace(b); {
	case bytes.Equal(t, []byte("null")):
		return nil
	case len(t) > 0 && t[0] == '"':
		return json.Unmarshal(t, &f.All)
	case len(t) > 0 && t[0] == '{':
		return json.Unmarshal(t, &f.ByChannel)
	}
	return fmt.Errorf("category frequency: want a string such as \"daily\" or an object per channel "+
		"such as {\"email\": \"daily\"}, not %.40s", b)
}

// MarshalJSON writes the channels' flags and, unless it is zero, the
// frequency.
func (c CategorySettings) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(c.Channels)+1)
	for ch, on := range c.Channels {
		if ch == categoryFrequencyKey {
			return nil, fmt.Errorf("category settings: %q is not a channel", ch)
		}
		m[string(ch)] = on
	}
	if !c.Frequency.IsZero() {
		m[categoryFrequencyKey] = c.Frequency
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads the object: "frequency", and true or false per
// channel.
func (c *CategorySettings) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("category settings: %w", err)
	}
	*c = CategorySettings{}
	for key, v := range raw {
		if key == categoryFrequencyKey {
			if err := c.Frequency.UnmarshalJSON(v); err != nil {
				return err
			}
			continue
		}
		var on bool
		switch string(bytes.TrimSpace(v)) {
		case "true":
			on = true
		case "false":
		default:
			return fmt.Errorf("category settings: %s: want true or false, not %.40s", key, v)
		}
		if c.Channels == nil {
			c.Channels = map[Channel]bool{}
		}
		c.Channels[Channel(key)] = on
	}
	return nil
}

// PreferenceDocument is a user's preferences (or a tenant's defaults).
type PreferenceDocument struct {
	Channels   map[Channel]ChannelSettings `json:"channels,omitempty"`
	Categories map[string]CategorySettings `json:"categories,omitempty"`
	Events     map[string]map[string]bool  `json:"events,omitempty"`
	QuietHours *QuietHours                 `json:"quiet_hours,omitempty"`
}

// RequiredNotifications are the channels a tenant has made mandatory per
// event type and per category.
type RequiredNotifications struct {
	Events     map[string][]Channel `json:"events,omitempty"`
	Categories map[string][]Channel `json:"categories,omitempty"`
}

// EffectivePreferences is what delivery applies: the user's document over
// the tenant's defaults, with the required notifications.
type EffectivePreferences struct {
	Channels   map[Channel]ChannelSettings `json:"channels,omitempty"`
	Categories map[string]CategorySettings `json:"categories,omitempty"`
	Events     map[string]map[string]bool  `json:"events,omitempty"`
	QuietHours *QuietHours                 `json:"quiet_hours,omitempty"`
	Required   *RequiredNotifications      `json:"required,omitempty"`
}

// Preferences is the answer of the preference routes: the stored document
// and the effective preferences.
type Preferences struct {
	Channels   map[Channel]ChannelSettings `json:"channels,omitempty"`
	Categories map[string]CategorySettings `json:"categories,omitempty"`
	Events     map[string]map[string]bool  `json:"events,omitempty"`
	QuietHours *QuietHours                 `json:"quiet_hours,omitempty"`
	Effective  *EffectivePreferences       `json:"effective,omitempty"`
}

// TenantSettings are the tenant's defaults, required notifications, zone,
// lead threshold, summaries and rules. In a PUT, a field left nil keeps its
// stored value (see PutTenantSettings for resetting one).
type TenantSettings struct {
	Defaults *PreferenceDocument    `json:"defaults,omitempty"`
	Required *RequiredNotifications `json:"required,omitempty"`
	Timezone *string                `json:"timezone,omitempty"`
	// Locale is the users' default language (BCP 47; "en" unless set).
	Locale        *string `json:"locale,omitempty"`
	LeadThreshold *int    `json:"lead_threshold,omitempty"`
	// UsageTrendPercent is how much faster, in percent, a metric must grow
	// this billing period than the last for the usage_trend rule to alert
	// (0 or nil: 50).
	UsageTrendPercent *int       `json:"usage_trend_percent,omitempty"`
	Summaries         *Summaries `json:"summaries,omitempty"`
	Rules             []Rule     `json:"rules,omitempty"`
	Retention         *Retention `json:"retention,omitempty"`
}

// Retention is how long the tenant's records are kept, in days: read or
// archived inbox items (default 90, 1 to 3650) and final deliveries with
// their audit rows and closed events (default 180, 30 to 3650). GET answers
// both; in a PUT a nil period is its default.
type Retention struct {
	InboxDays      *int `json:"inbox_days,omitempty"`
	DeliveriesDays *int `json:"deliveries_days,omitempty"`
}

// Branding is how the tenant's notifications present themselves: emails
// (From name, Reply-To, logo, accent colour, footer), the inbox and
// approval pages, and Slack messages. "" is none.
type Branding struct {
	ProductName string `json:"product_name"`
	LogoURL     string `json:"logo_url"`
	AccentColor string `json:"accent_color"`
	FromName    string `json:"from_name"`
	ReplyTo     string `json:"reply_to"`
	Footer      string `json:"footer"`
}

// BrandingInput is the body of PUT /v1/tenant/branding: a nil field keeps
// its stored value (see PutBranding for resetting one).
type BrandingInput struct {
	ProductName *string `json:"product_name,omitempty"`
	// LogoURL is an absolute https URL; "" removes the logo.
	LogoURL *string `json:"logo_url,omitempty"`
	// AccentColor is #RRGGBB.
	AccentColor *string `json:"accent_color,omitempty"`
	FromName    *string `json:"from_name,omitempty"`
	ReplyTo     *string `json:"reply_to,omitempty"`
	Footer      *string `json:"footer,omitempty"`
}

// Summaries are the tenant's scheduled summaries.
type Summaries struct {
	WeeklyDigest *SummarySetting `json:"weekly_digest,omitempty"`
	DailySummary *SummarySetting `json:"daily_summary,omitempty"`
	// TimeReview is the weekly time tracking review.
	TimeReview *SummarySetting `json:"time_review,omitempty"`
}

// SummarySetting turns a scheduled summary on and says when it runs.
type SummarySetting struct {
	Enabled *bool  `json:"enabled,omitempty"`
	At      string `json:"at,omitempty"`
}

// SlackRoute sends events of the given purposes (categories or event
// types; none or "*" means all) to a Slack channel.
type SlackRoute struct {
	Channel  string   `json:"channel"`
	Purposes []string `json:"purposes,omitempty"`
	// Implied is answered, never stored: the route a webhook URL with no
	// routes stands for (every event that sends to Slack). A PUT ignores
	// routes marked implied.
	Implied bool `json:"implied,omitempty"`
}

// SlackIntegrationInput is the body of PUT /v1/integrations/slack.
type SlackIntegrationInput struct {
	WebhookURL *string      `json:"webhook_url,omitempty"`
	BotToken   *string      `json:"bot_token,omitempty"`
	Routes     []SlackRoute `json:"routes,omitempty"`
}

// SlackIntegration is the tenant's Slack setup; secrets are write-only.
type SlackIntegration struct {
	WebhookURLSet bool         `json:"webhook_url_set"`
	BotTokenSet   bool         `json:"bot_token_set"`
	Routes        []SlackRoute `json:"routes"`
	UpdatedAt     *time.Time   `json:"updated_at,omitempty"`
}

// WebhookIntegrationInput is the body of PUT /v1/integrations/webhook.
type WebhookIntegrationInput struct {
	URL          *string  `json:"url,omitempty"`
	EventTypes   []string `json:"event_types,omitempty"`
	RotateSecret bool     `json:"rotate_secret,omitempty"`
}

// WebhookIntegration is the tenant's webhook; Secret is answered once, by
// the PUT that makes it.
type WebhookIntegration struct {
	URL                     string     `json:"url"`
	EventTypes              []string   `json:"event_types"`
	Secret                  string     `json:"secret,omitempty"`
	SecretSet               bool       `json:"secret_set"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
	DisabledAt              *time.Time `json:"disabled_at"`
	DisabledReason          string     `json:"disabled_reason,omitempty"`
	UpdatedAt               *time.Time `json:"updated_at,omitempty"`
}

// TestNotificationInput is the body of POST /v1/test-notification.
type TestNotificationInput struct {
	UserID string `json:"user_id,omitempty"`
}

// TestNotificationResult says what each configured channel did with the
// sample.
type TestNotificationResult struct {
	EventID  string                    `json:"event_id"`
	UserID   string                    `json:"user_id"`
	Channels []TestNotificationChannel `json:"channels"`
}

// TestNotificationChannel is one channel's outcome of a test notification.
type TestNotificationChannel struct {
	Channel Channel `json:"channel"`
	Target  string  `json:"target"`
	Status  string  `json:"status"`
	Reason  string  `json:"reason,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// RetryAccepted is the answer of POST /v1/deliveries/{id}/retry.
type RetryAccepted struct {
	DeliveryID string `json:"delivery_id"`
	EventID    string `json:"event_id"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
}

// BulkRetryInput filters the failed deliveries POST /v1/deliveries/retry
// re-delivers.
type BulkRetryInput struct {
	EventID string     `json:"event_id,omitempty"`
	Channel Channel    `json:"channel,omitempty"`
	Since   *time.Time `json:"since,omitempty"`
	Limit   int        `json:"limit,omitempty"`
	Cursor  string     `json:"cursor,omitempty"`
}

// BulkRetryAccepted says how many deliveries were queued again; a non-empty
// NextCursor means more failed deliveries match.
type BulkRetryAccepted struct {
	Queued     int    `json:"queued"`
	Events     int    `json:"events"`
	NextCursor string `json:"next_cursor"`
}

// CancelResult is the answer of DELETE /v1/events/{id}.
type CancelResult struct {
	EventID   string `json:"event_id"`
	Status    string `json:"status"`
	Cancelled int    `json:"cancelled"`
}

// AuditVerify is the answer of GET /v1/audit/verify: OK, or the first
// broken row.
type AuditVerify struct {
	OK     bool         `json:"ok"`
	Rows   int64        `json:"rows"`
	Broken *AuditBroken `json:"broken,omitempty"`
	// From is the seq the verified chain starts at: 1 unless retention
	// pruned the rows before it.
	From        int64            `json:"from"`
	Checkpoints int64            `json:"checkpoints"`
	Checkpoint  *AuditCheckpoint `json:"checkpoint,omitempty"`
}

// AuditBroken is the first row of the audit chain that does not verify.
type AuditBroken struct {
	ID         int64  `json:"id"`
	Seq        int64  `json:"seq"`
	DeliveryID string `json:"delivery_id"`
	Problem    string `json:"problem"`
}

// AuditCheckpoint is a signed statement of the chain's head at a time.
type AuditCheckpoint struct {
	TenantID  string    `json:"tenant_id"`
	Seq       int64     `json:"seq"`
	Hash      string    `json:"hash"`
	At        time.Time `json:"at"`
	KeyID     string    `json:"key_id"`
	Signature string    `json:"signature"`
}

// AuditRow is one row of the tenant's hash-chained audit log.
type AuditRow struct {
	ID          int64     `json:"id"`
	Seq         int64     `json:"seq"`
	DeliveryID  string    `json:"delivery_id"`
	EventID     string    `json:"event_id"`
	Recipient   string    `json:"recipient"`
	Channel     Channel   `json:"channel"`
	Status      string    `json:"status"`
	Reason      string    `json:"reason"`
	ContentHash string    `json:"content_hash"`
	At          time.Time `json:"at"`
	PrevHash    string    `json:"prev_hash"`
	Hash        string    `json:"hash"`
}

// AuditPage is a page of the audit log.
type AuditPage struct {
	Data       []AuditRow `json:"data"`
	NextCursor string     `json:"next_cursor"`
}

// Suppression is an address on the tenant's suppression list: email to it
// is skipped (reason suppressed). Reason is bounce or complaint; Detail is
// the reply that listed a bounced address, and DeliveryID the delivery it
// refused (empty for an address added by POST).
type Suppression struct {
	Address    string    `json:"address"`
	Reason     string    `json:"reason"`
	Detail     string    `json:"detail,omitempty"`
	DeliveryID string    `json:"delivery_id,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// SuppressionPage is a page of the suppression list, newest first.
type SuppressionPage struct {
	Data       []Suppression `json:"data"`
	NextCursor string        `json:"next_cursor"`
}

// SuppressionInput is the body of POST /v1/suppressions: Reason is
// complaint (when empty) or bounce.
type SuppressionInput struct {
	Address string `json:"address"`
	Reason  string `json:"reason,omitempty"`
}

// NotificationState sets an inbox item's state; a nil field is left as it
// is.
type NotificationState struct {
	Seen     *bool `json:"seen,omitempty"`
	Read     *bool `json:"read,omitempty"`
	Archived *bool `json:"archived,omitempty"`
}

// Snooze hides an inbox item until a time.
type Snooze struct {
	Until time.Time `json:"until"`
}

// RuleOutcome is what one rule decided for an input event.
type RuleOutcome struct {
	Rule           string    `json:"rule"`
	Fired          bool      `json:"fired"`
	Reason         string    `json:"reason"`
	Detail         string    `json:"detail,omitempty"`
	EmittedType    string    `json:"emitted_type,omitempty"`
	EmittedEventID string    `json:"emitted_event_id,omitempty"`
	EvaluatedAt    time.Time `json:"evaluated_at"`
}

// Rule is a tenant rule; an entry named like a built-in changes only the
// fields it gives.
type Rule struct {
	Name    string            `json:"name"`
	On      string            `json:"on,omitempty"`
	When    string            `json:"when,omitempty"`
	Emit    string            `json:"emit,omitempty"`
	Key     []string          `json:"key,omitempty"`
	AtMost  string            `json:"at_most,omitempty"`
	Field   string            `json:"field,omitempty"`
	EmitOn  map[string]string `json:"emit_on,omitempty"`
	Initial string            `json:"initial,omitempty"`
	// Supersedes names rules (fed by the same input) this one makes stale:
	// they hold back when its condition holds, and never fire for a key
	// once it has.
	Supersedes []string `json:"supersedes,omitempty"`
	Disabled   *bool    `json:"disabled,omitempty"`
}

// EventTypeInput is the body of PUT /v1/event-types/{key}.
type EventTypeInput struct {
	Category          string              `json:"category,omitempty"`
	Title             string              `json:"title,omitempty"`
	Urgent            *bool               `json:"urgent,omitempty"`
	DefaultRecipients string              `json:"default_recipients,omitempty"`
	Channels          []Channel           `json:"channels,omitempty"`
	Templates         *EventTypeTemplates `json:"templates,omitempty"`
	RequiredData      []string            `json:"required_data,omitempty"`
	Throttle          *Throttle           `json:"throttle,omitempty"`
	Escalate          *Escalation         `json:"escalate,omitempty"`
}

// EventTypeTemplates are the templates of an EventTypeInput.
type EventTypeTemplates struct {
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text,omitempty"`
	HTML    string `json:"html,omitempty"`
	Action  string `json:"action,omitempty"`
	// Locales are the same templates in other languages, by BCP 47 tag.
	Locales map[string]TemplateVariant `json:"locales,omitempty"`
}

// BatchEvent is the event a batch emits once every job is complete.
type BatchEvent struct {
	Type       string         `json:"type"`
	Recipients *Recipients    `json:"recipients,omitempty"`
	Data       map[string]any `json:"data,omitempty"`
	Link       string         `json:"link,omitempty"`
	Urgent     bool           `json:"urgent,omitempty"`
}

// BatchInput is the body of POST /v1/batches.
type BatchInput struct {
	ID           string     `json:"id"`
	ExpectedJobs int        `json:"expected_jobs"`
	Event        BatchEvent `json:"event"`
	ExpiresIn    string     `json:"expires_in,omitempty"`
}

// Batch is a fan-in batch.
type Batch struct {
	ID             string     `json:"id"`
	Status         string     `json:"status"`
	ExpectedJobs   int        `json:"expected_jobs"`
	CompletedJobs  int        `json:"completed_jobs"`
	Event          BatchEvent `json:"event"`
	ExpiresAt      time.Time  `json:"expires_at"`
	CreatedAt      time.Time  `json:"created_at"`
	ClosedAt       *time.Time `json:"closed_at"`
	EmittedEventID *string    `json:"emitted_event_id"`
	WorkflowID     string     `json:"workflow_id"`
}

// JobCompletion is the answer of POST /v1/batches/{id}/jobs/{job}/complete.
type JobCompletion struct {
	BatchID       string `json:"batch_id"`
	Job           string `json:"job"`
	Duplicate     bool   `json:"duplicate"`
	Status        string `json:"status"`
	CompletedJobs int    `json:"completed_jobs,omitempty"`
	ExpectedJobs  int    `json:"expected_jobs,omitempty"`
}

// ExperimentInput is the body of POST /v1/experiments.
type ExperimentInput struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Variants      []string `json:"variants"`
	MinSampleSize int      `json:"min_sample_size"`
	CheckAt       string   `json:"check_at,omitempty"`
	// Link is the experiment's page in the caller's app (an absolute http
	// or https URL), which its notifications link to.
	Link string `json:"link,omitempty"`
}

// Experiment is an A/B experiment's state.
type Experiment struct {
	ID            string           `json:"id"`
	Name          string           `json:"name"`
	Variants      []string         `json:"variants"`
	MinSampleSize int              `json:"min_sample_size"`
	CheckAt       string           `json:"check_at"`
	Link          string           `json:"link,omitempty"`
	Status        string           `json:"status"`
	Counts        map[string]int64 `json:"counts"`
	Checks        int              `json:"checks"`
	NextCheckAt   *time.Time       `json:"next_check_at"`
	ReadyAt       *time.Time       `json:"ready_at"`
	Winner        string           `json:"winner,omitempty"`
	ConcludedAt   *time.Time       `json:"concluded_at"`
	ReadyEventID  string           `json:"ready_event_id,omitempty"`
}

// ExperimentSamples is the body of POST /v1/experiments/{id}/samples: each
// variant's current total.
type ExperimentSamples struct {
	Counts map[string]int64 `json:"counts"`
}

// SamplesAccepted is the answer of POST /v1/experiments/{id}/samples.
type SamplesAccepted struct {
	ExperimentID string           `json:"experiment_id"`
	Counts       map[string]int64 `json:"counts"`
}

// ExperimentConclusion is the body of POST /v1/experiments/{id}/conclude.
type ExperimentConclusion struct {
	Winner string `json:"winner"`
}

// Approval is an approval's state.
type Approval struct {
	ID          string                 `json:"id,omitempty"`
	Status      string                 `json:"status,omitempty"`
	Level       int                    `json:"level,omitempty"`
	DecidedBy   *string                `json:"decided_by,omitempty"`
	Decision    string                 `json:"decision,omitempty"`
	Comment     string                 `json:"comment,omitempty"`
	ClosedAt    *time.Time             `json:"closed_at,omitempty"`
	Decisions   []ApprovalDecision     `json:"decisions,omitempty"`
	Title       string                 `json:"title,omitempty"`
	Description string                 `json:"description,omitempty"`
	Requester   string                 `json:"requester,omitempty"`
	Link        string                 `json:"link,omitempty"`
	Levels      []ApprovalLevel        `json:"levels,omitempty"`
	RemindEvery string                 `json:"remind_every,omitempty"`
	CallbackURL string                 `json:"callback_url,omitempty"`
	CreatedAt   *time.Time             `json:"created_at,omitempty"`
	ExpiresAt   *time.Time             `json:"expires_at,omitempty"`
	Deadline    *time.Time             `json:"deadline,omitempty"`
	Asked       []ApprovalAsked        `json:"asked,omitempty"`
	History     []ApprovalHistoryEntry `json:"history,omitempty"`
	WorkflowID  string                 `json:"workflow_id,omitempty"`
}

// ApprovalAsked is an approver asked, and at which level.
type ApprovalAsked struct {
	User  string `json:"user"`
	Level int    `json:"level"`
}

// ApprovalDecision is one approver's decision.
type ApprovalDecision struct {
	Approver string     `json:"approver"`
	Decision string     `json:"decision"`
	Comment  string     `json:"comment,omitempty"`
	At       *time.Time `json:"at,omitempty"`
}

// ApprovalDecisionInput is the body of POST /v1/approvals/{id}/decision.
type ApprovalDecisionInput struct {
	Approver string `json:"approver"`
	Decision string `json:"decision"`
	Comment  string `json:"comment,omitempty"`
}

// ApprovalHistoryEntry is one step of an approval's history.
type ApprovalHistoryEntry struct {
	Kind   string    `json:"kind"`
	Level  int       `json:"level,omitempty"`
	User   string    `json:"user,omitempty"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
}

// ApprovalInput is the body of POST /v1/approvals.
type ApprovalInput struct {
	ID          string          `json:"id"`
	Title       string          `json:"title"`
	Description string          `json:"description,omitempty"`
	Requester   string          `json:"requester"`
	Link        string          `json:"link,omitempty"`
	Levels      []ApprovalLevel `json:"levels"`
	RemindEvery string          `json:"remind_every,omitempty"`
	CallbackURL string          `json:"callback_url,omitempty"`
}

// ApprovalLevel is one level of approvers and how long it has to decide.
type ApprovalLevel struct {
	Approvers []string `json:"approvers"`
	Timeout   string   `json:"timeout"`
}

// InboxToken is a short-lived token for a user's browser inbox.
type InboxToken struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ApprovalPageDecision is the form an approver posts to POST /a/{token}.
type ApprovalPageDecision struct {
	Decision string
	Comment  string
}

// PreviewInput is the body of POST /v1/event-types/{key}/preview: the
// event's data, for whom (empty UserID: a sample recipient), and
// optionally one channel and the event's link.
type PreviewInput struct {
	UserID  string         `json:"user_id,omitempty"`
	Data    map[string]any `json:"data"`
	Channel Channel        `json:"channel,omitempty"`
	Link    string         `json:"link,omitempty"`
	// Locale renders the variant a reader of this BCP 47 tag would get.
	Locale string `json:"locale,omitempty"`
}

// Preview is what an event of a type would deliver on each channel, and
// whether the recipient would get it. Nothing was sent.
type Preview struct {
	Type string `json:"type"`
	// UserID is nil for the sample recipient.
	UserID *string `json:"user_id"`
	Urgent bool    `json:"urgent"`
	// Locale is the language rendered, after the fallback chain.
	Locale   string          `json:"locale"`
	Channels PreviewChannels `json:"channels"`
	// Throttle is the type's throttle as it stands for the recipient; nil
	// for a type without one.
	Throttle *PreviewThrottle `json:"throttle,omitempty"`
}

// PreviewThrottle says how many of the type's notifications the recipient
// has had in the current window: at Max, the rest are skipped as throttled.
type PreviewThrottle struct {
	Max        int       `json:"max"`
	Per        string    `json:"per"`
	Used       int       `json:"used"`
	WindowEnds time.Time `json:"window_ends"`
}

// PreviewChannels holds one entry per channel the type delivers on (nil
// where it does not, or where another channel was asked for).
type PreviewChannels struct {
	InApp   *InAppPreview   `json:"in_app,omitempty"`
	Email   *EmailPreview   `json:"email,omitempty"`
	Slack   *SlackPreview   `json:"slack,omitempty"`
	Webhook *WebhookPreview `json:"webhook,omitempty"`
}

// InAppPreview is the inbox item. WouldSend and Reason (a skip reason
// such as preference_disabled, or not_configured) say whether the
// recipient would get it; QuietHours that their quiet hours apply.
type InAppPreview struct {
	WouldSend  bool   `json:"would_send"`
	Reason     string `json:"reason,omitempty"`
	QuietHours bool   `json:"quiet_hours,omitempty"`
	Title      string `json:"title"`
	Body       string `json:"body"`
	Link       string `json:"link,omitempty"`
}

// EmailPreview is the email (its unsubscribe link a placeholder).
type EmailPreview struct {
	WouldSend      bool   `json:"would_send"`
	Reason         string `json:"reason,omitempty"`
	QuietHours     bool   `json:"quiet_hours,omitempty"`
	EscalatesAfter string `json:"escalates_after,omitempty"`
	To             string `json:"to"`
	Subject        string `json:"subject"`
	Text           string `json:"text"`
	HTML           string `json:"html"`
}

// SlackPreview is the Slack message: DM says the recipient would get a
// direct message, Channels are the tenant's routed posts.
type SlackPreview struct {
	WouldSend      bool              `json:"would_send"`
	Reason         string            `json:"reason,omitempty"`
	QuietHours     bool              `json:"quiet_hours,omitempty"`
	EscalatesAfter string            `json:"escalates_after,omitempty"`
	DM             bool              `json:"dm"`
	Channels       []string          `json:"channels"`
	Text           string            `json:"text"`
	Blocks         []json.RawMessage `json:"blocks"`
}

// WebhookPreview is the outbound webhook payload and the endpoints that
// would get it.
type WebhookPreview struct {
	WouldSend      bool           `json:"would_send"`
	Reason         string         `json:"reason,omitempty"`
	QuietHours     bool           `json:"quiet_hours,omitempty"`
	EscalatesAfter string         `json:"escalates_after,omitempty"`
	UserEndpoint   bool           `json:"user_endpoint"`
	TenantEndpoint bool           `json:"tenant_endpoint"`
	Payload        WebhookPayload `json:"payload"`
}

// WebhookPayload is the body of an outbound webhook; in a preview its
// EventID is the nil UUID.
type WebhookPayload struct {
	EventID   string          `json:"event_id"`
	EventType string          `json:"event_type"`
	Timestamp time.Time       `json:"timestamp"`
	UserID    string          `json:"user_id,omitempty"`
	Data      json.RawMessage `json:"data"`
}

// EventTypeVersion is one stored definition of a tenant's event type.
// An empty field of Definition is one the tenant did not set;
// RestoreEventTypeVersion puts it back as it was.
type EventTypeVersion struct {
	Version    int            `json:"version"`
	CreatedAt  time.Time      `json:"created_at"`
	Definition EventTypeInput `json:"definition"`
}

// EventTypeVersionPage is a page of versions, newest first.
type EventTypeVersionPage struct {
	Data       []EventTypeVersion `json:"data"`
	NextCursor string             `json:"next_cursor"`
}
