// Package digest holds the pure logic of digests: when a user's window
// closes, and how a window's items are grouped for reading. Workflows,
// activities and the API import it; it does no I/O.
package digest

import (
	"cmp"
	"slices"
	"time"
)

// Frequency is how often a channel's (or a category's) non-urgent
// notifications go out: at once, or one digest per window. Preference
// documents, tenant settings and digest windows all hold it.
type Frequency string

// Frequencies (prefs validates them).
const (
	Immediate Frequency = "immediate"
	Hourly    Frequency = "hourly"
	Daily     Frequency = "daily"
	Weekly    Frequency = "weekly"
)

// SendHour is the local hour daily and weekly digests go out: early enough to
// read with the first coffee, late enough not to be the night's first mail.
const SendHour = 9

// Close returns the first window boundary strictly after t for freq, in loc:
// the top of the next local hour, the next 09:00, or the next Monday 09:00.
// It reports false for immediate (or unknown) frequencies, which have no
// window. Boundaries are local wall-clock times, so they move with DST: a
// daily digest goes out at 09:00 on both sides of a change.
func Close(freq Frequency, loc *time.Location, t time.Time) (time.Time, bool) {
	if loc == nil {
		loc = time.UTC
	}
	local := t.In(loc)
	switch freq {
	case Hourly:
		// The offset of t's zone: zones an odd half hour off UTC have
		// their hours at :30. Working in absolute seconds keeps the
		// repeated hour of a fall-back change two distinct windows.
		_, off := local.Zone()
		u := t.Unix() + int64(off)
		next := (floorDiv(u, 3600)+1)*3600 - int64(off)
		return time.Unix(next, 0).In(loc), true
	case Daily:
		c := time.Date(local.Year(), local.Month(), local.Day(), SendHour, 0, 0, 0, loc)
		if !c.After(t) {
			c = time.Date(local.Year(), local.Month(), local.Day()+1, SendHour, 0, 0, 0, loc)
		}
		return c, true
	case Weekly:
		back := (int(local.Weekday()) + 6) % 7 // days since Monday
		c := time.Date(local.Year(), local.Month(), local.Day()-back, SendHour, 0, 0, 0, loc)
		if !c.After(t) {
			c = time.Date(local.Year(), local.Month(), local.Day()-back+7, SendHour, 0, 0, 0, loc)
		}
		return c, true
	}
	return time.Time{}, false
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Item is one notification of a window, as the digest lists it.
type Item struct {
	Category string    `json:"category"`
	Type     string    `json:"type"`
	Title    string    `json:"title"`
	Body     string    `json:"body,omitempty"`
	Link     string    `json:"link,omitempty"`
	At       time.Time `json:"at"`
}

// Group is one category's items, newest first.
type Group struct {
	Category string `json:"category"`
	Items    []Item `json:"items"`
	// Total counts every item of the category in the window, listed or not.
	Total int `json:"total"`
}

// Groups sorts items into categories: the category with the newest item
// first, each category's items newest first. totals, when given, are the
// window's counts per category (the items listed may be only the newest of
// a long window); categories missing from items but counted there come last.
func Groups(items []Item, totals map[string]int) []Group {
	sorted := slices.Clone(items)
	slices.SortStableFunc(sorted, func(a, b Item) int { return b.At.Compare(a.At) })
	var out []Group
	index := map[string]int{}
	for _, it := range sorted {
		i, ok := index[it.Category]
		if !ok {
			i = len(out)
			index[it.Category] = i
			out = append(out, Group{Category: it.Category})
		}
		out[i].Items = append(out[i].Items, it)
	}
	var rest []string
	for c := range totals {
		if _, ok := index[c]; !ok {
			rest = append(rest, c)
		}
	}
	slices.Sort(rest)
	for _, c := range rest {
		out = append(out, Group{Category: c})
	}
	for i := range out {
		out[i].Total = max(len(out[i].Items), totals[out[i].Category])
	}
	return out
}

// Categories returns the distinct categories of groups, sorted.
func Categories(groups []Group) []string {
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		out = append(out, g.Category)
	}
	slices.SortFunc(out, cmp.Compare)
	return slices.Compact(out)
}

// First returns the earliest close after t among freqs, the frequency it
// belongs to, and false when none of them has a window. A window that
// holds items of several cadences (categories digested at different
// frequencies) wakes at the first boundary any of them reaches.
func First(freqs []Frequency, loc *time.Location, t time.Time) (time.Time, Frequency, bool) {
	var at time.Time
	var freq Frequency
	for _, f := range freqs {
		if c, ok := Close(f, loc, t); ok && (freq == "" || c.Before(at)) {
			at, freq = c, f
		}
	}
	return at, freq, freq != ""
}

// Due reports whether an item digested at at with frequency freq goes out
// in a digest closing at closeAt: its cadence's boundary after at has come.
// An item of no cadence (its user went back to immediate) is always due.
func Due(freq Frequency, loc *time.Location, at, closeAt time.Time) bool {
	c, ok := Close(freq, loc, at)
	return !ok || !c.After(closeAt)
}
