package delivery

import (
	"time"

	"github.com/heraldhq/herald/channel"
)

// Retry schedules: how long a delivery its channel deferred (a 4xx, a refused
// connection, no answer before anything was sent) waits before each next
// try. The n-th entry is the wait after the n-th failed try; past the last,
// the delivery fails with "retries ran out". The wait is spent in the
// database (the row is pending with not_before), never inside an activity.
var (
	// emailSchedule tries densely at first, because most relay trouble is a
	// restart or a brief overload, then backs off to about two hours in all.
	emailSchedule = []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 30 * time.Minute, time.Hour}
	// hookSchedule is Svix's, for webhooks and Slack: a receiver that is
	// down for most of a day still gets the message.
	hookSchedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute,
		2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
)

// NextTry is how long a delivery on ch waits after its tries-th failed try
// (counting from 1), and false when its schedule has run out.
func NextTry(ch channel.Channel, tries int) (time.Duration, bool) {
	s := hookSchedule
	if ch == channel.Email {
		s = emailSchedule
	}
	if tries < 1 || tries > len(s) {
		return 0, false
	}
	return s[tries-1], true
}
