// Package prefs holds the preference documents of users and tenants and
// resolves them into a decision per delivery. It does no I/O: the API
// validates documents with it and the activities decide with it.
package prefs

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/digest"
	"github.com/heraldhq/herald/locale"
	"github.com/heraldhq/herald/quiet"
	"github.com/heraldhq/herald/rules"
)

// Channel is one channel's settings. Nil fields are unset: a lower layer decides.
type Channel struct {
	Enabled   *bool            `json:"enabled,omitempty"`
	Frequency digest.Frequency `json:"frequency,omitempty"`
	URL       *string          `json:"url,omitempty"`

	// A user's own webhook endpoint is signed with a secret of its own,
	// sealed apart from the document. These fields are what a PUT asks of
	// it and what the API answers about it; none is ever stored.
	//
	// RotateSecret (PUT) makes a new secret; the old one signs beside it
	// for 24 hours.
	RotateSecret bool `json:"rotate_secret,omitempty"`
	// Secret is answered once: when the endpoint gets its first secret and
	// when it is rotated.
	Secret string `json:"secret,omitempty"`
	// SecretSet says the endpoint has a secret (the secret is never shown
	// again).
	SecretSet bool `json:"secret_set,omitempty"`
	// PreviousSecretExpiresAt: during a rotation, when the old secret
	// stops signing.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
}

// WebhookAnswers reports whether c carries any of the webhook secret's
// fields, which only a user's own webhook has.
func (c Channel) WebhookAnswers() bool {
	return c.RotateSecret || c.Secret != "" || c.SecretSet || c.PreviousSecretExpiresAt != nil
}

// Stored is d as it is stored: without the webhook secret's fields.
func (d Document) Stored() Document {
	if len(d.Channels) == 0 {
		return d
	}
	out := d
	out.Channels = make(map[string]Channel, len(d.Channels))
	for name, c := range d.Channels {
		c.RotateSecret, c.Secret, c.SecretSet, c.PreviousSecretExpiresAt = false, "", false, nil
		out.Channels[name] = c
	}
	return out
}

// QuietHours is a daily window, and optionally whole weekends, in which
// non-urgent email and Slack DMs wait. An empty Timezone means the user's
// own time zone, else the tenant's.
type QuietHours struct {
	Enabled  bool   `json:"enabled"`
	Start    string `json:"start,omitempty"`
	End      string `json:"end,omitempty"`
	Timezone string `json:"timezone,omitempty"`
	Weekends bool   `json:"weekends,omitempty"`
}

// Document is the preference document of the API, for a user or as a
// tenant's defaults.
type Document struct {
	Channels   map[string]Channel         `json:"channels,omitempty"`
	Categories map[string]Category        `json:"categories,omitempty"`
	Events     map[string]map[string]bool `json:"events,omitempty"`
	QuietHours *QuietHours                `json:"quiet_hours,omitempty"`
}

// Required marks event types and categories that users cannot turn off on
// the listed channels.
type Required struct {
	Events     map[string][]channel.Channel `json:"events,omitempty"`
	Categories map[string][]channel.Channel `json:"categories,omitempty"`
}

// DefaultRequired is what every tenant requires until it says otherwise:
// the lead brief's email to the owner, which Kilo's owners must not
// one-click away. A tenant lifts a default by naming its type with no
// channels ("lead.qualified": []); a type it does not name keeps the
// default, so a settings document written before a default existed, or
// one that leaves required out, still gets it.
func DefaultRequired() Required {
	return Required{Events: map[string][]channel.Channel{catalog.LeadQualified: {channel.Email}}}
}

// withDefaults is r with DefaultRequired's entries for the types r does not
// name.
func (r Required) withDefaults() Required {
	for key, chans := range DefaultRequired().Events {
		if _, named := r.Events[key]; named {
			continue
		}
		if r.Events == nil {
			r.Events = map[string][]channel.Channel{}
		} else {
			r.Events = maps.Clone(r.Events)
		}
		r.Events[key] = chans
	}
	return r
}

// Settings are a tenant's settings: the defaults under every user's
// document, what is required, and the values rules read. The time zone is
// the tenant's own (stored beside the settings) and the fallback of quiet
// hours without one.
type Settings struct {
	Defaults      Document `json:"defaults"`
	Required      Required `json:"required"`
	Timezone      string   `json:"timezone"`
	LeadThreshold int      `json:"lead_threshold"`
	// Locale is the tenant's default language (BCP 47): what its users
	// read unless they set their own; empty is English.
	Locale string `json:"locale,omitempty"`
	// UsageTrendPercent is how much faster (in percent) a metric must grow
	// this period than the last for the usage_trend rule to alert.
	UsageTrendPercent int `json:"usage_trend_percent,omitempty"`
	// Summaries are the scheduled summaries the tenant sends, by name
	// (SummaryWeekly, SummaryDaily).
	Summaries map[string]Summary `json:"summaries,omitempty"`
	// Rules are the tenant's edits of the built-in rules (by name) and its
	// own rules; rules.Effective merges them.
	Rules []rules.Rule `json:"rules,omitempty"`
	// Retention is how long the tenant's records are kept.
	Retention Retention `json:"retention,omitzero"`
}

