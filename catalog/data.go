package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/locale"
)

// DecodeData decodes an event's data object. Numbers stay json.Number so
// that they keep the exact text the client sent: as float64, 1000000 would
// print as 1e+06 and 9007199254740993 would lose its last digit. Absent
// data and null decode to an empty map.
func DecodeData(raw []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var data map[string]any
	if err := dec.Decode(&data); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, fmt.Errorf("event data must be a JSON object, not %s", typeErr.Value)
		}
		return nil, fmt.Errorf("event data: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("event data: unexpected content after the object")
	}
	if data == nil {
		data = map[string]any{}
	}
	return data, nil
}

// MissingData returns the type's required data keys that data lacks, in
// the order the type declares them; a key that is null or a blank string
// is missing too, since it would render as nothing.
func (t EventType) MissingData(data map[string]any) []string {
	var missing []string
	for _, k := range t.Required {
		if blank(data[k]) {
			missing = append(missing, k)
		}
	}
	return missing
}

func blank(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(v) == ""
	case json.Number:
		return strings.TrimSpace(string(v)) == ""
	}
	return false
}

// text is how a template helper reads any data value: numbers in their
// exact decimal form, objects and arrays as JSON, nothing for null.
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return string(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32)
	case fmt.Stringer:
		return v.String()
	case map[string]any, []any:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
	return fmt.Sprint(v)
}

var plainDecimal = regexp.MustCompile(`^(-?)(\d+)(\.\d+)?$`)

// count writes a number with thousands separators (1,000,000). Anything
// that is not a number is written as it came.
func count(v any) string { return countIn(english, v) }

// english is the format of messages that are not a recipient's (errors).
var english = locale.For(locale.Default)

// countIn writes a number grouped the way f's language groups it: 1,000,000
// in English, 1.000.000 in German, 1 000 000 in French. Text that is not a
// number is written as it is.
func countIn(f locale.Format, v any) string {
	sign, digits, frac, ok := decimal(v)
	if !ok {
		return strings.TrimSpace(text(v))
	}
	return f.Number(sign, digits, frac)
}

// decimal splits a number into its sign, integer digits and fraction digits.
func decimal(v any) (sign, digits, frac string, ok bool) {
	s := strings.TrimSpace(text(v))
	m := plainDecimal.FindStringSubmatch(s)
	if m == nil {
		// An integer in exponent form (1e6) is still a count.
		r, ok := smallRat(s)
		if !ok || !r.IsInt() {
			return "", "", "", false
		}
		m = plainDecimal.FindStringSubmatch(r.Num().String())
	}
	return m[1], m[2], strings.TrimPrefix(m[3], "."), true
}

// counted writes a count and the noun it counts, in the form the count
// takes by the language's plural rules: counted 1 "reply" "replies" is "1
// reply", counted 3 "reply" "replies" is "3 replies"; in French 0 takes
// the first form too. A missing count writes nothing, so that the phrase
// can be left out.
func counted(f locale.Format, n any, forms ...string) string {
	c := countIn(f, n)
	if c == "" || len(forms) == 0 {
		return c
	}
	noun := forms[len(forms)-1]
	if _, digits, frac, ok := decimal(n); ok && f.One(digits, frac) {
		noun = forms[0]
	}
	return c + " " + noun
}

// join writes the non-empty values separated by sep: join " at " persona
// company is "CTO at Acme", "CTO" or "Acme" depending on what is known.
func join(sep string, values ...any) string {
	parts := make([]string, 0, len(values))
	for _, v := range values {
		if s := strings.TrimSpace(text(v)); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, sep)
}

// Rate writes part as a share of whole, as a reader writes it: 3 of 200 is
// "1.5%", 1 of 3 "33.3%". A missing or non-numeric part, or a whole that is
// not above zero, writes nothing, so the phrase can be left out.
func Rate(part, whole any) string { return RateIn(english, part, whole) }

// RateIn is Rate written for f's language: "1,5 %" in German.
func RateIn(f locale.Format, part, whole any) string {
	p, ok1 := smallRat(strings.TrimSpace(text(part)))
	w, ok2 := smallRat(strings.TrimSpace(text(whole)))
	if !ok1 || !ok2 || w.Sign() <= 0 {
		return ""
	}
	pct := new(big.Rat).Mul(new(big.Rat).Quo(p, w), big.NewRat(100, 1))
	s := strings.TrimSuffix(pct.FloatString(1), ".0")
	if s == "0" && pct.Sign() > 0 {
		return "<" + f.Percent(f.Number("", "0", "1")) // some, but not 0%
	}
	digits, frac, _ := strings.Cut(s, ".")
	return f.Percent(f.Number("", digits, frac))
}

// Bounds of the numbers count and Rate compute with: a number's text, and
// its exponent. big.Rat takes exponents up to a million, and 1e1000000 is a
// million digits and a second of work per call; no count or rate has more
// than a few dozen.
const (
	maxNumberText = 64
	maxExponent   = 100
)

// smallRat reads s as a number when it is small enough to compute with.
func smallRat(s string) (*big.Rat, bool) {
	// Decimal only: big.Rat reads hexadecimal too, with binary exponents
	// (0x1p9999999) the check below does not see.
	if len(s) > maxNumberText || strings.Trim(s, "0123456789.+-eE/") != "" {
		return nil, false
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp, err := strconv.Atoi(s[i+1:])
		if err != nil || exp > maxExponent || exp < -maxExponent {
			return nil, false
		}
	}
	return new(big.Rat).SetString(s)
}

// Pair is one key and value of a data object, as pairs lists them.
type Pair struct{ Key, Value string }

// pairs lists an object's keys and values in key order, skipping empty
// values; anything but an object lists nothing.
func pairs(v any) []Pair {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := make([]Pair, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if s := strings.TrimSpace(text(m[k])); s != "" {
			out = append(out, Pair{Key: k, Value: s})
		}
	}
	return out
}

// quote marks text as quoted ("> " on every line), as mail clients do; the
// HTML layout shows such a paragraph as a block quote.
func quote(v any) string {
	s := strings.TrimSpace(strings.ReplaceAll(text(v), "\r\n", "\n"))
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight("> "+l, " ")
	}
	return strings.Join(lines, "\n")
}

// exactNumbers returns data with every float64 in it replaced by the
// json.Number of its shortest exact decimal form. Data decoded without
// DecodeData carries float64, which templates would print as 1e+06.
// data itself is never modified; it is returned as is when it holds no
// float.
func exactNumbers(data map[string]any) map[string]any {
	if !hasFloat(data) {
		return data
	}
	return exactValue(data).(map[string]any)
}

func hasFloat(v any) bool {
	switch v := v.(type) {
	case float64, float32:
		return true
	case map[string]any:
		for _, e := range v {
			if hasFloat(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasFloat(e) {
				return true
			}
		}
	}
	return false
}

func exactValue(v any) any {
	switch v := v.(type) {
	case float64, float32:
		return json.Number(text(v))
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = exactValue(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = exactValue(e)
		}
		return out
	}
	return v
}

// date writes a date (2026-03-05) or an instant (RFC 3339) for the reader:
// in their language and, for an instant, their time zone. Other text, such
// as "Friday", is written as it is.
func date(f locale.Format, zone *time.Location, v any) string {
	s := strings.TrimSpace(text(v))
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return f.Date(t)
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return f.DateTime(t, zone)
	}
	return s
}
