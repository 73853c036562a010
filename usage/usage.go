// Package usage decides what a metric's readings say about where its use
// is heading: how much faster it grows this billing period than the last,
// and when, at the current pace, it reaches the plan's limit. It keeps no
// state: the caller stores, per metric and period, the first and the last
// reading, which is all a pace needs.
package usage

import (
	"math"
	"regexp"
	"strconv"
	"time"
)

// Sample is one reading of a metric: how much was used, and when.
type Sample struct {
	Used float64
	At   time.Time
}

// Period is what is kept of one billing period of a metric: its first
// reading and its latest.
type Period struct {
	First, Last Sample
}

// MinSpan is the shortest stretch a pace is measured over: two readings
// minutes apart say more about a burst than about a trend.
const MinSpan = 24 * time.Hour

const day = 24 * time.Hour

// Rate is the period's pace, in units a day, between its first and latest
// readings; ok is false when they are less than MinSpan apart or the use
// went down (a correction, not a pace).
func (p Period) Rate() (rate float64, ok bool) {
	span := p.Last.At.Sub(p.First.At)
	grown := p.Last.Used - p.First.Used
	if span < MinSpan || grown < 0 {
		return 0, false
	}
	return grown / (float64(span) / float64(day)), true
}

// Growth is how much faster, in percent, the period now grows than the
// period before: 85 when it grows 1.85 times as fast, negative when slower.
// ok is false when either pace is unknown or the previous one was zero
// (from nothing, any use is infinitely faster: no trend to report).
func Growth(now, before Period) (percent float64, ok bool) {
	r, ok1 := now.Rate()
	b, ok2 := before.Rate()
	if !ok1 || !ok2 || b <= 0 {
		return 0, false
	}
	return (r/b - 1) * 100, true
}

// Reach is when, at the period's pace, its use reaches limit; ok is false
// when the pace is unknown or zero, or the limit is reached already (the
// quota alerts speak then).
func Reach(p Period, limit float64) (at time.Time, ok bool) {
	r, ok := p.Rate()
	if !ok || r <= 0 || limit <= 0 || p.Last.Used >= limit {
		return time.Time{}, false
	}
	days := (limit - p.Last.Used) / r
	if days > 100*365 {
		return time.Time{}, false // a pace that slow never reaches it
	}
	return p.Last.At.Add(time.Duration(days * float64(day))), true
}

var (
	monthPattern = regexp.MustCompile(`^(\d{4})-(\d{2})$`)
	weekPattern  = regexp.MustCompile(`^(\d{4})-W(\d{2})$`)
)

// PeriodEnd is when a billing period named as backends name them ends, in
// UTC: a month "2026-01" at the first of the next, an ISO week "2026-W03"
// on the next Monday. ok is false for any other name: the reading must
// then say when its period ends.
func PeriodEnd(name string) (time.Time, bool) {
	if m := monthPattern.FindStringSubmatch(name); m != nil {
		y, _ := strconv.Atoi(m[1])
		mo, _ := strconv.Atoi(m[2])
		if mo < 1 || mo > 12 {
			return time.Time{}, false
		}
		return time.Date(y, time.Month(mo)+1, 1, 0, 0, 0, 0, time.UTC), true
	}
	if m := weekPattern.FindStringSubmatch(name); m != nil {
		y, _ := strconv.Atoi(m[1])
		w, _ := strconv.Atoi(m[2])
		// ISO week 1 holds 4 January; weeks start on Monday.
		jan4 := time.Date(y, time.January, 4, 0, 0, 0, 0, time.UTC)
		monday := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
		if w < 1 || w > 53 {
			return time.Time{}, false
		}
		if w == 53 {
			if _, last := monday.AddDate(0, 0, 52*7).ISOWeek(); last != 53 {
				return time.Time{}, false
			}
		}
		return monday.AddDate(0, 0, w*7), true
	}
	return time.Time{}, false
}

// Facts are what the usage rules read and the alerts show, as data fields
// added to the reading. A fact that cannot be known is left out, so a rule
// reading it holds (a missing field makes a condition false).
//
//   - rate, previous_rate: the pace a day now and in the period before
//   - growth_percent: how much faster it grows now (a whole number)
//   - projected_at, projected_on: when the limit is reached at this pace
//     (a timestamp, and a date in loc)
//   - days_to_limit: days from this reading until then
//   - period_end (its last day, in UTC) and days_left: when the period ends
func Facts(now Period, before *Period, limit float64, end time.Time, loc *time.Location) map[string]any {
	out := map[string]any{}
	if r, ok := now.Rate(); ok {
		out["rate"] = round(r)
	}
	if before != nil {
		if r, ok := before.Rate(); ok {
			out["previous_rate"] = round(r)
		}
		if g, ok := Growth(now, *before); ok {
			out["growth_percent"] = math.Round(g)
		}
	}
	if !end.IsZero() {
		// The period's last day as its name counts it (periods are
		// UTC): January ends, as a reader counts, on the 31st.
		out["period_end"] = end.Add(-time.Second).UTC().Format(time.DateOnly)
		out["days_left"] = days(end.Sub(now.Last.At))
	}
	if at, ok := Reach(now, limit); ok {
		out["projected_at"] = at.UTC().Format(time.RFC3339)
		out["projected_on"] = at.In(loc).Format(time.DateOnly)
		out["days_to_limit"] = days(at.Sub(now.Last.At))
	}
	return out
}

// days is a duration in days, to a tenth.
func days(d time.Duration) float64 { return math.Round(float64(d)/float64(day)*10) / 10 }

// round keeps a pace readable: whole units from 10 up, a tenth below.
func round(r float64) float64 {
	if r >= 10 {
		return math.Round(r)
	}
	return math.Round(r*10) / 10
}
