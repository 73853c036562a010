package quiet

import (
	"testing"
	"time"
)

func TestNextAcrossDaysAndDST(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	ny, _ := time.LoadLocation("America/New_York")
	nine, _ := ParseClock("09:00")
	half2, _ := ParseClock("02:30")
	half1, _ := ParseClock("01:30")
	cases := []struct {
		name string
		c    Clock
		loc  *time.Location
		t    time.Time
		want time.Time
	}{
		{"before today's", nine, berlin, time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC), time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)},
		{"exactly at it: tomorrow's", nine, berlin, time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC), time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)},
		{"after it", nine, berlin, time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC), time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)},
		{"the night before spring forward", nine, berlin, time.Date(2026, 3, 28, 9, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 7, 0, 0, 0, time.UTC)},
		{"the night before fall back", nine, berlin, time.Date(2026, 10, 24, 9, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 8, 0, 0, 0, time.UTC)},
		{"a clock the spring gap skips", half2, ny, time.Date(2026, 3, 8, 5, 0, 0, 0, time.UTC), time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)},
		{"a clock fall back repeats: the first", half1, ny, time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)},
		{"after the first of a repeated clock: tomorrow's", half1, ny, time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), time.Date(2026, 11, 2, 6, 30, 0, 0, time.UTC)},
		{"year end", nine, time.UTC, time.Date(2026, 12, 31, 10, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		if got := Next(c.c, c.loc, c.t); !got.Equal(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got.UTC(), c.want)
		}
	}
}
