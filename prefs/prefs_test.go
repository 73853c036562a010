package prefs

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/delivery"
)

var known = Known{
	Categories: map[string]bool{"outreach": true, "billing": true, "issues": true},
	EventTypes: map[string]bool{"outreach.prospect_replied": true, "billing.payment_failed": true, "issue.assigned": true},
	CategoryOf: map[string]string{"outreach.prospect_replied": "outreach", "billing.payment_failed": "billing", "issue.assigned": "issues"},
}

func doc(t *testing.T, s string) Document {
	t.Helper()
	var d Document
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(known); err != nil {
		t.Fatal(err)
	}
	return d
}

func settings(t *testing.T, s string) Settings {
	t.Helper()
	var st Settings
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		t.Fatal(err)
	}
	if err := st.Validate(known); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestDecidePrecedence(t *testing.T) {
	t.Parallel()
	email := Subject{EventType: "outreach.prospect_replied", Category: "outreach", Channel: channel.Email, HasAddress: true}
	on := func(s Subject, ch channel.Channel) Subject { s.Channel = ch; return s }
	sent := Decision{Send: true, Frequency: Immediate}
	tests := []struct {
		name         string
		user, tenant string
		s            Subject
		want         Decision
	}{
		{"built-in default sends", `{}`, `{}`, email, sent},
		{"no address skips", `{}`, `{}`, Subject{Channel: channel.Email}, Decision{Reason: delivery.NoAddress}},
		{"channel off", `{"channels":{"email":{"enabled":false}}}`, `{}`, email, Decision{Reason: delivery.PreferenceDisabled}},
		{"category email off stops email", `{"categories":{"outreach":{"email":false}}}`, `{}`, email, Decision{Reason: delivery.CategoryUnsubscribed}},
		{"category email off keeps in-app", `{"categories":{"outreach":{"email":false}}}`, `{}`, on(email, channel.InApp), sent},
		{"category email off keeps slack", `{"categories":{"outreach":{"email":false}}}`, `{}`, on(email, channel.Slack), sent},
		{"event type off beats category on", `{"events":{"outreach.prospect_replied":{"email":false}},"categories":{"outreach":{"email":true}}}`, `{}`, email, Decision{Reason: delivery.PreferenceDisabled}},
		{"event type on beats category off", `{"events":{"outreach.prospect_replied":{"email":true}},"categories":{"outreach":{"email":false}}}`, `{}`, email, sent},
		{"category on beats channel off", `{"categories":{"outreach":{"email":true}},"channels":{"email":{"enabled":false}}}`, `{}`, email, sent},
		{"event type on beats channel off", `{"events":{"outreach.prospect_replied":{"email":true}},"channels":{"email":{"enabled":false}}}`, `{}`, email, sent},
		{"other event type's setting does not apply", `{"events":{"issue.assigned":{"email":false}}}`, `{}`, email, sent},
		{"tenant default applies where user set nothing", `{}`, `{"defaults":{"channels":{"email":{"enabled":false}}}}`, email, Decision{Reason: delivery.PreferenceDisabled}},
		{"tenant category default", `{}`, `{"defaults":{"categories":{"outreach":{"email":false}}}}`, email, Decision{Reason: delivery.CategoryUnsubscribed}},
		{"user channel beats tenant event type", `{"channels":{"email":{"enabled":true}}}`, `{"defaults":{"events":{"outreach.prospect_replied":{"email":false}}}}`, email, sent},
		{"user overrides tenant channel", `{"channels":{"email":{"enabled":true}}}`, `{"defaults":{"channels":{"email":{"enabled":false}}}}`, email, sent},
		{"digest frequency", `{"channels":{"email":{"frequency":"daily"}}}`, `{}`, email, Decision{Send: true, Frequency: Daily}},
		{"tenant frequency", `{}`, `{"defaults":{"channels":{"email":{"frequency":"weekly"}}}}`, email, Decision{Send: true, Frequency: Weekly}},
		{"urgent bypasses digest", `{"channels":{"email":{"frequency":"daily"}}}`, `{}`, func() Subject { s := email; s.Urgent = true; return s }(), sent},
		{"required ignores user opt-out", `{"categories":{"billing":{"email":false}},"channels":{"email":{"enabled":false}}}`, `{"required":{"events":{"billing.payment_failed":["email"]}}}`,
			Subject{EventType: "billing.payment_failed", Category: "billing", Channel: channel.Email, HasAddress: true}, sent},
		{"required category ignores tenant default off", `{}`, `{"defaults":{"channels":{"email":{"enabled":false}}},"required":{"categories":{"billing":["email"]}}}`,
			Subject{EventType: "billing.payment_failed", Category: "billing", Channel: channel.Email, HasAddress: true}, sent},
		{"required on email leaves in-app opt-out", `{"categories":{"billing":{"in_app":false}}}`, `{"required":{"categories":{"billing":["email"]}}}`,
			Subject{EventType: "billing.payment_failed", Category: "billing", Channel: channel.InApp, HasAddress: true}, Decision{Reason: delivery.CategoryUnsubscribed}},
		{"required still needs an address", `{}`, `{"required":{"categories":{"billing":["email"]}}}`,
			Subject{EventType: "billing.payment_failed", Category: "billing", Channel: channel.Email}, Decision{Reason: delivery.NoAddress}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Decide(doc(t, tt.user), settings(t, tt.tenant), tt.s); got != tt.want {
				t.Errorf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecideQuietHours(t *testing.T) {
	t.Parallel()
	email := Subject{EventType: "issue.assigned", Category: "issues", Channel: channel.Email, HasAddress: true, UserTimezone: "Asia/Tokyo"}
	// 23:30 in Tokyo, 15:30 in Berlin, 14:30 UTC.
	at := time.Date(2026, 3, 10, 14, 30, 0, 0, time.UTC)
	night := `{"quiet_hours":{"enabled":true,"start":"22:00","end":"08:00"}}`
	tests := []struct {
		name         string
		user, tenant string
		s            Subject
		want         time.Time // zero: not deferred
	}{
		{"user window in the user's zone", night, `{}`, email, time.Date(2026, 3, 10, 23, 0, 0, 0, time.UTC)},
		{"explicit zone wins over the user's", `{"quiet_hours":{"enabled":true,"start":"22:00","end":"08:00","timezone":"Europe/Berlin"}}`, `{}`, email, time.Time{}},
		{"tenant default window", `{}`, `{"defaults":` + night + `}`, email, time.Date(2026, 3, 10, 23, 0, 0, 0, time.UTC)},
		{"user's disabled window beats tenant's", `{"quiet_hours":{"enabled":false}}`, `{"defaults":` + night + `}`, email, time.Time{}},
		{"urgent bypasses", night, `{}`, func() Subject { s := email; s.Urgent = true; return s }(), time.Time{}},
		{"in-app is never deferred", night, `{}`, func() Subject { s := email; s.Channel = channel.InApp; return s }(), time.Time{}},
		{"webhook is never deferred", night, `{}`, func() Subject { s := email; s.Channel = channel.Webhook; return s }(), time.Time{}},
		{"slack DMs are deferred", night, `{}`, func() Subject { s := email; s.Channel = channel.Slack; return s }(), time.Date(2026, 3, 10, 23, 0, 0, 0, time.UTC)},
		{"no zone anywhere means UTC", night, `{}`, func() Subject { s := email; s.UserTimezone = ""; return s }(), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := Decide(doc(t, tt.user), settings(t, tt.tenant), tt.s)
			if !d.Send {
				t.Fatalf("Decide = %+v, want a send", d)
			}
			got, deferred := d.NotBefore(at)
			if deferred != !tt.want.IsZero() || (deferred && !got.Equal(tt.want)) {
				t.Errorf("NotBefore = %v, %v; want %v", got, deferred, tt.want)
			}
		})
	}
}

func TestValidateNamesTheField(t *testing.T) {
	t.Parallel()
	bad := map[string]struct{ doc, field string }{
		"unknown channel":     {`{"channels":{"pager":{"enabled":true}}}`, "channels.pager"},
		"bad frequency":       {`{"channels":{"email":{"frequency":"often"}}}`, "channels.email.frequency"},
		"frequency on in-app": {`{"channels":{"in_app":{"frequency":"daily"}}}`, "channels.in_app.frequency"},
		"url on email":        {`{"channels":{"email":{"url":"https://x.example"}}}`, "channels.email.url"},
		"relative url":        {`{"channels":{"webhook":{"url":"/hook"}}}`, "channels.webhook.url"},
		"unknown category":    {`{"categories":{"marketing":{"email":false}}}`, "categories.marketing"},
		"unknown event type":  {`{"events":{"issue.deleted":{"email":false}}}`, "events.issue.deleted"},
		"bad category chan":   {`{"categories":{"outreach":{"fax":false}}}`, "categories.outreach.fax"},
		"bad quiet start":     {`{"quiet_hours":{"enabled":true,"start":"25:00","end":"08:00","timezone":"UTC"}}`, "quiet_hours.start"},
		"bad quiet end":       {`{"quiet_hours":{"enabled":true,"start":"22:00","end":"8am"}}`, "quiet_hours.end"},
		"missing quiet start": {`{"quiet_hours":{"enabled":true,"end":"08:00"}}`, "quiet_hours.start"},
		"bad zone":            {`{"quiet_hours":{"enabled":true,"start":"22:00","end":"08:00","timezone":"Mars/Base"}}`, "quiet_hours.timezone"},
	}
	for name, tt := range bad {
		var d Document
		if err := json.Unmarshal([]byte(tt.doc), &d); err != nil {
			t.Fatal(err)
		}
		err := d.Validate(known)
		if err == nil || err.Field != tt.field {
			t.Errorf("%s: Validate(%s) = %v, want an error naming %s", name, tt.doc, err, tt.field)
		}
	}
	settingsBad := map[string]struct{ doc, field string }{
		"defaults are documents": {`{"defaults":{"channels":{"pager":{}}}}`, "defaults.channels.pager"},
		"required unknown type":  {`{"required":{"events":{"nope.never":["email"]}}}`, "required.events.nope.never"},
		"required bad channel":   {`{"required":{"categories":{"billing":["fax"]}}}`, "required.categories.billing"},
		"bad tenant zone":        {`{"timezone":"Europe/Atlantis"}`, "timezone"},
		"threshold out of range": {`{"lead_threshold":101}`, "lead_threshold"},
	}
	for name, tt := range settingsBad {
		var s Settings
		if err := json.Unmarshal([]byte(tt.doc), &s); err != nil {
			t.Fatal(err)
		}
		err := s.Validate(known)
		if err == nil || err.Field != tt.field {
			t.Errorf("%s: Validate(%s) = %v, want an error naming %s", name, tt.doc, err, tt.field)
		}
	}
}

func TestTurnsOffRequired(t *testing.T) {
	t.Parallel()
	r := settings(t, `{"required":{"events":{"billing.payment_failed":["email"]},"categories":{"issues":["in_app"]}}}`).Required
	tests := []struct{ doc, want string }{
		{`{"events":{"billing.payment_failed":{"email":false}}}`, "events.billing.payment_failed.email"},
		{`{"events":{"billing.payment_failed":{"in_app":false}}}`, ""},
		{`{"events":{"issue.assigned":{"in_app":false}}}`, "events.issue.assigned.in_app"},
		{`{"categories":{"issues":{"in_app":false}}}`, "categories.issues.in_app"},
		{`{"categories":{"issues":{"in_app":true}}}`, ""},
		{`{"channels":{"email":{"enabled":false}}}`, ""},
	}
	for _, tt := range tests {
		if got := doc(t, tt.doc).TurnsOffRequired(r, known); got != tt.want {
			t.Errorf("TurnsOffRequired(%s) = %q, want %q", tt.doc, got, tt.want)
		}
	}
}

func TestResolveEffective(t *testing.T) {
	t.Parallel()
	user := doc(t, `{"channels":{"email":{"frequency":"daily"}},"categories":{"outreach":{"email":false}}}`)
	tenant := settings(t, `{"defaults":{"channels":{"slack":{"enabled":false}},"categories":{"outreach":{"slack":false,"email":true}},
		"quiet_hours":{"enabled":true,"start":"22:00","end":"07:00"}},"required":{"categories":{"billing":["email"]}}}`)
	tenant.Timezone = "America/Chicago"
	e := Resolve(user, tenant, "")
	out, _ := json.Marshal(e)
	for _, want := range []string{
		`"email":{"enabled":true,"frequency":"daily"}`,
		`"slack":{"enabled":false,"frequency":"immediate"}`,
		`"in_app":{"enabled":true}`,
		`"outreach":{"email":false,"slack":false}`,
		`"billing":{"email":true}`,
		`"timezone":"America/Chicago"`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("effective %s\nlacks %s", out, want)
		}
	}
}
