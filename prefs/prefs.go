// Package prefs resolves a user's notification preferences, over the tenant's
// defaults, into a decision per channel. It does no I/O.
package prefs

import (
	"encoding/json"
	"fmt"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/delivery"
	"time"
)

// Email frequencies.
const (
	Immediate = "immediate"
	Hourly    = "hourly"
	Daily     = "daily"
	Weekly    = "weekly"
)

// Channel is one channel's settings. Nil fields are unset: a lower layer decides.
type Channel struct {
	Enabled   *bool   `json:"enabled,omitempty"`
	Frequency string  `json:"frequency,omitempty"`
	URL       *string `json:"url,omitempty"`
}

// QuietHours is a daily window in which non-urgent email and Slack DMs wait.
type QuietHours struct {
	Enabled  bool   `json:"enabled"`
	Start    string `json:"start"`
	End      string `json:"end"`
	Timezone string `json:"timezone"`
	Weekends bool   `json:"weekends"`
}

// Document is the preference document of the API, for a user or a tenant default.
type Document struct {
	Channels   map[string]Channel         `json:"channels,omitempty"`
	Categories map[string]map[string]bool `json:"categories,omitempty"`
	Events     map[string]map[string]bool `json:"events,omitempty"`
	QuietHours *QuietHours                `json:"quiet_hours,omitempty"`
}

// Validate reports the first problem with d, naming the offending field.
func (d Document) Validate() error {
	for name, c := range d.Channels {
		if !channel.Channel(name).Valid() {
			return fmt.Errorf("channels.%s: unknown channel", name)
		}
		switch c.Frequency {
		case "", Immediate, Hourly, Daily, Weekly:
		default:
			return fmt.Errorf("channels.%s.frequency: want immediate, hourly, daily or weekly", name)
		}
		if c.Frequency != "" && name != string(channel.Email) {
			return fmt.Errorf("channels.%s.frequency: only email has a frequency", name)
		}
	}
	for scope, m := range map[string]map[string]map[string]bool{"categories": d.Categories, "events": d.Events} {
		for key, byChannel := range m {
			for ch := range byChannel {
				if !channel.Channel(ch).Valid() {
					return fmt.Errorf("%s.%s.%s: unknown channel", scope, key, ch)
				}
			}
		}
	}
	if q := d.QuietHours; q != nil && q.Enabled {
		if _, err := time.Parse("15:04", q.Start); err != nil {
			return fmt.Errorf("quiet_hours.start: want HH:MM")
		}
		if _, err := time.Parse("15:04", q.End); err != nil {
			return fmt.Errorf("quiet_hours.end: want HH:MM")
		}
		if _, err := time.LoadLocation(q.Timezone); err != nil || q.Timezone == "" {
			return fmt.Errorf("quiet_hours.timezone: want an IANA time zone such as Europe/Berlin")
		}
	}
	return nil
}

// Parse reads a stored document; an empty input is an empty document.
func Parse(raw []byte) (Document, error) {
	var d Document
	if len(raw) == 0 {
		return d, nil
	}
	err := json.Unmarshal(raw, &d)
	return d, err
}

// Subject is what a decision is about.
type Subject struct {
	EventType  string
	Category   string
	Channel    string
	Urgent     bool
	HasAddress bool // the user can be reached on the channel at all
}

// Decision says whether a channel delivers, and if not why.
type Decision struct {
	Send      bool
	Reason    delivery.Reason // a skip reason when !Send
	Frequency string          // email: immediate unless a digest frequency applies
}

// Decide resolves user preferences over tenant defaults for one channel.
// The most specific setting wins: event type, then category, then channel;
// each looked up in the user's document first, then the tenant's.
func Decide(user, tenant Document, s Subject) Decision {
	if v, ok := lookup(user, tenant, func(d Document) (bool, bool) { return flag(d.Events, s.EventType, s.Channel) }); ok && !v {
		return Decision{Reason: delivery.PreferenceDisabled}
	}
	if v, ok := lookup(user, tenant, func(d Document) (bool, bool) { return flag(d.Categories, s.Category, s.Channel) }); ok && !v {
		return Decision{Reason: delivery.CategoryUnsubscribed}
	}
	if v, ok := lookup(user, tenant, func(d Document) (bool, bool) {
		c, ok := d.Channels[s.Channel]
		if !ok || c.Enabled == nil {
			return false, false
		}
		return *c.Enabled, true
	}); ok && !v {
		return Decision{Reason: delivery.PreferenceDisabled}
	}
	if !s.HasAddress {
		return Decision{Reason: delivery.NoAddress}
	}
	freq := Immediate
	if s.Channel == "email" && !s.Urgent {
		if f := user.Channels["email"].Frequency; f != "" {
			freq = f
		} else if f := tenant.Channels["email"].Frequency; f != "" {
			freq = f
		}
	}
	return Decision{Send: true, Frequency: freq}
}

func lookup(user, tenant Document, get func(Document) (bool, bool)) (bool, bool) {
	if v, ok := get(user); ok {
		return v, true
	}
	return get(tenant)
}

func flag(m map[string]map[string]bool, key, channel string) (bool, bool) {
	v, ok := m[key][channel]
	return v, ok
}
