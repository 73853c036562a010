// Package catalog holds Herald's event types: the built-in catalog of the product
// contract and the rules that merge a tenant's own definitions over it.
package catalog

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/heraldhq/herald/approval"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/locale"
)

// TestNotification is the built-in type of POST /v1/test-notification.
const TestNotification = "system.test"

// Scheduled summaries' types and their category: Herald posts them on the
// tenant's schedules. Each email lists its recipient's own activity of the
// period (see the activities' summary data).
const (
	WeeklyDigest      = "summary.weekly_digest"
	DailySummary      = "summary.daily_summary"
	CategorySummaries = "summaries"
	// TimeReview is the weekly time-tracking review: to each analytics
	// subscriber, the time entries of their week and which of them wait
	// for a review or a correction.
	TimeReview = "summary.time_review"
	// BatchExpired records a batch whose jobs did not all complete in time.
	BatchExpired = "batch.expired"
	// ExperimentConcluded tells the backend an experiment's winner.
	ExperimentConcluded = "experiment.concluded"
	// ExperimentReady tells the owner every variant has its sample.
	ExperimentReady = "outreach.experiment_ready"
	// LeadQualified is the lead brief: the rules emit it, its email to the
	// owner is required by default, and Slack shows it with its fields.
	LeadQualified = "lead.qualified"
)

// IsSummary reports whether key is a scheduled summary's type.
func IsSummary(key string) bool {
	return key == WeeklyDigest || key == DailySummary || key == TimeReview
}

// Digest is the type of the digests Herald sends: one per user, channel and
// window, listing the window's notifications (see the digest package).
const Digest = "herald.digest"

// Collapsed is the type of a collapse window's one notification: the events
// of one type with one group key that reached a user inside the window.
const Collapsed = "herald.collapsed"

// Default recipient kinds of an event type, used when an event names none.
const (
	RecipientsNamed       = "named"       // the users the event names
	RecipientsSubscribers = "subscribers" // everyone in the tenant subscribed to the category
	RecipientsOwner       = "owner"       // users with role owner
	RecipientsNone        = "none"        // input types: they feed rules and notify nobody
)

// Templates are Go text/template sources rendered with the event data.
// HTML is optional: when empty the text is wrapped in Herald's email layout.
type Templates struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html,omitempty"`
	// Action labels the email's button to the event's link ("View details"
	// when empty).
	Action string `json:"action,omitempty"`
	// Locales are the same templates in other languages, by BCP 47 tag
	// ("de", "fr", "pt-BR"); the fields above are English. A reader gets the
	// variant their locale matches (see package locale); a subject or text
	// a variant leaves empty is the English one, and so is the HTML of a
	// variant with neither text nor HTML (one with text of its own is laid
	// out in Herald's layout). Variants have no locales of their own.
	Locales map[string]Templates `json:"locales,omitempty"`
}

// EventType describes one kind of event: who hears of it, where and how.
type EventType struct {
	Key        string            `json:"key"`
	Category   string            `json:"category"`
	Title      string            `json:"title"`
	Urgent     bool              `json:"urgent"`
	Input      bool              `json:"input"`
	Recipients string            `json:"default_recipients"`
	Channels   []channel.Channel `json:"channels"`
	Templates  Templates         `json:"templates"`
	// Required names the data keys without which a notification of this type
	// says nothing: MissingData checks an event's data against them.
	Required []string `json:"required_data,omitempty"`
	// Throttle caps each recipient's notifications of the type; nil for
	// none. Only a tenant sets one: no built-in type is throttled.
	Throttle *Throttle `json:"throttle,omitempty"`
	BuiltIn  bool      `json:"built_in"`
	// Internal types are sent by Herald itself (digests); events of them
	// cannot be posted, and preferences cannot name them.
	Internal bool `json:"internal,omitempty"`
	// Escalate, when set, holds some channels until the in-app item has
	// gone unread for a while (see Escalation).
	Escalate *Escalation `json:"escalate,omitempty"`
}

var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// ValidKey reports whether key has the dotted lower-case shape of event type keys.
func ValidKey(key string) bool { return len(key) <= 100 && keyPattern.MatchString(key) }

// Notifies reports whether events of this type reach recipients themselves.
func (t EventType) Notifies() bool { return !t.Input && t.Recipients != RecipientsNone }

// Has reports whether the type delivers on channel by default.
func (t EventType) Has(ch channel.Channel) bool {
	return slices.Contains(t.Channels, ch)
}

// Catalog is an immutable set of event types keyed by their key.
type Catalog struct{ types map[string]EventType }

// Lookup returns the event type for key.
func (c Catalog) Lookup(key string) (EventType, bool) {
	t, ok := c.types[key]
	return t, ok
}

