package api

import (
	"errors"
	"net/http"
	"testing"
)

// A field's value is decoded as strictly as the body around it, and a
// refusal names the field as a client wrote it.
func TestFieldDecodesStrictly(t *testing.T) {
	for _, tc := range []struct {
		body, code, field string
	}{
		{`{"defaults": {"channels": {"email": {"colour": "red"}}}}`, "unknown_field", "colour"},
		{`{"lead_threshold": "high"}`, "invalid_field", "lead_threshold"},
		{`{"defaults": {"quiet_hours": {"enabled": "yes"}}}`, "invalid_field", "defaults.quiet_hours.enabled"},
		{`{"rules": [{"name": "x", "surprise": 1}]}`, "unknown_field", "surprise"},
	} {
		var req settingsRequest
		err := decodeBytes([]byte(tc.body), &req)
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != tc.code || e.Details["field"] != tc.field {
			t.Errorf("%s: %v (%+v), want 400 %s naming %s", tc.body, err, e, tc.code, tc.field)
		}
	}
}

// Left out, null and a value are three different requests.
func TestFieldAppliesTheRule(t *testing.T) {
	var req settingsRequest
	if err := decodeBytes([]byte(`{"lead_threshold": 0, "timezone": null}`), &req); err != nil {
		t.Fatal(err)
	}
	if got := req.LeadThreshold.Apply(75, 60); got != 0 {
		t.Errorf("lead_threshold 0 applied as %d", got)
	}
	if got := req.Timezone.Apply("Europe/Berlin", "UTC"); got != "UTC" {
		t.Errorf("timezone null applied as %q, want the default", got)
	}
	if got := req.Summaries.Apply(nil, nil); got != nil || req.Summaries.Sent() {
		t.Errorf("summaries left out: sent %v, applied %v", req.Summaries.Sent(), got)
	}
	var user userRequest
	if err := decodeBytes([]byte(`{"role": null, "name": "Ada"}`), &user); err != nil {
		t.Fatal(err)
	}
	if r := user.Role.Patch("member"); r == nil || *r != "member" {
		t.Errorf("role null patches %v, want the default", r)
	}
	if n := user.Name.Patch(""); n == nil || *n != "Ada" {
		t.Errorf("name patches %v", n)
	}
	if e := user.Email.Patch(""); e != nil {
		t.Errorf("email left out patches %q, want nil (kept)", *e)
	}
}
