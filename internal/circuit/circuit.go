// Package circuit is a circuit breaker as a pure state machine: the caller
// passes the time to every call, so it is tested with a fake clock and holds
// no goroutine or timer. It is not safe for concurrent use; its owner locks.
package circuit

import "time"

// State is a breaker's state, as its metric reports it.
type State int

const (
	// Closed: the endpoint is used.
	Closed State = 0
	// Open: the endpoint failed Threshold times in a row and is skipped
	// until its cool-down ends.
	Open State = 1
	// HalfOpen: the cool-down ended and one caller is probing the endpoint;
	// the probe's outcome closes or reopens it.
	HalfOpen State = 2
)

func (s State) String() string {
	switch s {
	case Open:
		return "open"
	case HalfOpen:
		return "half_open"
	}
	return "closed"
}

// Breaker opens after Threshold failures in a row and stays open for
// Cooldown. Its zero value with a Threshold and a Cooldown is closed.
type Breaker struct {
	Threshold int
	Cooldown  time.Duration

	state State
	fails int
	// until is when an open breaker lets a probe through, and when a
	// half-open one gives up on a probe that never reported (its caller
	// was cancelled) and lets another through.
	until time.Time
}

// State is the breaker's state: an open breaker whose cool-down has ended
// stays Open until Allow lets a probe through.
func (b *Breaker) State() State { return b.state }

// Allow reports whether a call may go to the endpoint at now. Closed, it
// always may; open, not before the cool-down ends; then exactly one caller
// is let through as the probe (and another if the probe has not reported
// within a cool-down).
func (b *Breaker) Allow(now time.Time) bool {
	switch b.state {
	case Closed:
		return true
	case Open, HalfOpen:
		if now.Before(b.until) {
			return false
		}
		b.state, b.until = HalfOpen, now.Add(b.Cooldown)
		return true
	}
	return false
}

// Success records an answer from the endpoint: it closes the breaker.
func (b *Breaker) Success() {
	b.state, b.fails, b.until = Closed, 0, time.Time{}
}

// Failure records a failed call at now. Closed, the breaker opens at the
// Threshold-th failure in a row; a failed probe, or a failure while open
// (a call let through when every endpoint was open), opens it for another
// cool-down from now.
func (b *Breaker) Failure(now time.Time) {
	b.fails++
	if b.state != Closed || b.fails >= max(b.Threshold, 1) {
		b.state, b.until = Open, now.Add(b.Cooldown)
	}
}