// All returns every event type sorted by key.
func (c Catalog) All() []EventType {
	out := make([]EventType, 0, len(c.types))
	for _, t := range c.types {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// builtIn is built once: catalogs are immutable, so every caller shares it.
var builtIn = func() Catalog {
	types := make(map[string]EventType, len(builtIns))
	for _, t := range builtIns {
		t.BuiltIn = true
		t.Templates.Locales = translations(t.Key)
		types[t.Key] = t
	}
	return Catalog{types: types}
}()

// translations are a built-in type's templates in the languages Herald
// ships besides English.
func translations(key string) map[string]Templates {
	out := map[string]Templates{}
	for lang, set := range map[string]map[string]Templates{"de": german, "fr": french} {
		if t, ok := set[key]; ok {
			out[lang] = t
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// BuiltIn returns the product's built-in catalog.
func BuiltIn() Catalog { return builtIn }

// Resolve returns the event type key with a tenant's stored definition
// (nil for none) over the built-in one. A definition of a built-in key
// replaces only the fields it sets.
func (c Catalog) Resolve(key string, def []byte) (EventType, bool, error) {
	t, ok := c.types[key]
	if def == nil {
		return t, ok, nil
	}
	t.Key = key
	// json.Unmarshal fills a slice in place: without a copy, an override of
	// channels or required data would write into the built-in type every
	// tenant shares.
	t.Channels = slices.Clone(t.Channels)
	t.Required = slices.Clone(t.Required)
	if t.Escalate != nil {
		e := *t.Escalate
		e.To = slices.Clone(e.To)
		t.Escalate = &e
	}
	t.Templates.Locales = maps.Clone(t.Templates.Locales)
	if err := json.Unmarshal(def, &t); err != nil {
		return EventType{}, false, fmt.Errorf("event type %s: %w", key, err)
	}
	t.Key = key
	if rewordsWithoutLocales(def) {
		// The built-in translations say what the built-in English says:
		// a tenant that rewords it gets its own words in every language
		// until it translates them.
		t.Templates.Locales = nil
	}
	return t, true, nil
}

// rewordsWithoutLocales reports whether a stored definition sets the
// subject, text or HTML template but no locales.
func rewordsWithoutLocales(def []byte) bool {
	var d struct {
		Templates *struct {
			Subject *string         `json:"subject"`
			Text    *string         `json:"text"`
			HTML    *string         `json:"html"`
			Locales json.RawMessage `json:"locales"`
		} `json:"templates"`
	}
	if json.Unmarshal(def, &d) != nil || d.Templates == nil {
		return false
	}
	tp := d.Templates
	return (tp.Subject != nil || tp.Text != nil || tp.HTML != nil) && tp.Locales == nil
}

// LocaleTags returns the tags of t's variants, English first, then the
// others in tag order.
func (t Templates) LocaleTags() []string {
	tags := []string{locale.DefaultTag}
	for _, k := range slices.Sorted(maps.Keys(t.Locales)) {
		if k != locale.DefaultTag {
			tags = append(tags, k)
		}
	}
	return tags
}

// WithTenant overlays a tenant's definitions (raw JSON documents as stored) on c.
func (c Catalog) WithTenant(defs map[string][]byte) (Catalog, error) {
	if len(defs) == 0 {
		return c, nil
	}
	types := make(map[string]EventType, len(c.types)+len(defs))
	for k, t := range c.types {
		types[k] = t
	}
	for key, raw := range defs {
		t, _, err := c.Resolve(key, raw)
		if err != nil {
			return Catalog{}, err
		}
		types[key] = t
	}
	return Catalog{types: types}, nil
}

// Bounds of an escalation's wait.
const (
	MinEscalateAfter = time.Minute
	MaxEscalateAfter = 7 * 24 * time.Hour
)

// Escalation holds a type's To channels behind its in-app item: they go
// to a recipient only if the item is still unread After the event is sent.
type Escalation struct {
	// After is a duration as approval.ParseDuration reads it ("30m", "2h",
	// "1d"), kept as the tenant wrote it.
	After string            `json:"after"`
	To    []channel.Channel `json:"to"`
}

// Wait is how long the escalation holds its channels, checked against the
// bounds; an escalation that fails the check was never stored.
func (e Escalation) Wait() (time.Duration, error) {
	d, err := approval.ParseDuration(e.After)
	if err != nil {
		return 0, err
	}
	if d < MinEscalateAfter || d > MaxEscalateAfter {
		return 0, fmt.Errorf("%q is outside 1m to 7d", e.After)
	}
	return d, nil
}

// EscalatesTo reports whether ch is held for the type's escalation.
func (t EventType) EscalatesTo(ch channel.Channel) bool {
	return t.Escalate != nil && slices.Contains(t.Escalate.To, ch)
}

// Plans reports whether the type plans deliveries on ch for its recipients:
// its channels and the channels it escalates to.
func (t EventType) Plans(ch channel.Channel) bool { return t.Has(ch) || t.EscalatesTo(ch) }
