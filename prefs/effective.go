package prefs

import (
	"slices"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/digest"
)

// Effective is what applies to a user after the tenant's defaults and
// requirements: every channel with its resolved setting, every category and
// event type that either document or the requirements name, and the quiet
// hours in force with their zone.
type Effective struct {
	Channels   map[string]Channel         `json:"channels"`
	Categories map[string]Category        `json:"categories"`
	Events     map[string]map[string]bool `json:"events"`
	QuietHours *QuietHours                `json:"quiet_hours"`
	Required   Required                   `json:"required"`
}

// Resolve computes the effective preferences of a user.
func Resolve(user Document, t Settings, userTimezone string) Effective {
	e := Effective{
		Channels:   map[string]Channel{},
		Categories: categories(user, t),
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
			c.Frequency = digest.Immediate
			if f := frequency(user, t.Defaults, "", ch); f != "" {
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

// categories lays the user's category flags over the tenant's, forces what
// is required on, and, for a category whose frequency either document sets,
// resolves the frequency on each channel that has one: what Decide applies.
func categories(user Document, t Settings) map[string]Category {
	flags := func(d Document) map[string]map[string]bool {
		m := make(map[string]map[string]bool, len(d.Categories))
		for key, c := range d.Categories {
			m[key] = c.Channels
		}
		return m
	}
	merged := merge(flags(user), flags(t.Defaults), t.Required.Categories)
	out := make(map[string]Category, len(merged))
	for key, chans := range merged {
		out[key] = Category{Channels: chans}
	}
	for _, d := range []Document{t.Defaults, user} {
		for key, c := range d.Categories {
			if c.Frequency.IsZero() {
				continue
			}
			f := Frequency{ByChannel: map[string]digest.Frequency{}}
			for _, ch := range []channel.Channel{channel.Email, channel.Slack} {
				f.ByChannel[string(ch)] = digest.Immediate
				if v := frequency(user, t.Defaults, key, ch); v != "" {
					f.ByChannel[string(ch)] = v
				}
			}
			c := out[key]
			if c.Channels == nil {
				c.Channels = map[string]bool{}
			}
			c.Frequency = f
			out[key] = c
		}
	}
	return out
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
		if len(chans) == 0 {
			continue // a default the tenant lifted
		}
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
