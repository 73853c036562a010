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

// TestURLWithNULIsRefused: a NUL in a path parameter or query value would
// reach PostgreSQL as text, which refuses it with an error that was a 500.
func TestURLWithNULIsRefused(t *testing.T) {
	t.Parallel()
	e := New(Options{})
	for _, target := range []string{"/v1/users/a%00b", "/v1/users/a%00b/notifications", "/v1/deliveries?status=%00", "/healthz?x=a%00"} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		var body struct {
			Error Error `json:"error"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != http.StatusBadRequest || body.Error.Code != "invalid_request" || !strings.Contains(body.Error.Message, "NUL") {
			t.Errorf("GET %s: %d %s, want 400 invalid_request naming the NUL", target, rec.Code, rec.Body)
		}
	}
}
