package quiet

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// Instants in the table are RFC 3339 with an explicit offset, so each one
// names a single moment whatever the zone's rules; in comments, CET/CEST
// and the like spell out which side of a transition it is on.
func instant(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestUntil(t *testing.T) {
	t.Parallel()
	type window struct {
		start, end, zone string
		weekends         bool
	}
	var (
		dayBerlin   = window{"09:00", "17:00", "Europe/Berlin", false}
		nightBerlin = window{"22:00", "08:00", "Europe/Berlin", false}
		nightWkend  = window{"22:00", "08:00", "Europe/Berlin", true}
		wkendOnly   = window{"09:00", "09:00", "Europe/Berlin", true}
	)
	// 2026-01-14 is a Wednesday; 2026-01-16 to 01-19 run Friday to Monday.
	cases := []struct {
		name string
		w    window
		at   string
		want string // "" when at is not quiet
	}{
		{"same-day window: a minute before start", dayBerlin, "2026-01-14T08:59:00+01:00", ""},
		{"same-day window: at start", dayBerlin, "2026-01-14T09:00:00+01:00", "2026-01-14T17:00:00+01:00"},
		{"same-day window: inside", dayBerlin, "2026-01-14T12:34:56+01:00", "2026-01-14T17:00:00+01:00"},
		{"same-day window: last second", dayBerlin, "2026-01-14T16:59:59+01:00", "2026-01-14T17:00:00+01:00"},
		{"same-day window: end is not quiet", dayBerlin, "2026-01-14T17:00:00+01:00", ""},
		{"same-day window: evening", dayBerlin, "2026-01-14T23:00:00+01:00", ""},

		{"midnight-crossing: a second before start", nightBerlin, "2026-01-14T21:59:59+01:00", ""},
		{"midnight-crossing: at start", nightBerlin, "2026-01-14T22:00:00+01:00", "2026-01-15T08:00:00+01:00"},
		{"midnight-crossing: 23:30 waits for tomorrow", nightBerlin, "2026-01-14T23:30:00+01:00", "2026-01-15T08:00:00+01:00"},
		{"midnight-crossing: at midnight", nightBerlin, "2026-01-15T00:00:00+01:00", "2026-01-15T08:00:00+01:00"},
		{"midnight-crossing: 07:59", nightBerlin, "2026-01-15T07:59:00+01:00", "2026-01-15T08:00:00+01:00"},
		{"midnight-crossing: end is not quiet", nightBerlin, "2026-01-15T08:00:00+01:00", ""},
		{"midnight-crossing: instant given in UTC", nightBerlin, "2026-01-14T22:30:00Z", "2026-01-15T08:00:00+01:00"},
		{"midnight-crossing: weekend not quiet without weekends", nightBerlin, "2026-01-17T12:00:00+01:00", ""},

		{"weekends: Friday evening before the window", nightWkend, "2026-01-16T21:00:00+01:00", ""},
		{"weekends: Friday 23:00 chains through the weekend to Monday 08:00", nightWkend, "2026-01-16T23:00:00+01:00", "2026-01-19T08:00:00+01:00"},
		{"weekends: Saturday morning", nightWkend, "2026-01-17T10:00:00+01:00", "2026-01-19T08:00:00+01:00"},
		{"weekends: Sunday night", nightWkend, "2026-01-18T23:00:00+01:00", "2026-01-19T08:00:00+01:00"},
		{"weekends: Monday 08:00 is free", nightWkend, "2026-01-19T08:00:00+01:00", ""},
		{"weekends only: Friday night is free", wkendOnly, "2026-01-16T23:59:59+01:00", ""},
		{"weekends only: Saturday 00:00", wkendOnly, "2026-01-17T00:00:00+01:00", "2026-01-19T00:00:00+01:00"},
		{"weekends only: Sunday last second", wkendOnly, "2026-01-18T23:59:59+01:00", "2026-01-19T00:00:00+01:00"},
		{"weekends only: Monday 00:00 is free", wkendOnly, "2026-01-19T00:00:00+01:00", ""},
		{"weekends only: start == end sets no daily window", wkendOnly, "2026-01-14T09:00:00+01:00", ""},
		{"start == end without weekends is never quiet", window{"00:00", "00:00", "Europe/Berlin", false}, "2026-01-17T00:00:00+01:00", ""},
		{"weekends with a day window: Friday releases the same day", window{"09:00", "17:00", "Europe/Berlin", true}, "2026-01-16T12:00:00+01:00", "2026-01-16T17:00:00+01:00"},
		{"weekends with a window from midnight: Saturday chains to Monday 06:00", window{"00:00", "06:00", "Europe/Berlin", true}, "2026-01-17T12:00:00+01:00", "2026-01-19T06:00:00+01:00"},
		{"weekends use local days: Saturday in Tokyo is still Friday in UTC", window{"12:00", "12:00", "Asia/Tokyo", true}, "2026-01-16T15:00:00Z", "2026-01-19T00:00:00+09:00"},

		// Berlin springs forward 2026-03-29 02:00 CET -> 03:00 CEST.
		{"Berlin 23-hour day: 22:00-08:00 lasts 9 hours", nightBerlin, "2026-03-28T22:00:00+01:00", "2026-03-29T08:00:00+02:00"},
		{"Berlin spring: window starting in the gap is not on before the jump", window{"02:30", "04:00", "Europe/Berlin", false}, "2026-03-29T01:59:59+01:00", ""},
		{"Berlin spring: window starting in the gap starts at 03:00 CEST", window{"02:30", "04:00", "Europe/Berlin", false}, "2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00"},
		{"Berlin spring: window ending in the gap ends at 03:00 CEST", window{"22:00", "02:30", "Europe/Berlin", false}, "2026-03-29T01:59:00+01:00", "2026-03-29T03:00:00+02:00"},
		{"Berlin spring: window ending in the gap is over at 03:00 CEST", window{"22:00", "02:30", "Europe/Berlin", false}, "2026-03-29T03:00:00+02:00", ""},
		{"Berlin spring: window wholly inside the gap does not happen", window{"02:10", "02:50", "Europe/Berlin", false}, "2026-03-29T03:00:00+02:00", ""},
		{"Berlin spring: gap-swallowed free time chains into the next night", window{"03:00", "02:30", "Europe/Berlin", false}, "2026-03-29T01:00:00+01:00", "2026-03-30T02:30:00+02:00"},

		// Berlin falls back 2026-10-25 03:00 CEST -> 02:00 CET.
		{"Berlin 25-hour day: 22:00-08:00 lasts 11 hours", nightBerlin, "2026-10-24T22:00:00+02:00", "2026-10-25T08:00:00+01:00"},
		{"Berlin fall: end at a repeated time takes its first occurrence", window{"22:00", "02:30", "Europe/Berlin", false}, "2026-10-25T01:00:00+02:00", "2026-10-25T02:30:00+02:00"},
		{"Berlin fall: second 02:15 is after the end and free", window{"22:00", "02:30", "Europe/Berlin", false}, "2026-10-25T02:15:00+01:00", ""},
		{"Berlin fall: start at a repeated time takes its first occurrence", window{"02:30", "05:00", "Europe/Berlin", false}, "2026-10-25T02:30:00+02:00", "2026-10-25T05:00:00+01:00"},
		{"Berlin fall: second 02:10 is after the start and quiet", window{"02:30", "05:00", "Europe/Berlin", false}, "2026-10-25T02:10:00+01:00", "2026-10-25T05:00:00+01:00"},
		{"Berlin fall: before the first 02:30 is free", window{"02:30", "05:00", "Europe/Berlin", false}, "2026-10-25T02:29:59+02:00", ""},
		{"Berlin rule-based future DST: 2040 spring forward", window{"02:30", "04:00", "Europe/Berlin", false}, "2040-03-25T03:00:00+02:00", "2040-03-25T04:00:00+02:00"},

		// New York springs forward 2026-03-08 02:00 EST -> 03:00 EDT and
		// falls back 2026-11-01 02:00 EDT -> 01:00 EST.
		{"New York 23-hour day", window{"22:00", "08:00", "America/New_York", false}, "2026-03-07T23:00:00-05:00", "2026-03-08T08:00:00-04:00"},
		{"New York spring: window starting in the gap starts at 03:00 EDT", window{"02:30", "04:00", "America/New_York", false}, "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"},
		{"New York spring: window starting in the gap is off at 01:59 EST", window{"02:30", "04:00", "America/New_York", false}, "2026-03-08T01:59:00-05:00", ""},
		{"New York 25-hour day", window{"22:00", "08:00", "America/New_York", false}, "2026-10-31T22:00:00-04:00", "2026-11-01T08:00:00-05:00"},
		{"New York fall: end at a repeated time takes its first occurrence", window{"22:00", "01:30", "America/New_York", false}, "2026-10-31T23:00:00-04:00", "2026-11-01T01:30:00-04:00"},
		{"New York fall: second 01:10 is free", window{"22:00", "01:30", "America/New_York", false}, "2026-11-01T01:10:00-05:00", ""},

		{"Kolkata +05:30: a second before start", window{"22:00", "08:00", "Asia/Kolkata", false}, "2026-01-14T16:29:59Z", ""},
		{"Kolkata +05:30: start", window{"22:00", "08:00", "Asia/Kolkata", false}, "2026-01-14T16:30:00Z", "2026-01-15T08:00:00+05:30"},
		{"Kathmandu +05:45", window{"09:00", "17:00", "Asia/Kathmandu", false}, "2026-01-14T08:15:00Z", "2026-01-14T17:00:00+05:45"},
		{"Kathmandu +05:45: end", window{"09:00", "17:00", "Asia/Kathmandu", false}, "2026-01-14T11:15:00Z", ""},

		// Adelaide: +10:30 until 2026-04-05 03:00 ACDT -> 02:00 ACST (+09:30),
		// then 2026-10-04 02:00 ACST -> 03:00 ACDT.
		{"Adelaide summer +10:30", window{"22:00", "08:00", "Australia/Adelaide", false}, "2026-01-14T23:00:00+10:30", "2026-01-15T08:00:00+10:30"},
		{"Adelaide fall back: 25-hour night", window{"22:00", "08:00", "Australia/Adelaide", false}, "2026-04-04T23:00:00+10:30", "2026-04-05T08:00:00+09:30"},
		{"Adelaide spring: window starting in the gap starts at 03:00 ACDT", window{"02:30", "06:00", "Australia/Adelaide", false}, "2026-10-04T03:00:00+10:30", "2026-10-04T06:00:00+10:30"},
		{"Adelaide spring: 01:59 ACST is free", window{"02:30", "06:00", "Australia/Adelaide", false}, "2026-10-04T01:59:00+09:30", ""},

		// Chatham: +13:45 until 2026-04-05 03:45 -> 02:45 (+12:45), then
		// 2026-09-27 02:45 -> 03:45.
		{"Chatham fall: end at a repeated 03:00 takes the first", window{"22:00", "03:00", "Pacific/Chatham", false}, "2026-04-04T23:00:00+13:45", "2026-04-05T03:00:00+13:45"},
		{"Chatham fall: second 03:10 is free", window{"22:00", "03:00", "Pacific/Chatham", false}, "2026-04-05T03:10:00+12:45", ""},
		{"Chatham spring: window starting in the gap starts at 03:45", window{"03:00", "06:00", "Pacific/Chatham", false}, "2026-09-27T03:45:00+13:45", "2026-09-27T06:00:00+13:45"},
		{"Chatham spring: 02:44 is free", window{"03:00", "06:00", "Pacific/Chatham", false}, "2026-09-27T02:44:00+12:45", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w, err := Parse(c.w.start, c.w.end, c.w.zone, c.w.weekends)
			if err != nil {
				t.Fatal(err)
			}
			at := instant(t, c.at)
			got, quiet := w.Until(at)
			if c.want == "" {
				if quiet || !got.Equal(at) {
					t.Fatalf("Until(%s) = %s, %v; want not quiet", c.at, got.Format(time.RFC3339), quiet)
				}
				return
			}
			want := instant(t, c.want)
			if !quiet || !got.Equal(want) {
				t.Fatalf("Until(%s) = %s, %v; want %s, true", c.at, got.Format(time.RFC3339), quiet, c.want)
			}
			if got.Location() != w.Location {
				t.Errorf("release is in %s, want %s", got.Location(), w.Location)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, start, end, zone, want string
	}{
		{"hour 24", "24:00", "08:00", "UTC", "start: "},
		{"one-digit hour", "7:00", "08:00", "UTC", "start: "},
		{"minute 60", "22:00", "07:60", "UTC", "end: "},
		{"empty end", "22:00", "", "UTC", "end: "},
		{"seconds", "22:00:00", "08:00", "UTC", "start: "},
		{"signed", "+1:00", "08:00", "UTC", "start: "},
		{"unknown zone", "22:00", "08:00", "Mars/Base", `timezone: unknown time zone "Mars/Base"`},
		{"empty zone", "22:00", "08:00", "", "timezone: "},
		{"server-local zone", "22:00", "08:00", "Local", "timezone: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(c.start, c.end, c.zone, false)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("Parse(%q, %q, %q) error = %v; want it to start %q", c.start, c.end, c.zone, err, c.want)
			}
		})
	}
}

func TestClockRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"00:00", "07:05", "12:30", "23:59"} {
		c, err := ParseClock(s)
		if err != nil {
			t.Fatalf("ParseClock(%q): %v", s, err)
		}
		if c.String() != s {
			t.Errorf("ParseClock(%q).String() = %q", s, c.String())
		}
	}
	if c, _ := ParseClock("23:59"); c != 23*60+59 {
		t.Errorf("ParseClock(23:59) = %d minutes, want %d", c, 23*60+59)
	}
}

