// Package quiet computes when a user's quiet hours end. Workflows use it to
// pick the instant a deferred delivery may go out; the API uses it to
// validate what users set. It does no I/O and never reads the clock, so a
// workflow may call Until directly (Parse loads time zone data, so a
// workflow should get its Window from an activity or its input).
package quiet

import (
	"errors"
	"fmt"
	"time"
)

// Clock is a wall-clock time of day, minutes since midnight.
type Clock int

// ParseClock reads "HH:MM" (24-hour, two digits each, 00:00–23:59).
func ParseClock(s string) (Clock, error) {
	if len(s) != 5 || s[2] != ':' || !digits(s[:2]) || !digits(s[3:]) {
		return 0, fmt.Errorf("want HH:MM between 00:00 and 23:59, got %q", s)
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 23 || m > 59 {
		return 0, fmt.Errorf("want HH:MM between 00:00 and 23:59, got %q", s)
	}
	return Clock(h*60 + m), nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats c as "HH:MM".
func (c Clock) String() string {
	return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60)
}

// Window is a user's quiet hours in their zone.
type Window struct {
	Start, End Clock          // daily window, local wall clock; Start == End means no daily window
	Location   *time.Location // nil means UTC
	Weekends   bool           // all of Saturday and Sunday local time are quiet
}

// Parse builds a Window. Errors begin with the offending field: "start",
// "end" or "timezone".
func Parse(start, end, timezone string, weekends bool) (Window, error) {
	s, err := ParseClock(start)
	if err != nil {
		return Window{}, fmt.Errorf("start: %w", err)
	}
	e, err := ParseClock(end)
	if err != nil {
		return Window{}, fmt.Errorf("end: %w", err)
	}
	// time.LoadLocation reads "" as UTC and "Local" as the server's own zone;
	// neither is a choice a user made, and "Local" would differ between hosts.
	switch timezone {
	case "":
		return Window{}, errors.New("timezone: required, want an IANA time zone such as Europe/Berlin")
	case "Local":
		return Window{}, fmt.Errorf("timezone: unknown time zone %q", timezone)
	}
	loc, err := time.LoadLocation(timezone)
	if err != nil {
		// LoadLocation's own message names nothing the caller does not
		// already know; the quoted name is clearer to an end user.
		return Window{}, fmt.Errorf("timezone: unknown time zone %q", timezone)
	}
	return Window{Start: s, End: e, Location: loc, Weekends: weekends}, nil
}

// Until reports whether t falls in quiet hours and, if so, the first instant
// at or after t that is not quiet, in w.Location. Quiet stretches that touch
// chain: a weekend ending Monday 00:00 inside a 22:00–08:00 window releases at
// Monday 08:00. When t is not quiet it returns (t, false).
//
// Each boundary is the first instant the local clock reads at or after it:
// a boundary skipped by a spring-forward takes effect at the transition, and
// one repeated by a fall-back takes effect at its first occurrence.
func (w Window) Until(t time.Time) (time.Time, bool) {
	cur, quiet := t, false
	// Each pass moves cur to the end of a quiet interval holding it; the loop
	// ends because every day has a non-quiet gap outside weekends, short of a
	// spring-forward swallowing it, which happens at most once a day.
	for {
		end, ok := w.cover(cur)
		if !ok {
			break
		}
		cur, quiet = end, true
	}
	if !quiet {
		return t, false
	}
	return cur.In(w.loc()), true
}

func (w Window) loc() *time.Location {
	if w.Location == nil {
		return time.UTC
	}
	return w.Location
}

// cover returns the latest end among the quiet intervals that hold t.
func (w Window) cover(t time.Time) (end time.Time, ok bool) {
	consider := func(from, to time.Time) {
		if !t.Before(from) && t.Before(to) && (!ok || to.After(end)) {
			end, ok = to, true
		}
	}
	// Days are civil dates, kept as UTC midnights so date arithmetic never
	// meets a DST transition.
	y, m, d := t.In(w.loc()).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	// An interval starting two days back has ended by today's midnight, which
	// the clock has already read. One starting two days ahead cannot have
	// begun: that would need the clock set back by more than a day, which no
	// zone has ever done.
	for i := -1; i <= 1; i++ {
		day := today.AddDate(0, 0, i)
		if w.Start != w.End {
			endDay := day
			if w.Start > w.End {
				endDay = day.AddDate(0, 0, 1)
			}
			consider(w.at(day, w.Start), w.at(endDay, w.End))
		}
		if w.Weekends && day.Weekday() == time.Saturday {
			consider(w.at(day, 0), w.at(day.AddDate(0, 0, 2), 0))
		}
	}
	return end, ok
}

// at returns the first instant at which the local clock reads c on day or
// later. time.Date leaves its choice at DST transitions unspecified, so this
// walks the zone's offset periods instead.
func (w Window) at(day time.Time, c Clock) time.Time {
	wall := day.Unix() + int64(c)*60 // the wall reading, counted as if it were UTC
	// Two days early the clock reads less than wall under any real offset,
	// so the first period found below is the first ever to reach wall.
	p := time.Unix(wall-2*86400, 0).In(w.loc())
	for {
		_, offset := p.Zone()
		start, end := p.ZoneBounds()
		// In this period the clock reads wall at instant wall-offset; if
		// that is before the period began, the clock jumped over wall at
		// the period's start.
		u := max(wall-int64(offset), start.Unix())
		if end.IsZero() || u < end.Unix() {
			return time.Unix(u, 0)
		}
		p = end
	}
}

// Next returns the first instant strictly after t at which the clock in loc
// reads c: tomorrow's if today's has passed. On a day whose clock skips c
// (a spring-forward gap) it is the instant the clock jumps past it; on a
// day that reads c twice it is the first.
func Next(c Clock, loc *time.Location, t time.Time) time.Time {
	w := Window{Location: loc}
	local := t.In(w.loc())
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	for {
		if at := w.at(day, c); at.After(t) {
			return at
		}
		day = day.AddDate(0, 0, 1)
	}
}