// Scheduled summaries a tenant may enable.
const (
	SummaryWeekly = "weekly_digest" // Monday, the week's activity
	SummaryDaily  = "daily_summary" // every day, the day's activity
	// SummaryTimeReview is the time-tracking review: Monday, each user's
	// time entries of the week, those waiting for review first.
	SummaryTimeReview = "time_review"
)

// SummaryKinds lists the scheduled summaries, in the order the API shows them.
var SummaryKinds = []string{SummaryWeekly, SummaryDaily, SummaryTimeReview}

// WeeklySummary reports whether the summary kind goes out once a week (Mondays).
func WeeklySummary(kind string) bool { return kind == SummaryWeekly || kind == SummaryTimeReview }

// Summary is one scheduled summary's setting: on or off, and the local time
// (in the tenant's zone) it goes out, 09:00 unless set.
type Summary struct {
	Enabled bool   `json:"enabled"`
	At      string `json:"at,omitempty"`
}

// SummaryAt is the default time of scheduled summaries.
const SummaryAt = "09:00"

// Time is when the summary goes out, as a clock.
func (s Summary) Time() quiet.Clock {
	c, err := quiet.ParseClock(s.At)
	if err != nil {
		c, _ = quiet.ParseClock(SummaryAt)
	}
	return c
}

// DefaultLeadThreshold is the lead score that qualifies a lead unless the
// tenant sets another.
const DefaultLeadThreshold = 60

// DefaultUsageTrendPercent is the growth over the previous period that
// makes a usage trend alert unless the tenant sets another: half as fast
// again.
const DefaultUsageTrendPercent = 50

// Known is what a document may name: the tenant's categories and event types.
type Known struct {
	Categories map[string]bool
	EventTypes map[string]bool
	// CategoryOf maps an event type to its category.
	CategoryOf map[string]string
}

// FieldError is a problem with one field of a document, named as a dotted path.
type FieldError struct {
	Field, Message string
	// NotAvailable says the field names a channel that is listed but not
	// available yet (push): not a malformed document, a request Herald
	// cannot serve yet.
	NotAvailable bool
}

// notAvailable is the error of a field naming a coming-soon channel.
func notAvailable(field string, ch channel.Channel) *FieldError {
	return &FieldError{Field: field, Message: "the " + string(ch) + " channel is not available yet", NotAvailable: true}
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Validate reports the first problem with d, in a stable order, naming the
// offending field.
func (d Document) Validate(k Known) *FieldError {
	for _, name := range sortedKeys(d.Channels) {
		c := d.Channels[name]
		f := "channels." + name
		if channel.Channel(name).ComingSoon() {
			return notAvailable(f, channel.Channel(name))
		}
		if !channel.Channel(name).Valid() {
			return fieldErr(f, "unknown channel; want in_app, email, slack or webhook")
		}
		if e := validFrequency(c.Frequency); e != "" {
			return fieldErr(f+".frequency", "%s", e)
		}
		if c.Frequency != "" && !hasFrequency(name) {
			return fieldErr(f+".frequency", "only email and slack have a frequency")
		}
		if c.URL != nil {
			if name != string(channel.Webhook) {
				return fieldErr(f+".url", "only webhook has a url")
			}
			if e := validURL(*c.URL); e != "" {
				return fieldErr(f+".url", "%s", e)
			}
		}
		if c.WebhookAnswers() && name != string(channel.Webhook) {
			return fieldErr(f, "only webhook has a signing secret")
		}
	}
	for _, key := range sortedKeys(d.Categories) {
		if !k.Categories[key] {
			return fieldErr("categories."+key, "unknown category")
		}
		if e := d.Categories[key].validate("categories." + key); e != nil {
			return e
		}
	}
	if e := validFlags("events", d.Events, k.EventTypes, "event type"); e != nil {
		return e
	}
	if q := d.QuietHours; q != nil {
		if q.Enabled || q.Start != "" || q.End != "" {
			if _, err := quiet.ParseClock(q.Start); err != nil {
				return fieldErr("quiet_hours.start", "want HH:MM, such as 22:00")
			}
			if _, err := quiet.ParseClock(q.End); err != nil {
				return fieldErr("quiet_hours.end", "want HH:MM, such as 08:00")
			}
		}
		if q.Timezone != "" && !ValidZone(q.Timezone) {
			return fieldErr("quiet_hours.timezone", "want an IANA time zone such as Europe/Berlin")
		}
	}
	return nil
}

func validFlags(scope string, m map[string]map[string]bool, known map[string]bool, what string) *FieldError {
	for _, key := range sortedKeys(m) {
		if !known[key] {
			return fieldErr(scope+"."+key, "unknown %s", what)
		}
		for _, ch := range sortedKeys(m[key]) {
			if channel.Channel(ch).ComingSoon() {
				return notAvailable(scope+"."+key+"."+ch, channel.Channel(ch))
			}
			if !channel.Channel(ch).Valid() {
				return fieldErr(scope+"."+key+"."+ch, "unknown channel; want in_app, email, slack or webhook")
			}
		}
	}
	return nil
}

func validURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "want an absolute http or https URL"
	}
	if len(s) > 2048 {
		return "longer than 2048 characters"
	}
	return ""
}

