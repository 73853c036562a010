package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func decodeString(t *testing.T, body string, v any) error {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	return decode(echo.New().NewContext(req, httptest.NewRecorder()), v)
}

// TestDecodeRefusesNUL: PostgreSQL's text and jsonb cannot hold U+0000, so
// a NUL anywhere in a body, raw or escaped, in a key or a value at any
// depth, is a 400 that names it rather than a 500 from the database.
func TestDecodeRefusesNUL(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"type":"a\u0000b"}`,
		`{"data":{"k":"\u0000"}}`,
		`{"data":{"a\u0000":1}}`,
		`{"data":{"deep":[{"x":["ok","\\\u0000"]}]}}`,
		`{"data":{"k":"x\u00000"}}`,
		"{\"type\":\"a\x00b\"}",
		"{\"type\":\"ab\"}\x00",
	} {
		var v struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		err := decodeString(t, body, &v)
		var apiErr *Error
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || apiErr.Code != "invalid_request" ||
			!strings.Contains(apiErr.Message, "NUL") {
			t.Errorf("%q: %v, want 400 invalid_request naming the NUL", body, err)
		}
	}
	// An escaped backslash followed by the letters u0000 is no NUL.
	var v struct {
		Type string `json:"type"`
	}
	if err := decodeString(t, `{"type":"C:\\u0000"}`, &v); err != nil || v.Type != `C:\u0000` {
		t.Errorf("escaped backslash: %q, %v", v.Type, err)
	}
}

// TestDecodeKeepsNumbersExact: data's numbers come out as written, not
// rounded through float64, so 2^53+1 survives and is told from 2^53.
func TestDecodeKeepsNumbersExact(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"1000000", "9007199254740993", "123456789012345678901234567890", "0.1", "1e400"} {
		var v struct {
			Data map[string]any `json:"data"`
		}
		if err := decodeString(t, `{"data":{"n":`+n+`,"deep":{"m":[`+n+`]}}}`, &v); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out, err := json.Marshal(v.Data)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if want := `{"deep":{"m":[` + n + `]},"n":` + n + `}`; string(out) != want {
			t.Errorf("data re-encoded as %s, want %s", out, want)
		}
	}
}

func TestNulAt(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want int
	}{
		{`{"a":"b"}`, -1},
		{`"\u0000"`, 1},
		{`"\\u0000"`, -1},
		{`"\\\u0000"`, 3},
		{`"\u0001\u0000"`, 7},
		{"\"\x00\" \"\\u0000\"", 1},
		{"\"\\u0000\" \x00", 1},
		{`"\`, -1},
		{`"\u000`, -1},
	} {
		if got := nulAt([]byte(tt.in)); got != tt.want {
			t.Errorf("nulAt(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestBadTextInTheRequestIsRefused: a NUL or invalid UTF-8 in a path
// parameter, a query value or a header Herald reads would reach PostgreSQL
// as text, which refuses it with an error that was a 500. Each is a 400
// naming the part, before any handler runs (no API key is needed to see it).
func TestBadTextInTheRequestIsRefused(t *testing.T) {
	t.Parallel()
	e := New(Options{})
	for _, tc := range []struct{ target, header, field string }{
		{"/v1/users/a%00b", "", "path"},
		{"/v1/users/a%00b/notifications", "", "path"},
		{"/v1/users/%FF", "", "path"},
		{"/v1/users/%FF/preferences", "", "path"},
		{"/v1/approvals/%FF", "", "path"},
		{"/v1/batches/%FF", "", "path"},
		{"/v1/experiments/%FF", "", "path"},
		{"/v1/deliveries?status=%00", "", "status"},
		{"/v1/audit?user_id=%FF", "", "user_id"},
		{"/healthz?x=a%00", "", "x"},
		{"/v1/events", "Idempotency-Key", "Idempotency-Key"},
		{"/v1/events", "X-Request-Id", "X-Request-Id"},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, tc.target, nil)
		if tc.header != "" {
			req.Header[tc.header] = []string{"key-\xff"}
		}
		e.ServeHTTP(rec, req)
		var body struct {
			Error Error `json:"error"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != http.StatusBadRequest || body.Error.Code != "invalid_field" || body.Error.Details["field"] != tc.field ||
			!strings.Contains(body.Error.Message, "UTF-8") {
			t.Errorf("GET %s (%s): %d %s, want 400 invalid_field naming %s", tc.target, tc.header, rec.Code, rec.Body, tc.field)
		}
	}
}

// TestNumbersPostgreSQLCannotStore: jsonb keeps numbers as numeric, which
// holds 131072 digits before the point and 16383 after; a number past that
// was a 500 when stored.
func TestNumbersPostgreSQLCannotStore(t *testing.T) {
	t.Parallel()
	for n, want := range map[string]bool{
		"0": true, "-0.0e999999": false, "0e5": true, "12345678901234567890": true, "1e131071": true, "1e131072": false,
		"1e200000": false, "-1E200000": false, "1.5e-16382": true, "1.5e-16383": false, "1e-20000": false,
		"0.0001": true, "123.456e2": true, strings.Repeat("9", 131072): true, strings.Repeat("9", 131073): false,
		"1e99999999999999999999": false,
	} {
		if got := storableNumber(n); got != want {
			t.Errorf("storableNumber(%.40s) = %v, want %v", n, got, want)
		}
	}
	e := echo.New()
	for body, code := range map[string]string{
		`{"data": {"n": 1e200000}}`:           "number_out_of_range",
		`{"data": {"n": [1, 2, 1e-99999]}}`:   "number_out_of_range",
		`{"data": {"n": "1e200000"}}`:         "",
		`{"data": {"n": 123456789012345678}}`: "",
	} {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		var v struct {
			Data map[string]any `json:"data"`
		}
		err := decode(e.NewContext(req, httptest.NewRecorder()), &v)
		var ae *Error
		switch {
		case code == "" && err != nil:
			t.Errorf("%s: %v, want it stored", body, err)
		case code != "" && (!errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Code != code):
			t.Errorf("%s: %v, want 400 %s", body, err, code)
		}
	}
}

// A body is one JSON value and nothing after it but whitespace: a closing
// bracket or brace after the object (found by FuzzDecode) was taken for
// the end of an enclosing value and ignored.
func TestDecodeRefusesTrailingData(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"{}}", "{}]", `{"a": 1} }`, "{}\n]", "{}{}", "{} x", "{}\u00a0"} {
		var v map[string]any
		err := decodeString(t, body, &v)
		var apiErr *Error
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
			t.Errorf("decode(%q) = %v, want 400", body, err)
		}
	}
	for _, body := range []string{"{}", "{} \t\r\n", ` {"a": [1]}` + "\n"} {
		var v map[string]any
		if err := decodeString(t, body, &v); err != nil {
			t.Errorf("decode(%q) = %v", body, err)
		}
	}
}

// A number is checked by its significant digits: 0.000001e131077 is
// 1e131071, which numeric holds, though its exponent is past 131,072.
func TestStorableNumbersCountSignificantDigits(t *testing.T) {
	t.Parallel()
	for n, want := range map[string]bool{
		"0.000001e131077": true, "0.000001e131078": false, "00012e131070": true, "00012e131071": false,
		"1000e-16386": true, "1000e-16387": false, "0.00e999999": false, "1e131071": true, "1e131072": false,
	} {
		if got := storableNumber(n); got != want {
			t.Errorf("storableNumber(%s) = %v, want %v", n, got, want)
		}
	}
}
