package catalog

import (
	"time"

	"github.com/heraldhq/herald/approval"
	"github.com/heraldhq/herald/delivery"
)

// Throttle caps how many notifications of one event type a recipient gets
// per window: at most Max per Per. What is over the cap is skipped with
// reason throttled, or held until the window ends (see OverflowDigest). Windows are fixed (aligned to Per), so a recipient may
// get up to 2*Max across a window's boundary; a sliding window would cost a
// row per notification read on every event.
type Throttle struct {
	Max int `json:"max"`
	// Per is the window as the tenant wrote it ("1h", "90m", "7d"): kept
	// as written, so GET answers what PUT was given.
	Per string `json:"per"`
	// Overflow says what becomes of a notification over the cap.
	Overflow Overflow `json:"overflow,omitempty"`
}

// Overflow is what a throttle does with a notification over its cap.
type Overflow string

const (
	// OverflowSkip skips it (reason throttled); the default.
	OverflowSkip Overflow = "skip"
	// OverflowDigest holds it: a delivery waiting for the recipient's
	// digest stays there, and one that would go now waits in a hold window
	// of the recipient, channel and type until the throttle's window ends,
	// then goes out with the others held there as one herald.collapsed
	// notification. A recipient on immediate has no digest of their own,
	// so the hold is a digest of the overflow alone.
	OverflowDigest Overflow = "digest"
)

// Overflowed is what becomes of a delivery (status st, reason r) of a
// recipient over the cap, on a channel the throttle applies to.
func (t Throttle) Overflowed(st delivery.Status, r delivery.Reason) (delivery.Status, delivery.Reason) {
	if t.Overflow != OverflowDigest {
		return delivery.Skipped, delivery.Throttled
	}
	if st == delivery.Skipped && r == delivery.Digested {
		// The digest holds it already, and lists it at its own close.
		return st, r
	}
	return delivery.Skipped, delivery.ThrottledHeld
}

// WindowEnd is when the window at falls in ends: when what it held goes out.
func (t Throttle) WindowEnd(at time.Time) (time.Time, bool) {
	start, ok := t.WindowStart(at)
	if !ok {
		return time.Time{}, false
	}
	d, _ := t.Period()
	return start.Add(d), true
}

// Bounds of a throttle.
const (
	MinThrottleMax = 1
	MaxThrottleMax = 10000
	MinThrottlePer = time.Minute
	MaxThrottlePer = 30 * 24 * time.Hour
)

// Period is the throttle's window; false when Per is not a duration.
func (t Throttle) Period() (time.Duration, bool) {
	d, err := approval.ParseDuration(t.Per)
	return d, err == nil
}

// WindowStart is the start of the window at falls in. Windows are aligned
// to Per from the zero time, so every event of the window, on any worker,
// names the same one.
func (t Throttle) WindowStart(at time.Time) (time.Time, bool) {
	d, ok := t.Period()
	if !ok || d <= 0 {
		return time.Time{}, false
	}
	return at.UTC().Truncate(d), true
}
