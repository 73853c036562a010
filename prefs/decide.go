package prefs

import (
	"time"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/delivery"
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
	Frequency string
	// Quiet is the user's quiet hours on a channel they defer; nil when none apply.
	Quiet *quiet.Window
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
	d := Decision{Send: true, Frequency: Immediate}
	if s.Urgent {
		return d
	}
	if s.Channel == channel.Email || s.Channel == channel.Slack {
		if f := frequency(user, t.Defaults, s.Channel); f != "" {
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
		if v, ok := d.Categories[s.Category][string(s.Channel)]; ok {
			return v, delivery.CategoryUnsubscribed
		}
		if c, ok := d.Channels[string(s.Channel)]; ok && c.Enabled != nil {
			return *c.Enabled, delivery.PreferenceDisabled
		}
	}
	return true, delivery.None
}

func frequency(user, tenant Document, ch channel.Channel) string {
	if f := user.Channels[string(ch)].Frequency; f != "" {
		return f
	}
	return tenant.Channels[string(ch)].Frequency
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
