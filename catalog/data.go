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
func count(v any) string {
	s := strings.TrimSpace(text(v))
	m := plainDecimal.FindStringSubmatch(s)
	if m == nil {
		// An integer in exponent form (1e6) is still a count.
		r, ok := new(big.Rat).SetString(s)
		if !ok || !r.IsInt() {
			return s
		}
		m = plainDecimal.FindStringSubmatch(r.Num().String())
	}
	sign, digits, frac := m[1], m[2], m[3]
	var b strings.Builder
	b.WriteString(sign)
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	b.WriteString(frac)
	return b.String()
}

// counted writes a count and the noun it counts: counted 1 "reply" "replies"
// is "1 reply", counted 3 "reply" "replies" is "3 replies". A missing count
// writes nothing, so that the phrase can be left out.
func counted(n any, forms ...string) string {
	c := count(n)
	if c == "" || len(forms) == 0 {
		return c
	}
	noun := forms[len(forms)-1]
	if c == "1" {
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
func Rate(part, whole any) string {
	p, ok1 := new(big.Rat).SetString(strings.TrimSpace(text(part)))
	w, ok2 := new(big.Rat).SetString(strings.TrimSpace(text(whole)))
	if !ok1 || !ok2 || w.Sign() <= 0 {
		return ""
	}
	pct := new(big.Rat).Mul(new(big.Rat).Quo(p, w), big.NewRat(100, 1))
	s := strings.TrimSuffix(pct.FloatString(1), ".0")
	if s == "0" && pct.Sign() > 0 {
		return "<0.1%" // some, but not 0%
	}
	return s + "%"
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
