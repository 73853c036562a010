package prefs

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/digest"
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
	sent := Decision{Send: true, Frequency: digest.Immediate}
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
		{"digest frequency", `{"channels":{"email":{"frequency":"daily"}}}`, `{}`, email, Decision{Send: true, Frequency: digest.Daily}},
		{"tenant frequency", `{}`, `{"defaults":{"channels":{"email":{"frequency":"weekly"}}}}`, email, Decision{Send: true, Frequency: digest.Weekly}},
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
		"secret on email":     {`{"channels":{"email":{"rotate_secret":true}}}`, "channels.email"},
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

// The webhook secret's fields are asked and answered, never stored, and
// only a user's own webhook has them.
func TestWebhookSecretFieldsAreNeverStored(t *testing.T) {
	t.Parallel()
	var d Document
	if err := json.Unmarshal([]byte(`{"channels":{"webhook":{"url":"https://x.example/h","rotate_secret":true,"secret":"whsec_x","secret_set":true,"previous_secret_expires_at":"2026-01-01T00:00:00Z"}}}`), &d); err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(known); err != nil {
		t.Fatalf("a user's webhook with its secret's fields: %v", err)
	}
	b, _ := json.Marshal(d.Stored())
	if string(b) != `{"channels":{"webhook":{"url":"https://x.example/h"}}}` {
		t.Errorf("stored %s", b)
	}
	if !d.Channels["webhook"].WebhookAnswers() {
		t.Error("the original document lost its fields")
	}
	st := Settings{Defaults: d}
	if err := st.Validate(known); err == nil || err.Field != "defaults.channels.webhook" {
		t.Errorf("the tenant's defaults with a webhook secret: %v", err)
	}
}

// The lead brief's email is required until the tenant lifts it: settings
// that say nothing of it, or name other types, keep it; naming it with no
// channels lifts it, and only it.
func TestLeadBriefEmailRequiredByDefault(t *testing.T) {
	t.Parallel()
	optOut := Document{Events: map[string]map[string]bool{"lead.qualified": {"email": false}}}
	k := Known{EventTypes: map[string]bool{"lead.qualified": true}, CategoryOf: map[string]string{"lead.qualified": "leads"}}
	subject := Subject{EventType: "lead.qualified", Category: "leads", Channel: channel.Email, HasAddress: true}
	for _, raw := range []string{``, `{}`, `{"required":{}}`, `{"required":{"events":{"billing.payment_failed":["email"]}}}`} {
		st, err := ParseSettings([]byte(raw), "UTC")
		if err != nil {
			t.Fatal(err)
		}
		if !st.Required.RequiredOn("lead.qualified", "leads", channel.Email) || st.Required.RequiredOn("lead.qualified", "leads", channel.Slack) {
			t.Errorf("settings %q: required %+v, want the lead brief's email only", raw, st.Required)
		}
		if f := optOut.TurnsOffRequired(st.Required, k); f != "events.lead.qualified.email" {
			t.Errorf("settings %q: an owner's opt-out is allowed (%q)", raw, f)
		}
		if d := Decide(optOut, st, subject); !d.Send {
			t.Errorf("settings %q: a stored opt-out stops the lead brief: %+v", raw, d)
		}
	}
	lifted, err := ParseSettings([]byte(`{"required":{"events":{"lead.qualified":[],"billing.payment_failed":["email"]}}}`), "UTC")
	if err != nil {
		t.Fatal(err)
	}
	if lifted.Required.RequiredOn("lead.qualified", "leads", channel.Email) || !lifted.Required.RequiredOn("billing.payment_failed", "billing", channel.Email) {
		t.Errorf("lifted: required %+v, want the lead brief free and the rest kept", lifted.Required)
	}
	if d := Decide(optOut, lifted, subject); d.Send || d.Reason != delivery.PreferenceDisabled {
		t.Errorf("lifted: the owner's opt-out is ignored: %+v", d)
	}
	if e := Resolve(optOut, lifted, ""); e.Events["lead.qualified"]["email"] {
		t.Errorf("lifted: effective %+v still forces the email on", e.Events)
	}
	// The default is never written into DefaultRequired's own map.
	if got := DefaultRequired().Events["lead.qualified"]; len(got) != 1 {
		t.Errorf("DefaultRequired changed: %v", got)
	}
}

