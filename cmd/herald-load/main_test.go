package main

import (
	"slices"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/dev/mailcatch"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"none", nil, 50, 0},
		{"one value is every percentile", []time.Duration{7}, 99, 7},
		{"one value, p0", []time.Duration{7}, 0, 7},
		{"median of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p100 is the maximum", hundred, 100, 100 * time.Millisecond},
		{"median of an odd count is the middle", []time.Duration{1, 2, 3}, 50, 2},
		{"p99 of 3 values is the maximum", []time.Duration{1, 2, 3}, 99, 3},
		{"p50 of 2 values is the lower", []time.Duration{1, 2}, 50, 1},
	}
	for _, tt := range tests {
		if got := percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("%s: percentile(p%v) = %v, want %v", tt.name, tt.p, got, tt.want)
		}
	}
}

func TestLatencies(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	posted := []postTiming{
		{eventID: "a", start: t0, took: 30 * time.Millisecond},
		{eventID: "b", start: t0.Add(time.Second), took: 10 * time.Millisecond},
	}
	mail := func(id string, at time.Time) mailcatch.Message {
		return mailcatch.Message{Received: at, Header: map[string][]string{"X-Herald-Event-Id": {id}}}
	}
	caught := []mailcatch.Message{
		mail("warm-up", t0.Add(-time.Second)),
		{Received: t0}, // no event header
		mail("b", t0.Add(1200*time.Millisecond)),
		mail("a", t0.Add(500*time.Millisecond)),
		mail("a", t0.Add(900*time.Millisecond)), // a retried send
	}
	api, e2e, err := latencies(posted, caught)
	if err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{10 * time.Millisecond, 30 * time.Millisecond}; !slices.Equal(api, want) {
		t.Errorf("API latencies %v, want %v", api, want)
	}
	if want := []time.Duration{200 * time.Millisecond, 500 * time.Millisecond}; !slices.Equal(e2e, want) {
		t.Errorf("end-to-end latencies %v, want %v (first arrival, sorted)", e2e, want)
	}

	if _, _, err := latencies(append(posted, postTiming{eventID: "lost", start: t0}), caught); err == nil {
		t.Error("an event without a caught email gave no error")
	}
}
