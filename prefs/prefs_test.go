package prefs

import (
	"encoding/json"
	"github.com/heraldhq/herald/delivery"
	"testing"
)

func doc(t *testing.T, s string) Document {
	t.Helper()
	var d Document
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDecide(t *testing.T) {
	t.Parallel()
	email := Subject{EventType: "outreach.prospect_replied", Category: "outreach", Channel: "email", HasAddress: true}
	inApp := email
	inApp.Channel = "in_app"
	tests := []struct {
		name         string
		user, tenant string
		s            Subject
		want         Decision
	}{
		{"nothing set sends", `{}`, `{}`, email, Decision{Send: true, Frequency: Immediate}},
		{"no address", `{}`, `{}`, Subject{Channel: "email"}, Decision{Reason: delivery.NoAddress}},
		{"channel off", `{"channels":{"email":{"enabled":false}}}`, `{}`, email, Decision{Reason: delivery.PreferenceDisabled}},
		{"category email off stops email", `{"categories":{"outreach":{"email":false}}}`, `{}`, email, Decision{Reason: delivery.CategoryUnsubscribed}},
		{"category email off keeps in-app", `{"categories":{"outreach":{"email":false}}}`, `{}`, inApp, Decision{Send: true, Frequency: Immediate}},
		{"event off beats category on", `{"events":{"outreach.prospect_replied":{"email":false}},"categories":{"outreach":{"email":true}}}`, `{}`, email, Decision{Reason: delivery.PreferenceDisabled}},
		{"event on beats channel off", `{"events":{"outreach.prospect_replied":{"email":true}},"channels":{"email":{"enabled":false}}}`, `{}`, email, Decision{Reason: delivery.PreferenceDisabled}},
		{"tenant default applies", `{}`, `{"channels":{"email":{"enabled":false}}}`, email, Decision{Reason: delivery.PreferenceDisabled}},
		{"user overrides tenant", `{"channels":{"email":{"enabled":true}}}`, `{"channels":{"email":{"enabled":false}}}`, email, Decision{Send: true, Frequency: Immediate}},
		{"digest frequency", `{"channels":{"email":{"frequency":"daily"}}}`, `{}`, email, Decision{Send: true, Frequency: Daily}},
		{"tenant frequency", `{}`, `{"channels":{"email":{"frequency":"weekly"}}}`, email, Decision{Send: true, Frequency: Weekly}},
		{"urgent bypasses digest", `{"channels":{"email":{"frequency":"daily"}}}`, `{}`, func() Subject { s := email; s.Urgent = true; return s }(), Decision{Send: true, Frequency: Immediate}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Decide(doc(t, tt.user), doc(t, tt.tenant), tt.s); got != tt.want {
				t.Errorf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	bad := map[string]string{
		"unknown channel":    `{"channels":{"pager":{"enabled":true}}}`,
		"bad frequency":      `{"channels":{"email":{"frequency":"often"}}}`,
		"frequency on slack": `{"channels":{"slack":{"frequency":"daily"}}}`,
		"bad category chan":  `{"categories":{"outreach":{"fax":false}}}`,
		"bad quiet start":    `{"quiet_hours":{"enabled":true,"start":"25:00","end":"08:00","timezone":"UTC"}}`,
		"bad zone":           `{"quiet_hours":{"enabled":true,"start":"22:00","end":"08:00","timezone":"Mars/Base"}}`,
	}
	for name, s := range bad {
		var d Document
		if err := json.Unmarshal([]byte(s), &d); err != nil {
			t.Fatal(err)
		}
		if d.Validate() == nil {
			t.Errorf("%s: accepted %s", name, s)
		}
	}
}
