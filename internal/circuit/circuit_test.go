package circuit

import (
	"testing"
	"time"
)

func TestBreakerOpensAfterFailuresInARowAndProbesAfterTheCooldown(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	b := Breaker{Threshold: 3, Cooldown: 30 * time.Second}
	now := t0
	b.Failure(now)
	b.Failure(now)
	b.Success() // an answer resets the count
	b.Failure(now)
	b.Failure(now)
	if !b.Allow(now) || b.State() != Closed {
		t.Fatalf("after 2 failures in a row: state %v, want closed and allowed", b.State())
	}
	b.Failure(now)
	if b.State() != Open || b.Allow(now) {
		t.Fatalf("after 3 failures in a row: state %v, want open and refused", b.State())
	}
	now = t0.Add(29 * time.Second)
	if b.Allow(now) {
		t.Fatal("allowed before the cool-down ended")
	}

	// The cool-down ended: one probe goes through, the next caller is refused.
	now = t0.Add(30 * time.Second)
	if !b.Allow(now) || b.State() != HalfOpen {
		t.Fatalf("at the end of the cool-down: state %v, want a half-open probe", b.State())
	}
	if b.Allow(now.Add(time.Second)) {
		t.Fatal("a second caller went through while the probe was out")
	}
	// The probe failed: open for another cool-down from its failure.
	now = now.Add(2 * time.Second)
	b.Failure(now)
	if b.State() != Open || b.Allow(now.Add(29*time.Second)) {
		t.Fatalf("after a failed probe: state %v, want open for a whole cool-down", b.State())
	}
	now = now.Add(30 * time.Second)
	if !b.Allow(now) {
		t.Fatal("no probe after the second cool-down")
	}
	b.Success()
	if b.State() != Closed || !b.Allow(now) || !b.Allow(now) {
		t.Fatalf("after a good probe: state %v, want closed", b.State())
	}
	// Closed again, it takes Threshold failures in a row to open.
	b.Failure(now)
	if b.State() != Closed {
		t.Fatalf("one failure after closing: state %v, want closed", b.State())
	}
}

func TestBreakerLetsAnotherProbeThroughWhenOneNeverReports(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	b := Breaker{Threshold: 1, Cooldown: time.Minute}
	b.Failure(t0)
	if !b.Allow(t0.Add(time.Minute)) {
		t.Fatal("no probe after the cool-down")
	}
	// The probe's caller was cancelled and never reported.
	if b.Allow(t0.Add(time.Minute + 59*time.Second)) {
		t.Fatal("a second probe within a cool-down of the first")
	}
	if !b.Allow(t0.Add(2 * time.Minute)) {
		t.Fatal("no new probe a cool-down after the lost one")
	}
}

func TestBreakerFailureWhileOpenRestartsTheCooldown(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	b := Breaker{Threshold: 2, Cooldown: time.Minute}
	b.Failure(t0)
	b.Failure(t0)
	// Every endpoint was open, so this one was tried anyway, and failed.
	b.Failure(t0.Add(50 * time.Second))
	if b.Allow(t0.Add(time.Minute)) {
		t.Fatal("allowed a cool-down after the first opening, though it failed again since")
	}
	if !b.Allow(t0.Add(110 * time.Second)) {
		t.Fatal("not allowed a cool-down after its last failure")
	}
}
