package usage

import (
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

func at(days float64) time.Time { return t0.Add(time.Duration(days * float64(24*time.Hour))) }

func period(firstUsed, firstDay, lastUsed, lastDay float64) Period {
	return Period{First: Sample{firstUsed, at(firstDay)}, Last: Sample{lastUsed, at(lastDay)}}
}

func TestRate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		p    Period
		want float64
		ok   bool
	}{
		{"a week of 100 a day", period(0, 0, 700, 7), 100, true},
		{"exactly the shortest span", period(10, 0, 40, 1), 30, true},
		{"readings an hour apart", period(0, 0, 500, 1.0/24), 0, false},
		{"one reading", period(5, 3, 5, 3), 0, false},
		{"use went down", period(500, 0, 100, 3), 0, false},
		{"no growth", period(50, 0, 50, 5), 0, true},
	} {
		got, ok := tt.p.Rate()
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: Rate() = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestGrowth(t *testing.T) {
	t.Parallel()
	lastMonth := period(0, -31, 3000, -1) // 100 a day
	for _, tt := range []struct {
		name        string
		now, before Period
		want        float64
		ok          bool
	}{
		{"half as fast again", period(0, 0, 1500, 10), lastMonth, 50, true},
		{"twice as fast", period(0, 0, 1400, 7), lastMonth, 100, true},
		{"slower", period(0, 0, 400, 8), lastMonth, -50, true},
		{"too early to tell", period(0, 0, 900, 0.5), lastMonth, 0, false},
		{"nothing used before", period(0, 0, 900, 3), period(0, -31, 0, -1), 0, false},
		{"the period before too short", period(0, 0, 900, 3), period(0, -2, 100, -1.5), 0, false},
	} {
		got, ok := Growth(tt.now, tt.before)
		if ok != tt.ok || (ok && (got < tt.want-1e-9 || got > tt.want+1e-9)) {
			t.Errorf("%s: Growth = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestReach(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		p     Period
		limit float64
		want  time.Time
		ok    bool
	}{
		{"500 a day, 4,000 left", period(0, 0, 6000, 12), 10000, at(20), true},
		{"at the limit already", period(0, 0, 10000, 12), 10000, time.Time{}, false},
		{"no pace yet", period(0, 0, 6000, 0.2), 10000, time.Time{}, false},
		{"not growing", period(10, 0, 10, 9), 100, time.Time{}, false},
		{"no limit", period(0, 0, 10, 9), 0, time.Time{}, false},
	} {
		got, ok := Reach(tt.p, tt.limit)
		if !got.Equal(tt.want) || ok != tt.ok {
			t.Errorf("%s: Reach = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPeriodEnd(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		want time.Time
		ok   bool
	}{
		{"2026-01", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), true},
		{"2026-12", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"2026-W01", time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), true}, // week 1 of 2026 starts Monday 29 Dec 2025
		{"2026-W03", time.Date(2026, 1, 19, 0, 0, 0, 0, time.UTC), true},
		{"2026-W53", time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC), true}, // 2026 has 53 ISO weeks
		{"2025-W53", time.Time{}, false},
		{"2026-13", time.Time{}, false},
		{"Q1", time.Time{}, false},
		{"", time.Time{}, false},
	} {
		got, ok := PeriodEnd(tt.name)
		if !got.Equal(tt.want) || ok != tt.ok {
			t.Errorf("PeriodEnd(%q) = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFacts(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	before := period(0, -31, 3000, -1)
	end, _ := PeriodEnd("2026-01")
	got := Facts(period(0, 0, 6000, 12), &before, 10000, end, berlin)
	want := map[string]any{
		"rate": 500.0, "previous_rate": 100.0, "growth_percent": 400.0,
		"period_end": "2026-01-31", "days_left": 19.0,
		"projected_at": "2026-01-21T00:00:00Z", "projected_on": "2026-01-21", "days_to_limit": 8.0,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Facts =\n%v\nwant\n%v", got, want)
	}
	// The first reading of a metric knows nothing yet.
	if got := Facts(period(10, 0, 10, 0), nil, 100, time.Time{}, time.UTC); len(got) != 0 {
		t.Errorf("first reading: %v", got)
	}
	// A slow pace shows to a tenth.
	if got := Facts(period(0, 0, 3, 2), nil, 10, time.Time{}, berlin); got["rate"] != 1.5 {
		t.Errorf("slow pace: %v", got)
	}
	// The day the limit is reached is the reader's: 23:15 UTC is past
	// midnight in Berlin.
	got = Facts(period(0, 0, 2, 2), nil, 7.96875, time.Time{}, berlin)
	if got["projected_on"] != "2026-01-09" || got["projected_at"] != "2026-01-08T23:15:00Z" || got["days_to_limit"] != 6.0 {
		t.Errorf("slow pace: %v", got)
	}
}
