package prefs

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/quiet"
	"github.com/heraldhq/herald/rules"
)

// accepted checks what Validate promises of a document it accepts: every
// channel, category and event type it names is known, and its quiet hours
// read.
func accepted(t *testing.T, d Document) {
	t.Helper()
	for name, c := range d.Channels {
		if !channel.Channel(name).Valid() {
			t.Fatalf("accepted channel %q", name)
		}
		if c.URL != nil && name != string(channel.Webhook) {
			t.Fatalf("accepted a url on %s", name)
		}
	}
	categories := make(map[string]map[string]bool, len(d.Categories))
	for key, c := range d.Categories {
		categories[key] = c.Channels
		for _, ch := range []channel.Channel{channel.InApp, channel.Webhook} {
			if c.Frequency.On(ch) != "" {
				t.Fatalf("accepted a frequency on %s under %s", ch, key)
			}
		}
		for _, ch := range []channel.Channel{channel.Email, channel.Slack} {
			if validFrequency(c.Frequency.On(ch)) != "" {
				t.Fatalf("accepted the frequency %q under %s", c.Frequency.On(ch), key)
			}
		}
	}
	for scope, m := range map[string]map[string]map[string]bool{"category": categories, "event type": d.Events} {
		for key, flags := range m {
			if !known.Categories[key] && !known.EventTypes[key] {
				t.Fatalf("accepted the unknown %s %q", scope, key)
			}
			for ch := range flags {
				if !channel.Channel(ch).Valid() {
					t.Fatalf("accepted channel %q under %s", ch, key)
				}
			}
		}
	}
	if q := d.QuietHours; q != nil && q.Enabled {
		if _, err := quiet.ParseClock(q.Start); err != nil {
			t.Fatalf("accepted quiet hours from %q", q.Start)
		}
		if _, err := quiet.ParseClock(q.End); err != nil {
			t.Fatalf("accepted quiet hours until %q", q.End)
		}
	}
}

// FuzzDocument reads a stored preference document. Properties: nothing
// panics; a document Validate accepts names only what is known, survives
// being written and read again unchanged and still valid, and resolves
// and decides on every channel.
func FuzzDocument(f *testing.F) {
	f.Add([]byte(`{"channels": {"email": {"enabled": true, "frequency": "daily"}, "in_app": {"enabled": true},
		"slack": {"enabled": true}, "webhook": {"enabled": false, "url": null}},
		"categories": {"outreach": {"email": false}}, "events": {"issue.assigned": {"slack": false}},
		"quiet_hours": {"enabled": true, "start": "22:00", "end": "08:00", "timezone": "Europe/Berlin", "weekends": true}}`))
	f.Add([]byte(`{"channels": {"webhook": {"url": "https://hooks.example/u1"}}}`))
	f.Add([]byte(`{"quiet_hours": {"enabled": true, "start": "24:00", "end": "8"}}`))
	f.Add([]byte(`{"channels": {"push": {"enabled": true}}}`))
	f.Add([]byte(`{"categories": {"outreach": {}}, "events": {}}`))
	f.Add([]byte(`{"categories": {"outreach": {"email": true, "frequency": "daily"}, "issues": {"frequency": {"slack": "weekly"}}}}`))
	f.Add([]byte(`{"categories": {"issues": {"frequency": {"in_app": "hourly"}}}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := Parse(raw)
		if err != nil {
			return
		}
		if e := d.Validate(known); e != nil {
			if e.Field == "" || e.Message == "" {
				t.Fatalf("a refusal that names nothing: %#v", e)
			}
			return
		}
		accepted(t, d)
		once, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		d2, err := Parse(once)
		if err != nil {
			t.Fatalf("reading %s: %v", once, err)
		}
		if e := d2.Validate(known); e != nil {
			t.Fatalf("%s is valid, read again it is not: %v", once, e)
		}
		twice, _ := json.Marshal(d2)
		if !bytes.Equal(once, twice) {
			t.Fatalf("written again it changed:\n%s\n%s", once, twice)
		}
		st := Settings{Timezone: "UTC", LeadThreshold: DefaultLeadThreshold}
		e := Resolve(d, st, "Europe/Berlin")
		for _, ch := range channel.All {
			if e.Channels[string(ch)].Enabled == nil {
				t.Fatalf("no effective setting for %s", ch)
			}
			dec := Decide(d, st, Subject{EventType: "issue.assigned", Category: "issues", Channel: ch, HasAddress: true, UserTimezone: "Asia/Tokyo"})
			if dec.Send == (dec.Reason != "") {
				t.Fatalf("decision %+v both sends and skips, or neither", dec)
			}
			dec.NotBefore(time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC))
		}
		_ = d.TurnsOffRequired(Required{Categories: map[string][]channel.Channel{"outreach": {channel.Email}}}, known)
	})
}

// FuzzSettings reads a tenant's stored settings. Properties: nothing
// panics; settings Validate accepts survive being written and read again
// unchanged and still valid, their documents are as Validate promises,
// and their rules merge over the built-ins and validate without panic.
func FuzzSettings(f *testing.F) {
	f.Add([]byte(`{"defaults": {"channels": {"email": {"frequency": "weekly"}}}, "required": {"categories": {"billing": ["email"]}},
		"lead_threshold": 75, "summaries": {"weekly_digest": {"enabled": true, "at": "08:30"}},
		"rules": [{"name": "bounce_rate", "when": "data.sent >= 100 && data.bounced / data.sent > 0.1"}]}`), "Europe/Berlin")
	f.Add([]byte(`{"required": {"events": {"issue.assigned": ["pager"]}}}`), "UTC")
	f.Add([]byte(`{"lead_threshold": 101}`), "Mars/Olympus")
	f.Add([]byte(`{"summaries": {"hourly": {"enabled": true}}}`), "")
	f.Add([]byte(`{"rules": [{"name": "mine", "on": "usage.updated", "when": "data.used >", "emit": "usage.quota_warning", "key": ["metric"], "at_most": "once"}]}`), "UTC")
	f.Fuzz(func(t *testing.T, raw []byte, zone string) {
		st, err := ParseSettings(raw, zone)
		if err != nil {
			return
		}
		if e := st.Validate(known); e != nil {
			if e.Field == "" || e.Message == "" {
				t.Fatalf("a refusal that names nothing: %#v", e)
			}
			return
		}
		accepted(t, st.Defaults)
		if st.LeadThreshold < 0 || st.LeadThreshold > 100 || (st.Timezone != "" && !ValidZone(st.Timezone)) {
			t.Fatalf("accepted %+v", st)
		}
		for name, sm := range st.Summaries {
			if !slices.Contains(SummaryKinds, name) {
				t.Fatalf("accepted summary %q", name)
			}
			_ = sm.Time()
		}
		once, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		st2, err := ParseSettings(once, st.Timezone)
		if err != nil {
			t.Fatalf("reading %s: %v", once, err)
		}
		if e := st2.Validate(known); e != nil {
			t.Fatalf("%s is valid, read again it is not: %v", once, e)
		}
		if twice, _ := json.Marshal(st2); !bytes.Equal(once, twice) {
			t.Fatalf("written again it changed:\n%s\n%s", once, twice)
		}
		for _, r := range rules.Effective(st.Rules) {
			_ = rules.Validate(r)
		}
	})
}
