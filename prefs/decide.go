package prefs

import (
	"maps"
	"slices"
	"time"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/digest"
	"github.com/heraldhq/herald/quiet"
)

// Subject is what a decision is about.
type Subject struct {
	EventType string
	Category  string
	Channel   channel.Channel
	// Urgent events (and urgent types) bypass quiet hours and digests.
	Urgent     bool
	HasAddress bool // the user can be reached on the channel at all
	// UserTimezone is the user's own zone, the fallback of quiet hours set
	// without one.
	UserTimezone string
}

// Decision says whether a channel delivers, when, and if not why.
type Decision struct {
	Send   bool
	Reason delivery.Reason // a skip reason when !Send
	// Frequency is immediate unless a digest frequency applies.
	Frequency digest.Frequency
	// Quiet is the user's quiet hours on a channel they defer; nil when none apply.
	Quiet *quiet.Window
}

// Digested reports whether the delivery on ch waits for the user's digest
// rather than going out: a digest frequency applies, ch has digests (email
// and Slack DMs), and the type is not a scheduled summary (itself a digest).
func (d Decision) Digested(ch channel.Channel, eventType string) bool {
	return d.Send && d.Frequency != digest.Immediate && (ch == channel.Email || ch == channel.Slack) && !catalog.IsSummary(eventType)
}

// Decide resolves a user's document over the tenant's settings for one
// delivery. The most specific setting wins, and everything the user set wins
// over the tenant's defaults: the user's event type, category and channel
// settings, then the tenant's, then the built-in default (on). What the
// tenant requires is delivered whatever anyone turned off.
func Decide(user Document, t Settings, s Subject) Decision {
	if !t.Required.RequiredOn(s.EventType, s.Category, s.Channel) {
		if on, reason := enabled(user, t.Defaults, s); !on {
			return Decision{Reason: reason}
		}
	}
	if !s.HasAddress {
		return Decision{Reason: delivery.NoAddress}
	}
	d := Decision{Send: true, Frequency: digest.Immediate}
	if s.Urgent {
		return d
	}
	if s.Channel == channel.Email || s.Channel == channel.Slack {
		if f := frequency(user, t.Defaults, s.Category, s.Channel); f != "" {
			d.Frequency = f
		}
		d.Quiet = QuietWindow(user, t, s.UserTimezone)
	}
	return d
}

// enabled walks the layers from the most specific down and returns the
// first setting found, with the reason a "no" is recorded under.
func enabled(user, tenant Document, s Subject) (bool, delivery.Reason) {
	for _, d := range []Document{user, tenant} {
		if v, ok := d.Events[s.EventType][string(s.Channel)]; ok {
			return v, delivery.PreferenceDisabled
		}
		if v, ok := d.Categories[s.Category].Channels[string(s.Channel)]; ok {
			return v, delivery.CategoryUnsubscribed
		}
		if c, ok := d.Channels[string(s.Channel)]; ok && c.Enabled != nil {
			return *c.Enabled, delivery.PreferenceDisabled
		}
	}
	return true, delivery.None
}

// frequency walks the layers as enabled does: a category's frequency is
// more specific than its channel's, and what the user set wins over every
// default of the tenant's. "" means none is set (immediate).
func frequency(user, tenant Document, category string, ch channel.Channel) digest.Frequency {
	for _, d := range []Document{user, tenant} {
		if f := d.Categories[category].Frequency.On(ch); f != "" {
			return f
		}
		if f := d.Channels[string(ch)].Frequency; f != "" {
			return f
		}
	}
	return ""
}

// QuietWindow returns the quiet hours that apply to a user: their own when
// they set any (even to turn them off), else the tenant's default; nil when
// none are on. A window without a zone is in the user's zone, else the
// tenant's, else UTC.
func QuietWindow(user Document, t Settings, userTimezone string) *quiet.Window {
	q := user.QuietHours
	if q == nil {
		q = t.Defaults.QuietHours
	}
	if q == nil || !q.Enabled {
		return nil
	}
	zone := "UTC"
	for _, z := range []string{q.Timezone, userTimezone, t.Timezone} {
		if ValidZone(z) {
			zone = z
			break
		}
	}
	w, err := quiet.Parse(q.Start, q.End, zone, q.Weekends)
	if err != nil {
		// Stored documents were validated; one that is not any more (a
		// zone dropped from the tz database) must not hold mail forever.
		return nil
	}
	return &w
}

// NotBefore is when a decided delivery may go out, given the time now:
// the end of the quiet hours now falls in, or now.
func (d Decision) NotBefore(now time.Time) (time.Time, bool) {
	if d.Quiet == nil {
		return now, false
	}
	return d.Quiet.Until(now)
}

// Cadences are the digest frequencies in force for a user on ch, sorted
// and without immediate: the channel's own and that of every category
// either document sets one for. A digest window wakes at the next boundary
// of each, since any of them may have items due.
func Cadences(user Document, t Settings, ch channel.Channel) []digest.Frequency {
	seen := map[digest.Frequency]bool{}
	if f := frequency(user, t.Defaults, "", ch); f != "" {
		seen[f] = true
	}
	for _, d := range []Document{user, t.Defaults} {
		for key, c := range d.Categories {
			if c.Frequency.On(ch) == "" {
				continue
			}
			if f := frequency(user, t.Defaults, key, ch); f != "" {
				seen[f] = true
			}
		}
	}
	delete(seen, digest.Immediate)
	out := slices.Collect(maps.Keys(seen))
	slices.Sort(out)
	return out
}
