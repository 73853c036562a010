package prefs

import (
	"slices"

	"github.com/heraldhq/herald/channel"
)

// Effective is what applies to a user after the tenant's defaults and
// requirements: every channel with its resolved setting, every category and
// event type that either document or the requirements name, and the quiet
// hours in force with their zone.
type Effective struct {
	Channels   map[string]Channel         `json:"channels"`
	Categories map[string]map[string]bool `json:"categories"`
	Events     map[string]map[string]bool `json:"events"`
	QuietHours *QuietHours                `json:"quiet_hours"`
	Required   Required                   `json:"required"`
}

// Resolve computes the effective preferences of a user.
func Resolve(user Document, t Settings, userTimezone string) Effective {
	e := Effective{
		Channels:   map[string]Channel{},
		Categories: merge(user.Categories, t.Defaults.Categories, t.Required.Categories),
		Events:     merge(user.Events, t.Defaults.Events, t.Required.Events),
		Required:   t.Required,
	}
	for _, ch := range channel.All {
		name := string(ch)
		on := true
		for _, d := range []Document{t.Defaults, user} {
			if c, ok := d.Channels[name]; ok && c.Enabled != nil {
				on = *c.Enabled
			}
		}
		c := Channel{Enabled: &on}
		if ch == channel.Email || ch == channel.Slack {
			c.Frequency = Immediate
			if f := frequency(user, t.Defaults, ch); f != "" {
				c.Frequency = f
			}
		}
		if ch == channel.Webhook {
			c.URL = user.Channels[name].URL
		}
		e.Channels[name] = c
	}
	q := user.QuietHours
	if q == nil {
		q = t.Defaults.QuietHours
	}
	if q != nil {
		eq := *q
		if eq.Timezone == "" && eq.Enabled {
			eq.Timezone = "UTC"
			for _, z := range []string{userTimezone, t.Timezone} {
				if ValidZone(z) {
					eq.Timezone = z
					break
				}
			}
		}
		e.QuietHours = &eq
	}
	if e.QuietHours == nil {
		e.QuietHours = &QuietHours{}
	}
	return e
}

// merge lays user flags over tenant flags and forces what is required on.
func merge(user, tenant map[string]map[string]bool, required map[string][]channel.Channel) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, layer := range []map[string]map[string]bool{tenant, user} {
		for key, flags := range layer {
			if out[key] == nil {
				out[key] = map[string]bool{}
			}
			for ch, v := range flags {
				out[key][ch] = v
			}
		}
	}
	for key, chans := range required {
		if out[key] == nil {
			out[key] = map[string]bool{}
		}
		for _, ch := range chans {
			if slices.Contains(channel.All, ch) {
				out[key][string(ch)] = true
			}
		}
	}
	return out
}
