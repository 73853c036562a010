package digest

import (
	"testing"
	"time"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestClose(t *testing.T) {
	berlin, kolkata, newYork := zone(t, "Europe/Berlin"), zone(t, "Asia/Kolkata"), zone(t, "America/New_York")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name string
		freq Frequency
		loc  *time.Location
		at   string
		want string // UTC
	}{
		{"hourly mid-hour", Hourly, time.UTC, "2026-06-01T10:17:00Z", "2026-06-01T11:00:00Z"},
		{"hourly on the hour is the next", Hourly, time.UTC, "2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z"},
		{"hourly in a half-hour zone", Hourly, kolkata, "2026-06-01T10:17:00Z", "2026-06-01T10:30:00Z"},
		{"hourly across spring forward", Hourly, berlin, "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z"}, // 01:30 CET -> 03:00 CEST
		{"hourly in the repeated hour", Hourly, berlin, "2026-10-25T00:10:00Z", "2026-10-25T01:00:00Z"},  // 02:10 CEST -> 02:00 CET
		{"hourly after the repeated hour", Hourly, berlin, "2026-10-25T01:10:00Z", "2026-10-25T02:00:00Z"},
		{"daily before nine", Daily, berlin, "2026-06-01T05:00:00Z", "2026-06-01T07:00:00Z"},
		{"daily at nine is tomorrow", Daily, berlin, "2026-06-01T07:00:00Z", "2026-06-02T07:00:00Z"},
		{"daily across spring forward", Daily, berlin, "2026-03-28T10:00:00Z", "2026-03-29T07:00:00Z"}, // 09:00 CEST
		{"daily across fall back", Daily, berlin, "2026-10-24T10:00:00Z", "2026-10-25T08:00:00Z"},      // 09:00 CET
		{"daily west of UTC", Daily, newYork, "2026-11-02T03:00:00Z", "2026-11-02T14:00:00Z"},          // 22:00 EST the evening before
		{"weekly from Sunday", Weekly, berlin, "2026-06-07T12:00:00Z", "2026-06-08T07:00:00Z"},
		{"weekly Monday before nine", Weekly, berlin, "2026-06-08T06:59:00Z", "2026-06-08T07:00:00Z"},
		{"weekly Monday at nine is next week", Weekly, berlin, "2026-06-08T07:00:00Z", "2026-06-15T07:00:00Z"},
		{"weekly from Tuesday", Weekly, berlin, "2026-06-09T07:00:00Z", "2026-06-15T07:00:00Z"},
		{"weekly across spring forward", Weekly, berlin, "2026-03-25T12:00:00Z", "2026-03-30T07:00:00Z"},
		{"weekly across the year end", Weekly, time.UTC, "2026-12-29T12:00:00Z", "2027-01-04T09:00:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := Close(c.freq, c.loc, utc(c.at))
			if !ok || !got.Equal(utc(c.want)) {
				t.Fatalf("Close(%s, %s, %s) = %s, %v; want %s", c.freq, c.loc, c.at, got.UTC().Format(time.RFC3339), ok, c.want)
			}
		})
	}
	if _, ok := Close(Immediate, berlin, time.Now()); ok {
		t.Fatal("immediate has no window")
	}
}

// Every boundary is strictly later, and a boundary's own next boundary is a
// whole window later in local wall-clock terms, through a year of DST.
func TestCloseIsMonotonic(t *testing.T) {
	for _, name := range []string{"Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"} {
		loc := zone(t, name)
		for _, freq := range []Frequency{Hourly, Daily, Weekly} {
			at := time.Date(2026, 1, 1, 0, 7, 0, 0, loc)
			for i := 0; i < 400; i++ {
				next, ok := Close(freq, loc, at)
				if !ok || !next.After(at) {
					t.Fatalf("%s %s: Close(%s) = %s", name, freq, at, next)
				}
				l := next.In(loc)
				if l.Minute() != 0 || l.Second() != 0 || (freq != Hourly && l.Hour() != SendHour) || (freq == Weekly && l.Weekday() != time.Monday) {
					t.Fatalf("%s %s: boundary %s is not on the cadence", name, freq, l)
				}
				if freq == Daily && next.Sub(at) > 25*time.Hour {
					t.Fatalf("%s daily: %s to %s skips a day", name, at, next)
				}
				at = next
			}
		}
	}
}

func TestGroups(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 6, 1, h, 0, 0, 0, time.UTC) }
	items := []Item{
		{Category: "issues", Title: "a", At: at(1)},
		{Category: "outreach", Title: "b", At: at(3)},
		{Category: "issues", Title: "c", At: at(2)},
	}
	g := Groups(items, map[string]int{"issues": 40, "outreach": 1, "billing": 3})
	if len(g) != 3 || g[0].Category != "outreach" || g[1].Category != "issues" || g[2].Category != "billing" {
		t.Fatalf("groups out of order: %+v", g)
	}
	if g[1].Items[0].Title != "c" || g[1].Items[1].Title != "a" || g[1].Total != 40 || g[2].Total != 3 || len(g[2].Items) != 0 {
		t.Fatalf("issues not newest first or totals wrong: %+v", g)
	}
	if c := Categories(g); len(c) != 3 || c[0] != "billing" || c[2] != "outreach" {
		t.Fatalf("categories %v", c)
	}
}

func TestFirstAndDue(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	// Tuesday 2026-03-10, 10:20 in Berlin.
	opened := time.Date(2026, 3, 10, 10, 20, 0, 0, berlin)
	if _, _, ok := First(nil, berlin, opened); ok {
		t.Error("no frequencies, yet a close")
	}
	if _, _, ok := First([]Frequency{Immediate}, berlin, opened); ok {
		t.Error("immediate has no window")
	}
	at, f, ok := First([]Frequency{Weekly, Daily}, berlin, opened)
	if want := time.Date(2026, 3, 11, 9, 0, 0, 0, berlin); !ok || f != Daily || !at.Equal(want) {
		t.Errorf("First(weekly, daily) = %v %q %v, want %v daily", at, f, ok, want)
	}
	dailyClose := time.Date(2026, 3, 11, 9, 0, 0, 0, berlin)
	tests := []struct {
		name string
		freq Frequency
		at   time.Time
		want bool
	}{
		{"daily item of the day", Daily, opened, true},
		{"daily item just before the close", Daily, dailyClose.Add(-time.Second), true},
		{"daily item at the close waits for the next", Daily, dailyClose, false},
		{"weekly item waits for Monday", Weekly, opened, false},
		{"weekly item of last week", Weekly, time.Date(2026, 3, 8, 12, 0, 0, 0, berlin), true},
		{"immediate is always due", Immediate, dailyClose.Add(time.Hour), true},
	}
	for _, tt := range tests {
		if got := Due(tt.freq, berlin, tt.at, dailyClose); got != tt.want {
			t.Errorf("%s: Due = %v, want %v", tt.name, got, tt.want)
		}
	}
}
