// Package catalog holds Herald's event types: the built-in catalog of the product
// contract and the rules that merge a tenant's own definitions over it.
package catalog

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
)

// Channels a recipient can be reached on.
const (
	ChannelInApp   = "in_app"
	ChannelEmail   = "email"
	ChannelSlack   = "slack"
	ChannelWebhook = "webhook"
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
	// BatchExpired records a batch whose jobs did not all complete in time.
	BatchExpired = "batch.expired"
	// ExperimentConcluded tells the backend an experiment's winner.
	ExperimentConcluded = "experiment.concluded"
)

// IsSummary reports whether key is a scheduled summary's type.
func IsSummary(key string) bool { return key == WeeklyDigest || key == DailySummary }

// Digest is the type of the digests Herald sends: one per user, channel and
// window, listing the window's notifications (see the digest package).
const Digest = "herald.digest"

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
}

// EventType describes one kind of event: who hears of it, where and how.
type EventType struct {
	Key        string    `json:"key"`
	Category   string    `json:"category"`
	Title      string    `json:"title"`
	Urgent     bool      `json:"urgent"`
	Input      bool      `json:"input"`
	Recipients string    `json:"default_recipients"`
	Channels   []string  `json:"channels"`
	Templates  Templates `json:"templates"`
	// Required names the data keys without which a notification of this type
	// says nothing: MissingData checks an event's data against them.
	Required []string `json:"required_data,omitempty"`
	BuiltIn  bool     `json:"built_in"`
	// Internal types are sent by Herald itself (digests); events of them
	// cannot be posted, and preferences cannot name them.
	Internal bool `json:"internal,omitempty"`
}

var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// ValidKey reports whether key has the dotted lower-case shape of event type keys.
func ValidKey(key string) bool { return len(key) <= 100 && keyPattern.MatchString(key) }

// Notifies reports whether events of this type reach recipients themselves.
func (t EventType) Notifies() bool { return !t.Input && t.Recipients != RecipientsNone }

// Has reports whether the type delivers on channel by default.
func (t EventType) Has(channel string) bool {
	for _, c := range t.Channels {
		if c == channel {
			return true
		}
	}
	return false
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
		types[t.Key] = t
	}
	return Catalog{types: types}
}()

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
	if err := json.Unmarshal(def, &t); err != nil {
		return EventType{}, false, fmt.Errorf("event type %s: %w", key, err)
	}
	t.Key = key
	return t, true, nil
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
