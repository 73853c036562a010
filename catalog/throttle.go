package catalog

import (
	"time"

	"github.com/heraldhq/herald/approval"
)

// Throttle caps how many notifications of one event type a recipient gets
// per window: at most Max per Per. What is over the cap is skipped with
// reason throttled. Windows are fixed (aligned to Per), so a recipient may
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
	// OverflowDigest would hold it for the recipient's next digest. Not
	// available: a digest's window follows the recipient's frequency, and a
	// recipient on immediate has no next digest to hold it for.
	OverflowDigest Overflow = "digest"
)

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
