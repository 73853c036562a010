package api

import (
	"testing"
	"time"
)

func TestLimiterPerKey(t *testing.T) {
	l := newLimiter(2, 3) // 2/s, burst 3
	now := time.Now()
	for i := range 3 {
		if d := l.wait("a", now); d != 0 {
			t.Fatalf("request %d within the burst waited %v", i, d)
		}
	}
	d := l.wait("a", now)
	if d <= 0 || d > time.Second {
		t.Errorf("the 4th request at once: wait %v, want about 0.5 s", d)
	}
	if l.wait("b", now) != 0 {
		t.Error("another key shares the bucket")
	}
	// A refused request spends nothing: half a second later one more fits.
	if d := l.wait("a", now.Add(510*time.Millisecond)); d != 0 {
		t.Errorf("after the refill: wait %v", d)
	}
	if newLimiter(0, 0) != nil {
		t.Error("a zero rate must mean no limiter")
	}
}