// Push is listed but not available: every place a document names a
// channel refuses it as not available, not as malformed.
func TestPushIsNotAvailable(t *testing.T) {
	t.Parallel()
	for raw, field := range map[string]string{
		`{"channels":{"push":{"enabled":true}}}`:             "channels.push",
		`{"categories":{"issues":{"push":true}}}`:            "categories.issues.push",
		`{"events":{"issue.assigned":{"push":false}}}`:       "events.issue.assigned.push",
		`{"channels":{"pager":{"enabled":true}}}`:            "channels.pager",
		`{"categories":{"issues":{"push":true,"fax":true}}}`: "categories.issues.fax",
	} {
		var d Document
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			t.Fatal(err)
		}
		e := d.Validate(known)
		if e == nil || e.Field != field || e.NotAvailable != strings.Contains(field, "push") {
			t.Errorf("Validate(%s) = %+v, want %s (not available: push only)", raw, e, field)
		}
	}
	st := Settings{Required: Required{Events: map[string][]channel.Channel{"issue.assigned": {channel.Push}}}}
	if e := st.Validate(known); e == nil || !e.NotAvailable || e.Field != "required.events.issue.assigned" {
		t.Errorf("required push: %+v", e)
	}
}

// A category's frequency digests that category and leaves the others as
// the channel says, on the same channel.
func TestDecideCategoryFrequency(t *testing.T) {
	t.Parallel()
	outreach := Subject{EventType: "outreach.prospect_replied", Category: "outreach", Channel: channel.Email, HasAddress: true}
	issues := Subject{EventType: "issue.assigned", Category: "issues", Channel: channel.Email, HasAddress: true}
	on := func(s Subject, ch channel.Channel) Subject { s.Channel = ch; return s }
	urgent := func(s Subject) Subject { s.Urgent = true; return s }
	freq := func(f digest.Frequency) Decision { return Decision{Send: true, Frequency: f} }
	const digestOutreach = `{"categories":{"outreach":{"email":true,"frequency":"daily"}}}`
	tests := []struct {
		name         string
		user, tenant string
		s            Subject
		want         Decision
	}{
		{"the category is digested", digestOutreach, `{}`, outreach, freq(digest.Daily)},
		{"another category stays immediate", digestOutreach, `{}`, issues, freq(digest.Immediate)},
		{"a string frequency covers slack DMs too", digestOutreach, `{}`, on(outreach, channel.Slack), freq(digest.Daily)},
		{"in-app has no frequency", digestOutreach, `{}`, on(outreach, channel.InApp), freq(digest.Immediate)},
		{"per channel: email only", `{"categories":{"outreach":{"frequency":{"email":"weekly"}}}}`, `{}`, outreach, freq(digest.Weekly)},
		{"per channel: slack keeps the channel's", `{"categories":{"outreach":{"frequency":{"email":"weekly"}}},"channels":{"slack":{"frequency":"hourly"}}}`, `{}`, on(outreach, channel.Slack), freq(digest.Hourly)},
		{"category immediate beats a digested channel", `{"categories":{"issues":{"frequency":"immediate"}},"channels":{"email":{"frequency":"daily"}}}`, `{}`, issues, freq(digest.Immediate)},
		{"the digested channel still holds the others", `{"categories":{"issues":{"frequency":"immediate"}},"channels":{"email":{"frequency":"daily"}}}`, `{}`, outreach, freq(digest.Daily)},
		{"category beats channel in the same document", `{"categories":{"outreach":{"frequency":"weekly"}},"channels":{"email":{"frequency":"hourly"}}}`, `{}`, outreach, freq(digest.Weekly)},
		{"tenant category default", `{}`, `{"defaults":{"categories":{"outreach":{"frequency":"daily"}}}}`, outreach, freq(digest.Daily)},
		{"user's category beats tenant's", digestOutreach, `{"defaults":{"categories":{"outreach":{"frequency":"weekly"}}}}`, outreach, freq(digest.Daily)},
		{"user's channel beats tenant's category", `{"channels":{"email":{"frequency":"immediate"}}}`, `{"defaults":{"categories":{"outreach":{"frequency":"daily"}}}}`, outreach, freq(digest.Immediate)},
		{"tenant's category beats tenant's channel", `{}`, `{"defaults":{"categories":{"outreach":{"frequency":"weekly"}},"channels":{"email":{"frequency":"hourly"}}}}`, outreach, freq(digest.Weekly)},
		{"a frequency alone turns nothing on", `{"categories":{"outreach":{"frequency":"daily"}},"channels":{"email":{"enabled":false}}}`, `{}`, outreach, Decision{Reason: delivery.PreferenceDisabled}},
		{"category off wins over its frequency", `{"categories":{"outreach":{"email":false,"frequency":"daily"}}}`, `{}`, outreach, Decision{Reason: delivery.CategoryUnsubscribed}},
		{"urgent bypasses a category digest", digestOutreach, `{}`, urgent(outreach), freq(digest.Immediate)},
		{"required is delivered, on the user's cadence as before", `{"categories":{"billing":{"email":false,"frequency":"daily"}}}`, `{"required":{"categories":{"billing":["email"]}}}`,
			Subject{EventType: "billing.payment_failed", Category: "billing", Channel: channel.Email, HasAddress: true}, freq(digest.Daily)},
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

func TestCategoryFrequencyJSON(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"categories":{"outreach":{"email":true,"frequency":"daily"}}}`,
		`{"categories":{"outreach":{"frequency":{"email":"weekly","slack":"immediate"}}}}`,
		`{"categories":{"outreach":{"email":false}}}`,
	} {
		b, err := json.Marshal(doc(t, in))
		if err != nil || string(b) != in {
			t.Errorf("%s written back as %s (%v)", in, b, err)
		}
	}
	var d Document
	if err := json.Unmarshal([]byte(`{"categories":{"outreach":{"frequency":null,"email":true}}}`), &d); err != nil || !d.Categories["outreach"].Frequency.IsZero() {
		t.Errorf("null frequency: %+v, %v", d, err)
	}
	for _, bad := range []string{
		`{"categories":{"outreach":{"frequency":7}}}`,
		`{"categories":{"outreach":{"email":"yes"}}}`,
		`{"categories":{"outreach":{"frequency":{"email":true}}}}`,
	} {
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%s read without error", bad)
		}
	}
}

func TestValidateCategoryFrequency(t *testing.T) {
	t.Parallel()
	bad := map[string]struct{ doc, field string }{
		"bad frequency":         {`{"categories":{"outreach":{"frequency":"often"}}}`, "categories.outreach.frequency"},
		"bad channel frequency": {`{"categories":{"outreach":{"frequency":{"email":"monthly"}}}}`, "categories.outreach.frequency.email"},
		"in-app frequency":      {`{"categories":{"outreach":{"frequency":{"in_app":"daily"}}}}`, "categories.outreach.frequency.in_app"},
		"unknown channel":       {`{"categories":{"outreach":{"frequency":{"pager":"daily"}}}}`, "categories.outreach.frequency.pager"},
		"unknown category":      {`{"categories":{"marketing":{"frequency":"daily"}}}`, "categories.marketing"},
	}
	for name, tt := range bad {
		var d Document
		if err := json.Unmarshal([]byte(tt.doc), &d); err != nil {
			t.Fatal(err)
		}
		if err := d.Validate(known); err == nil || err.Field != tt.field {
			t.Errorf("%s: Validate(%s) = %v, want an error naming %s", name, tt.doc, err, tt.field)
		}
		s := Settings{Defaults: d}
		if err := s.Validate(known); err == nil || err.Field != "defaults."+tt.field {
			t.Errorf("%s: tenant defaults %s = %v, want an error naming defaults.%s", name, tt.doc, err, tt.field)
		}
	}
}

func TestResolveCategoryFrequency(t *testing.T) {
	t.Parallel()
	user := doc(t, `{"categories":{"outreach":{"email":true,"frequency":{"email":"daily"}}}}`)
	tenant := settings(t, `{"defaults":{"channels":{"slack":{"frequency":"hourly"}},"categories":{"issues":{"frequency":"weekly"}}}}`)
	out, _ := json.Marshal(Resolve(user, tenant, ""))
	for _, want := range []string{
		`"outreach":{"email":true,"frequency":{"email":"daily","slack":"hourly"}}`,
		`"issues":{"frequency":{"email":"weekly","slack":"weekly"}}`,
		`"email":{"enabled":true,"frequency":"immediate"}`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("effective %s\nlacks %s", out, want)
		}
	}
}

func TestCadences(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, user, tenant string
		ch                 channel.Channel
		want               string
	}{
		{"none", `{}`, `{}`, channel.Email, ""},
		{"the channel's", `{"channels":{"email":{"frequency":"hourly"}}}`, `{}`, channel.Email, "hourly"},
		{"a category's beside an immediate channel", `{"categories":{"outreach":{"frequency":"daily"}}}`, `{}`, channel.Email, "daily"},
		{"both", `{"categories":{"outreach":{"frequency":"weekly"},"issues":{"frequency":"immediate"}},"channels":{"email":{"frequency":"daily"}}}`, `{}`, channel.Email, "daily,weekly"},
		{"per channel", `{"categories":{"outreach":{"frequency":{"slack":"daily"}}}}`, `{}`, channel.Email, ""},
		{"tenant's category", `{}`, `{"defaults":{"categories":{"issues":{"frequency":"weekly"}}}}`, channel.Slack, "weekly"},
		{"the user's channel overrides the tenant's category", `{"channels":{"email":{"frequency":"immediate"}}}`, `{"defaults":{"categories":{"issues":{"frequency":"weekly"}}}}`, channel.Email, ""},
		{"in-app has none", `{"categories":{"outreach":{"frequency":"daily"}}}`, `{}`, channel.InApp, ""},
	}
	for _, tt := range tests {
		var got []string
		for _, f := range Cadences(doc(t, tt.user), settings(t, tt.tenant), tt.ch) {
			got = append(got, string(f))
		}
		if got := strings.Join(got, ","); got != tt.want {
			t.Errorf("%s: Cadences = %q, want %q", tt.name, got, tt.want)
		}
	}
}
