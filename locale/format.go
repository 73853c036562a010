package locale

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// Format writes numbers, plurals and dates for one language.
type Format struct {
	Tag language.Tag
	// group and decimal separate thousands and fractions; percent is what
	// follows a percentage ("%" in English, "\u00a0%" in German and French).
	group, decimal, percent string
}

var formats sync.Map // language.Tag → Format

// For returns the format of t. CLDR's separators are read once per tag
// from x/text's own number formatting, so numbers of any length (counts
// past 2^53 included) are grouped digit by digit, exactly.
func For(t language.Tag) Format {
	if f, ok := formats.Load(t); ok {
		return f.(Format)
	}
	p := message.NewPrinter(t)
	f := Format{Tag: t, group: ",", decimal: "."}
	// 1234567.5 prints as 1<g>234<g>567<d>5: the separators are what is
	// between the digits.
	probe := p.Sprint(number.Decimal(1234567.5, number.MinFractionDigits(1), number.MaxFractionDigits(1)))
	if parts := splitDigits(probe); len(parts) == 4 {
		f.group, f.decimal = parts[1], parts[3]
	}
	if pct := p.Sprint(number.Percent(0.25)); strings.HasPrefix(pct, "25") {
		f.percent = pct[2:]
	} else {
		f.percent = "%"
	}
	formats.Store(t, f)
	return f
}

// splitDigits returns the non-digit runs between digit runs of s: for
// "1.234.567,5" that is ["", ".", ".", ","] (a leading empty run first).
func splitDigits(s string) []string {
	var out []string
	var cur strings.Builder
	inDigits := false
	for _, r := range s {
		d := r >= '0' && r <= '9'
		if d && !inDigits {
			out = append(out, cur.String())
			cur.Reset()
		}
		if !d {
			cur.WriteRune(r)
		}
		inDigits = d
	}
	return out
}

// Number writes an exact decimal, given as its sign, integer digits and
// fraction digits (without the point), grouped for the language.
func (f Format) Number(sign, digits, frac string) string {
	var b strings.Builder
	b.WriteString(sign)
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteString(f.group)
		}
		b.WriteRune(d)
	}
	if frac != "" {
		b.WriteString(f.decimal)
		b.WriteString(frac)
	}
	return b.String()
}

// Percent writes a formatted number as a percentage.
func (f Format) Percent(n string) string { return n + f.percent }

// One reports whether a count, given as its integer and fraction digits,
// takes the language's singular ("one") form by CLDR's plural rules: 1 in
// English and German, 0 and 1 in French.
func (f Format) One(digits, frac string) bool {
	ds := make([]byte, 0, len(digits)+len(frac))
	for _, s := range []string{digits, frac} {
		for i := 0; i < len(s); i++ {
			ds = append(ds, s[i]-'0')
		}
	}
	return plural.Cardinal.MatchDigits(f.Tag, ds, len(digits), len(frac)) == plural.One
}

// Date writes a calendar date the way the language writes it in prose:
// "March 5, 2026", "5. März 2026", "5 mars 2026"; ISO 8601 for languages
// without month names here.
func (f Format) Date(t time.Time) string {
	base, _ := f.Tag.Base()
	names, ok := months[base.String()]
	if !ok {
		return t.Format(time.DateOnly)
	}
	m, d, y := names[t.Month()-1], strconv.Itoa(t.Day()), strconv.Itoa(t.Year())
	switch base.String() {
	case "de":
		return d + ". " + m + " " + y
	case "fr":
		if t.Day() == 1 {
			d = "1er"
		}
		return d + " " + m + " " + y
	default:
		return m + " " + d + ", " + y
	}
}

// DateTime writes an instant as a date and a 24-hour time in loc, with
// the zone's abbreviation: "March 5, 2026 at 14:30 CET", "5. März 2026 um
// 14:30 CET", "5 mars 2026 à 14:30 CET".
func (f Format) DateTime(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	base, _ := f.Tag.Base()
	sep, ok := at[base.String()]
	if !ok {
		sep = " "
	}
	return f.Date(t) + sep + t.Format("15:04 MST")
}

var at = map[string]string{"en": " at ", "de": " um ", "fr": " à "}

var months = map[string][12]string{
	"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	"de": {"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
	"fr": {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
}

var zones sync.Map // name → *time.Location

// Zone returns the first of names that is an IANA time zone, else UTC.
// Zones are loaded once: renders ask for one per recipient.
func Zone(names ...string) *time.Location {
	for _, n := range names {
		if n == "" || n == "Local" {
			continue
		}
		if z, ok := zones.Load(n); ok {
			return z.(*time.Location)
		}
		if z, err := time.LoadLocation(n); err == nil {
			zones.Store(n, z)
			return z
		}
	}
	return time.UTC
}
