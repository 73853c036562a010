package catalog

import (
	"testing"
	"time"

	"github.com/heraldhq/herald/delivery"
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

func TestThrottleOverflow(t *testing.T) {
	type outcome struct {
		st delivery.Status
		r  delivery.Reason
	}
	for _, tt := range []struct {
		overflow Overflow
		in, want outcome
	}{
		// skip (and a definition stored before overflow existed) skips
		// whatever the delivery would have been.
		{OverflowSkip, outcome{delivery.Delivered, ""}, outcome{delivery.Skipped, delivery.Throttled}},
		{"", outcome{delivery.Pending, ""}, outcome{delivery.Skipped, delivery.Throttled}},
		{OverflowSkip, outcome{delivery.Skipped, delivery.Digested}, outcome{delivery.Skipped, delivery.Throttled}},
		// digest holds what would go now, and leaves a digested one in
		// its digest.
		{OverflowDigest, outcome{delivery.Delivered, ""}, outcome{delivery.Skipped, delivery.ThrottledHeld}},
		{OverflowDigest, outcome{delivery.Pending, ""}, outcome{delivery.Skipped, delivery.ThrottledHeld}},
		{OverflowDigest, outcome{delivery.Skipped, delivery.Digested}, outcome{delivery.Skipped, delivery.Digested}},
	} {
		st, r := Throttle{Max: 1, Per: "1h", Overflow: tt.overflow}.Overflowed(tt.in.st, tt.in.r)
		if (outcome{st, r}) != tt.want {
			t.Errorf("overflow %q, %v: %s/%s, want %v", tt.overflow, tt.in, st, r, tt.want)
		}
	}
}

func TestThrottleWindowEnd(t *testing.T) {
	at := time.Date(2026, 3, 4, 15, 42, 7, 0, time.UTC)
	if end, ok := (Throttle{Max: 2, Per: "1m"}).WindowEnd(at); !ok || !end.Equal(time.Date(2026, 3, 4, 15, 43, 0, 0, time.UTC)) {
		t.Errorf("a minute's window at %v ends %v %v", at, end, ok)
	}
	// The last instant of a window still ends it, not the next.
	if end, _ := (Throttle{Max: 2, Per: "1h"}).WindowEnd(time.Date(2026, 3, 4, 15, 59, 59, 999, time.UTC)); !end.Equal(time.Date(2026, 3, 4, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("an hour's window's last instant ends %v", end)
	}
	if _, ok := (Throttle{Max: 2, Per: "soon"}).WindowEnd(at); ok {
		t.Error("an unreadable per has a window end")
	}
}
