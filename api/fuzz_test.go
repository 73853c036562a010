package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/prefs"
)

func decodeBytes(body []byte, v any) error {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	return decode(echo.New().NewContext(req, httptest.NewRecorder()), v)
}

// FuzzDecode reads request bodies into the API's payloads. Properties:
// nothing panics; a refusal is a 4xx in the contract's shape; what is
// accepted is one valid JSON value and nothing after it, without NUL and
// with only numbers PostgreSQL can store; an accepted object reads back
// the same after being written again.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"type": "issue.assigned", "recipients": {"users": ["u1"], "roles": ["owner"]}, "data": {"issue_key": "PROJ-123", "n": 1.50, "big": 12345678901234567890}, "idempotency_key": "evt-42", "urgent": false, "send_at": null, "link": "https://app.example/x"}`,
		`{"category": "deploys", "title": "Deployed", "templates": {"text": "{{.data.service}} is live"}}`,
		`{"defaults": {"channels": {"email": {"frequency": "daily"}}}, "lead_threshold": 70, "rules": []}`,
		`{"data": {"k": "\u0000"}}`,
		`{"data": {"n": 1e200000}}`,
		`{} {}`,
		`{"type": 5}`,
		`{"unknown": 1}`,
		`[]`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		targets := []func() any{
			func() any { return new(map[string]any) },
			func() any { return new(eventRequest) },
			func() any { return new(eventTypeRequest) },
			func() any { return new(settingsRequest) },
			func() any { return new(preferencesRequest) },
			func() any { return new(slackRequest) },
			func() any { return new(prefs.Document) },
			func() any { return new(userRequest) },
		}
		for _, target := range targets {
			v := target()
			err := decodeBytes(body, v)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Status < 400 || e.Status > 499 || e.Code == "" || e.Message == "" {
					t.Fatalf("%T: refusal %#v is not a 4xx in the contract's shape", v, err)
				}
				continue
			}
			if !json.Valid(body) {
				t.Fatalf("%T: accepted invalid JSON %q", v, body)
			}
			if nulAt(body) >= 0 {
				t.Fatalf("%T: accepted a NUL in %q", v, body)
			}
			if err := storableNumbers(body); err != nil {
				t.Fatalf("%T: accepted a number PostgreSQL cannot store: %v", v, err)
			}
			m, ok := v.(*map[string]any)
			if !ok || *m == nil {
				continue
			}
			again, err := json.Marshal(*m)
			if err != nil {
				t.Fatalf("writing %v: %v", *m, err)
			}
			back := map[string]any{}
			if err := decodeBytes(again, &back); err != nil {
				t.Fatalf("%s, written again, is refused: %v", body, err)
			}
			if !reflect.DeepEqual(*m, back) {
				t.Fatalf("read back differently:\n%#v\n%#v", *m, back)
			}
		}
	})
}

// FuzzStorableNumbers checks the check of numbers against PostgreSQL's
// numeric (131,072 digits before the point, 16,383 after), computed
// independently with exact arithmetic. Properties: nothing panics; a
// number accepted fits; a number that fits is accepted unless its exponent
// is beyond any number's reach (±147,455, where the check stops counting).
func FuzzStorableNumbers(f *testing.F) {
	for _, seed := range []string{"0", "-0.0", "1e131071", "1e131072", "9.99e131071", "1e-16383", "1e-16384", "12.5e-16382",
		"0.000001e131077", "1e200000", "-1E+5", "0e999999999999999999999", "123456789.123456789e-9"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, n string) {
		var tok any
		dec := json.NewDecoder(strings.NewReader(n))
		dec.UseNumber()
		if dec.Decode(&tok) != nil || dec.More() || strings.TrimSpace(n) != n {
			return
		}
		num, ok := tok.(json.Number)
		if !ok {
			return
		}
		body := []byte(`{"data": {"n": ` + n + `}}`)
		err := storableNumbers(body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != "number_out_of_range" {
				t.Fatalf("%s: refusal %v", n, err)
			}
		}
		fits, exp := fitsNumeric(string(num))
		if err == nil && !fits {
			t.Fatalf("%s does not fit PostgreSQL's numeric, and was accepted", n)
		}
		if err != nil && fits && exp.IsInt64() && exp.Int64() <= maxIntDigits+maxFracDigits && exp.Int64() >= -(maxIntDigits+maxFracDigits) {
			t.Fatalf("%s fits PostgreSQL's numeric, and was refused: %v", n, err)
		}
	})
}

// fitsNumeric reports whether the JSON number n fits numeric, and its
// exponent: the digits' place, counted exactly.
func fitsNumeric(n string) (bool, *big.Int) {
	n = strings.TrimPrefix(strings.ToLower(n), "-")
	mantissa, e, _ := strings.Cut(n, "e")
	exp := new(big.Int)
	if e != "" {
		exp.SetString(strings.TrimPrefix(e, "+"), 10)
	}
	intPart, frac, _ := strings.Cut(mantissa, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	if strings.TrimRight(digits, "0") == "" {
		return true, exp // zero
	}
	// The point sits after the integer part's digits, less the leading
	// zeros dropped, moved by the exponent.
	point := big.NewInt(int64(len(intPart) - (len(intPart+frac) - len(digits))))
	point.Add(point, exp)
	significant := int64(len(strings.TrimRight(digits, "0")))
	before := point                                           // digits before the point, when positive
	after := new(big.Int).Sub(big.NewInt(significant), point) // digits after it, when positive
	return before.Cmp(big.NewInt(maxIntDigits)) <= 0 && after.Cmp(big.NewInt(maxFracDigits)) <= 0, exp
}