// Zones for the property check: DST at 02:00 and 03:00, at midnight
// (Santiago, Havana), a half-hour DST shift (Lord Howe), odd offsets, and a
// day skipped outright (Apia, 2011-12-30).
var fuzzZones = []string{
	"UTC", "Europe/Berlin", "America/New_York", "Australia/Adelaide", "Pacific/Chatham",
	"Asia/Kolkata", "Asia/Kathmandu", "America/Santiago", "America/Havana",
	"Australia/Lord_Howe", "Pacific/Apia",
}

// FuzzUntil checks Until against its definition: the release is not quiet,
// not before t, and everything between is quiet and releases at the same
// instant. Away from DST transitions it also checks against plain wall-clock
// reading, which needs none of the transition logic.
func FuzzUntil(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		f.Add(r.Uint32(), uint16(r.IntN(1440)), uint16(r.IntN(1440)), r.IntN(2) == 0, r.Int64N(3e9))
	}
	f.Add(uint32(1), uint16(3*60), uint16(2*60+30), false, int64(1774742400)) // Berlin 2026-03-29 00:00Z
	f.Add(uint32(10), uint16(22*60), uint16(8*60), true, int64(1325152800))   // Apia 2011-12-29 10:00Z
	locs := make([]*time.Location, len(fuzzZones))
	for i, z := range fuzzZones {
		var err error
		if locs[i], err = time.LoadLocation(z); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, zone uint32, start, end uint16, weekends bool, unix int64) {
		w := Window{Start: Clock(start % 1440), End: Clock(end % 1440), Location: locs[zone%uint32(len(locs))], Weekends: weekends}
		// Keep to 1970-2065: sub-second and far-off instants add nothing.
		at := time.Unix(unix%3e9, 0).Add(time.Duration(unix%1000) * time.Millisecond)
		if at.Unix() < 0 {
			at = at.Add(3e9 * time.Second)
		}
		got, quiet := w.Until(at)
		if want := wallQuiet(w, at); want != nil && *want != quiet {
			t.Fatalf("%+v: Until(%s) quiet = %v, wall clock says %v", w, at, quiet, *want)
		}
		if !quiet {
			if !got.Equal(at) {
				t.Fatalf("%+v: Until(%s) = %s, false; want t back", w, at, got)
			}
			return
		}
		if !got.After(at) {
			t.Fatalf("%+v: Until(%s) = %s, not after t", w, at, got)
		}
		if again, q := w.Until(got); q {
			t.Fatalf("%+v: release %s of %s is itself quiet until %s", w, got, at, again)
		}
		span := got.Sub(at)
		for _, p := range []time.Time{at.Add(span / 4), at.Add(span / 2), at.Add(span * 3 / 4), got.Add(-time.Second)} {
			if !p.After(at) {
				continue
			}
			if r, q := w.Until(p); !q || !r.Equal(got) {
				t.Fatalf("%+v: Until(%s) = %s; %s between t=%s and release gives %s, %v", w, at, got, p, at, r, q)
			}
		}
	})
}

// wallQuiet reads quiet hours off the local clock: right only where the
// offset is steady for two days either side, else it returns nil.
func wallQuiet(w Window, at time.Time) *bool {
	start, end := at.In(w.Location).ZoneBounds()
	if !start.IsZero() && at.Sub(start) < 50*time.Hour || !end.IsZero() && end.Sub(at) < 50*time.Hour {
		return nil
	}
	local := at.In(w.Location)
	c := Clock(local.Hour()*60 + local.Minute())
	q := w.Weekends && (local.Weekday() == time.Saturday || local.Weekday() == time.Sunday) ||
		w.Start < w.End && w.Start <= c && c < w.End ||
		w.Start > w.End && (c >= w.Start || c < w.End)
	return &q
}

func BenchmarkUntil(b *testing.B) {
	w, err := Parse("22:00", "08:00", "Europe/Berlin", true)
	if err != nil {
		b.Fatal(err)
	}
	friday := time.Date(2026, 1, 16, 22, 0, 0, 0, time.UTC) // chains through the weekend
	for b.Loop() {
		w.Until(friday)
	}
}
