package catalog

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestMissingData(t *testing.T) {
	t.Parallel()
	typ, _ := BuiltIn().Lookup("issue.status_changed")
	tests := []struct {
		data string
		want []string
	}{
		{`{}`, []string{"issue_key", "status"}},
		{`{"status": "Done", "title": "Fix"}`, []string{"issue_key"}},
		{`{"issue_key": "SN-1", "status": null}`, []string{"status"}},
		{`{"issue_key": " ", "status": ""}`, []string{"issue_key", "status"}},
		{`{"issue_key": "SN-1", "status": 0}`, nil},
		{`{"issue_key": "SN-1", "status": "Done"}`, nil},
	}
	for _, tt := range tests {
		data, err := DecodeData([]byte(tt.data))
		if err != nil {
			t.Fatal(err)
		}
		if got := typ.MissingData(data); !slices.Equal(got, tt.want) {
			t.Errorf("MissingData(%s) = %v, want %v", tt.data, got, tt.want)
		}
	}
	if got := typ.MissingData(nil); !slices.Equal(got, []string{"issue_key", "status"}) {
		t.Errorf("MissingData(nil) = %v", got)
	}

	// A tenant's own type declares its required data in its definition.
	c, err := BuiltIn().WithTenant(map[string][]byte{
		"deploy.done": []byte(`{"category": "ops", "default_recipients": "subscribers", "channels": ["in_app"],
			"required_data": ["version", "env"], "templates": {"subject": "Deployed {{.data.version}}"}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := c.Lookup("deploy.done")
	if got := d.MissingData(map[string]any{"env": "prod"}); !slices.Equal(got, []string{"version"}) {
		t.Errorf("tenant type: missing %v, want [version]", got)
	}
	b, err := json.Marshal(d)
	if err != nil || !strings.Contains(string(b), `"required_data":["version","env"]`) {
		t.Errorf("the type's JSON does not name its required data: %s", b)
	}
}

func TestDecodeData(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"", " ", "null", "{}"} {
		data, err := DecodeData([]byte(raw))
		if err != nil || data == nil || len(data) != 0 {
			t.Errorf("DecodeData(%q) = %v, %v: want an empty map", raw, data, err)
		}
	}
	for _, raw := range []string{`[1]`, `"x"`, `{"a": 1} {}`, `{"a": 1`, `{"a": 1}x`} {
		if data, err := DecodeData([]byte(raw)); err == nil {
			t.Errorf("DecodeData(%q) = %v: want an error", raw, data)
		}
	}
	if _, err := DecodeData([]byte(`[1]`)); err == nil || !strings.Contains(err.Error(), "must be a JSON object") {
		t.Errorf("an array: %v", err)
	}
	data, err := DecodeData([]byte(`{"n": 9007199254740993, "nested": {"f": 0.1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if data["n"] != json.Number("9007199254740993") || data["nested"].(map[string]any)["f"] != json.Number("0.1") {
		t.Errorf("numbers decoded as %#v", data)
	}
}

// TestRenderNumbersExactly renders numbers as a tenant template would show
// them: as sent, never in exponent form or rounded to a float64.
func TestRenderNumbersExactly(t *testing.T) {
	t.Parallel()
	typ := EventType{Key: "stats.daily", Title: "Stats", Templates: Templates{
		Subject: "{{.data.n}} sent",
		Text:    "{{.data.n}} {{.data.big}} {{.data.f}} {{.data.list}} | {{count .data.n}} {{count .data.big}} {{count .data.e}} {{count .data.neg}} | {{quote .data.n}}",
		HTML:    "<p>{{.data.n}} {{.data.big}} {{count .data.n}}</p>",
	}}
	r, err := NewRenderer(typ)
	if err != nil {
		t.Fatal(err)
	}
	data, err := DecodeData([]byte(`{"n": 1000000, "big": 9007199254740993, "f": 0.1, "e": 1e6, "neg": -1234.5, "list": [1000000]}`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Email(data, Recipient{ID: "u1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "1000000 9007199254740993 0.1 [1000000] | 1,000,000 9,007,199,254,740,993 1,000,000 -1,234.5 | > 1000000"; c.Body != want {
		t.Errorf("body = %q, want %q", c.Body, want)
	}
	if c.Subject != "1000000 sent" || c.HTML != "<p>1000000 9007199254740993 1,000,000</p>" {
		t.Errorf("subject %q, HTML %q", c.Subject, c.HTML)
	}

	// Data decoded without UseNumber carries float64: still no exponent.
	floats := map[string]any{"n": float64(1000000), "big": 1e15, "f": 0.1, "e": 1e6, "neg": -1234.5, "list": []any{1e6}}
	c, err = r.Notice(floats, Recipient{ID: "u1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "1000000 1000000000000000 0.1 [1000000] | 1,000,000 1,000,000,000,000,000 1,000,000 -1,234.5 | > 1000000"; c.Body != want {
		t.Errorf("body from float64 data = %q, want %q", c.Body, want)
	}
	if floats["n"] != float64(1000000) {
		t.Error("rendering changed the caller's data")
	}
}

func TestHelpers(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   any
		want string
	}{
		{nil, ""}, {json.Number("0"), "0"}, {json.Number("999"), "999"}, {json.Number("1000"), "1,000"},
		{json.Number("-1234567.25"), "-1,234,567.25"}, {json.Number("1.5e3"), "1,500"}, {json.Number("1.5e-3"), "1.5e-3"},
		{12345, "12,345"}, {"abc", "abc"}, {"12345", "12,345"}, {true, "true"},
	} {
		if got := count(tt.in); got != tt.want {
			t.Errorf("count(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct {
		n    any
		want string
	}{{nil, ""}, {json.Number("1"), "1 reply"}, {json.Number("0"), "0 replies"}, {json.Number("2500"), "2,500 replies"}} {
		if got := counted(english, tt.n, "reply", "replies"); got != tt.want {
			t.Errorf("counted(%v) = %q, want %q", tt.n, got, tt.want)
		}
	}
	if got := join(" at ", nil, "Acme", " "); got != "Acme" {
		t.Errorf("join = %q", got)
	}
	if got := quote(map[string]any{"a": json.Number("1")}); got != `> {"a":1}` {
		t.Errorf("quote of an object = %q", got)
	}
	if got := quote("one\r\n\r\ntwo "); got != "> one\n>\n> two" {
		t.Errorf("quote = %q", got)
	}
}

// A number in exponent form is expanded only when small: 1e1000000 would
// be a million digits, and a second of work, per call.
func TestNumberHelpersRefuseHugeExponents(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"1e1000000", "1e1000000"}, {"-1E999999", "-1E999999"}, {"1e-1000000", "1e-1000000"},
		{"1e6", "1,000,000"}, {"2.5e2", "250"}, {"1e100", "10" + strings.Repeat(",000", 33)},
		{strings.Repeat("9", 500) + "/3", strings.Repeat("9", 500) + "/3"}, {"0x1p9999999", "0x1p9999999"},
	} {
		if got := count(json.Number(tt.in)); got != tt.want {
			t.Errorf("count(%.20s) = %.40q (%d bytes), want %.40q", tt.in, got, len(got), tt.want)
		}
	}
	for _, tt := range []struct{ part, whole, want string }{
		{"1e1000000", "3", ""}, {"1", "1e-999999", ""}, {strings.Repeat("7", 5000), "3", ""}, {"0x1p9999999", "1", ""},
		{"1", "3", "33.3%"}, {"2e1", "1e2", "20%"},
	} {
		if got := Rate(json.Number(tt.part), json.Number(tt.whole)); got != tt.want {
			t.Errorf("Rate(%.20s, %.20s) = %.40q, want %q", tt.part, tt.whole, got, tt.want)
		}
	}
}
