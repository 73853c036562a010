package catalog

import (
	"testing"
	"time"
)

func TestThrottleWindows(t *testing.T) {
	at := time.Date(2026, 3, 4, 15, 42, 7, 0, time.FixedZone("CET", 3600))
	for _, tt := range []struct {
		per  string
		want time.Time
		ok   bool
	}{
		{"1h", time.Date(2026, 3, 4, 14, 0, 0, 0, time.UTC), true},
		{"15m", time.Date(2026, 3, 4, 14, 30, 0, 0, time.UTC), true},
		{"1d", time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC), true},
		{"soon", time.Time{}, false},
		{"0s", time.Time{}, false},
	} {
		got, ok := Throttle{Max: 1, Per: tt.per}.WindowStart(at)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("per %s: window %v %v, want %v %v", tt.per, got, ok, tt.want, tt.ok)
		}
		// Every moment of the window names the same one.
		if later, _ := (Throttle{Max: 1, Per: tt.per}).WindowStart(got.Add(time.Second)); tt.ok && !later.Equal(got) {
			t.Errorf("per %s: a second into the window names %v", tt.per, later)
		}
	}
}