// ValidZone reports whether name is an IANA time zone.
func ValidZone(name string) bool {
	if name == "" || name == "Local" {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// Validate reports the first problem with the tenant's settings.
func (s Settings) Validate(k Known) *FieldError {
	if e := s.Defaults.Validate(k); e != nil {
		e.Field = "defaults." + e.Field
		return e
	}
	if c := s.Defaults.Channels[string(channel.Webhook)]; c.WebhookAnswers() {
		return fieldErr("defaults.channels.webhook", "only a user's own webhook has a signing secret")
	}
	for _, scope := range []struct {
		name  string
		m     map[string][]channel.Channel
		known map[string]bool
		what  string
	}{{"required.events", s.Required.Events, k.EventTypes, "event type"}, {"required.categories", s.Required.Categories, k.Categories, "category"}} {
		for _, key := range sortedKeys(scope.m) {
			if !scope.known[key] {
				return fieldErr(scope.name+"."+key, "unknown %s", scope.what)
			}
			for _, ch := range scope.m[key] {
				if ch.ComingSoon() {
					return notAvailable(scope.name+"."+key, ch)
				}
				if !ch.Valid() {
					return fieldErr(scope.name+"."+key, "unknown channel %q; want in_app, email, slack or webhook", ch)
				}
			}
		}
	}
	if s.Timezone != "" && !ValidZone(s.Timezone) {
		return fieldErr("timezone", "want an IANA time zone such as Europe/Berlin")
	}
	if s.Locale != "" {
		if _, err := locale.Parse(s.Locale); err != nil {
			return fieldErr("locale", "want a BCP 47 language tag such as de or fr-CA")
		}
	}
	if s.LeadThreshold < 0 || s.LeadThreshold > 100 {
		return fieldErr("lead_threshold", "want a score from 0 to 100")
	}
	if s.UsageTrendPercent < 0 || s.UsageTrendPercent > 10000 {
		return fieldErr("usage_trend_percent", "want a growth in percent from 1 to 10000")
	}
	if e := s.Retention.Validate(); e != nil {
		return e
	}
	for _, name := range sortedKeys(s.Summaries) {
		if !slices.Contains(SummaryKinds, name) {
			return fieldErr("summaries."+name, "unknown summary; want weekly_digest, daily_summary or time_review")
		}
		if at := s.Summaries[name].At; at != "" {
			if _, err := quiet.ParseClock(at); err != nil {
				return fieldErr("summaries."+name+".at", "want a local time as HH:MM")
			}
		}
	}
	return nil
}

// Parse reads a stored user document; an empty input is an empty document.
func Parse(raw []byte) (Document, error) {
	var d Document
	if len(raw) == 0 {
		return d, nil
	}
	err := json.Unmarshal(raw, &d)
	return d, err
}

// ParseSettings reads a tenant's stored settings, with defaults filled in.
// A lead threshold is the default only when none is stored: 0 is a
// threshold a tenant may set (every scored lead qualifies).
func ParseSettings(raw []byte, timezone string) (Settings, error) {
	var s Settings
	var stored struct {
		LeadThreshold *int `json:"lead_threshold"`
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &s); err != nil {
			return s, err
		}
		if err := json.Unmarshal(raw, &stored); err != nil {
			return s, err
		}
	}
	s.Timezone = timezone
	s.Required = s.Required.withDefaults()
	if stored.LeadThreshold == nil {
		s.LeadThreshold = DefaultLeadThreshold
	}
	if s.UsageTrendPercent == 0 {
		s.UsageTrendPercent = DefaultUsageTrendPercent
	}
	return s, nil
}

// RequiredOn reports whether the tenant requires eventType (or its category)
// on ch.
func (r Required) RequiredOn(eventType, category string, ch channel.Channel) bool {
	return slices.Contains(r.Events[eventType], ch) || slices.Contains(r.Categories[category], ch)
}

// TurnsOffRequired returns the field of d that turns off something the
// tenant requires, or "" when there is none. A whole channel turned off is
// not such a field: it stops what is optional, and required notifications
// still arrive.
func (d Document) TurnsOffRequired(r Required, k Known) string {
	for _, key := range sortedKeys(d.Events) {
		for _, ch := range sortedKeys(d.Events[key]) {
			if !d.Events[key][ch] && r.RequiredOn(key, k.CategoryOf[key], channel.Channel(ch)) {
				return "events." + key + "." + ch
			}
		}
	}
	for _, key := range sortedKeys(d.Categories) {
		flags := d.Categories[key].Channels
		for _, ch := range sortedKeys(flags) {
			if !flags[ch] && slices.Contains(r.Categories[key], channel.Channel(ch)) {
				return "categories." + key + "." + ch
			}
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
