package delivery

import (
	"testing"
	"time"

	"github.com/heraldhq/herald/channel"
)

func TestNextTry(t *testing.T) {
	total := func(ch channel.Channel) (time.Duration, int) {
		var sum time.Duration
		n := 0
		for tries := 1; ; tries++ {
			d, ok := NextTry(ch, tries)
			if !ok {
				return sum, n
			}
			if d <= 0 {
				t.Fatalf("%s: try %d waits %v", ch, tries, d)
			}
			sum += d
			n++
		}
	}
	// Email backs off to about two hours, as the engine always promised;
	// webhooks and Slack go on for more than a day.
	if sum, n := total(channel.Email); sum < 2*time.Hour || sum > 3*time.Hour || n < 8 {
		t.Errorf("email schedule: %d tries over %v", n, sum)
	}
	if sum, _ := total(channel.Webhook); sum < 24*time.Hour {
		t.Errorf("webhook schedule spans %v, want at least a day", sum)
	}
	if a, _ := NextTry(channel.Slack, 1); a != 5*time.Second {
		t.Errorf("slack's first wait = %v", a)
	}
	// A relay back within two minutes gets the mail within two and a half.
	var sum time.Duration
	for tries := 1; sum < 2*time.Minute; tries++ {
		d, _ := NextTry(channel.Email, tries)
		sum += d
	}
	if sum > 150*time.Second {
		t.Errorf("email tries reach past a 2-minute outage only after %v", sum)
	}
	if _, ok := NextTry(channel.Email, 0); ok {
		t.Error("no try made yet: no wait")
	}
}
