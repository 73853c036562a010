package workflows

import (
	"testing"
	"time"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/delivery"
)

// An escalation holds email behind the in-app item: a user who read the
// item before escalate.after gets no email; the others get theirs when it
// elapses, released by the event's one timer, not one per recipient.
func TestEscalationSendsOnlyToUnread(t *testing.T) {
	const after = 30 * time.Minute
	s := newStore(t)
	s.pages[""] = storePage{users: 3, chans: []channel.Channel{channel.InApp, channel.Email},
		held: []channel.Channel{channel.Email}, heldFor: after}
	start := s.now()
	var timers int
	s.env.SetOnTimerScheduledListener(func(string, time.Duration) { timers++ })
	s.env.RegisterDelayedCallback(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.sentAt[channel.Email]) != 0 {
			t.Errorf("%d emails went out before the escalation was due", len(s.sentAt[channel.Email]))
		}
		s.read["-u001"] = true
	}, 10*time.Minute)

	res, took := s.run(input)

	if res.Status != delivery.EventDelivered || res.Delivered != 3+2 || res.Skipped != 1 {
		t.Errorf("result %+v, want 3 in-app items and 2 emails delivered, 1 skipped", res)
	}
	if took != after {
		t.Errorf("took %v, want escalate.after (%v)", took, after)
	}
	emails := s.sentAt[channel.Email]
	if len(emails) != 2 || !emails[0].Equal(start.Add(after)) || !emails[1].Equal(start.Add(after)) {
		t.Errorf("emails sent at %v, want two at %v", emails, start.Add(after))
	}
	for _, r := range s.rowsOn(channel.Email) {
		switch {
		case r.user == "-u001" && (r.status != delivery.Skipped || r.reason != delivery.ReadInApp):
			t.Errorf("the reader's email is %s (%q), want skipped read_in_app", r.status, r.reason)
		case r.user != "-u001" && (r.status != delivery.Delivered || s.sent[r.id] != 1):
			t.Errorf("%s's email is %s, sent %d times, want delivered once", r.user, r.status, s.sent[r.id])
		}
	}
	if timers != 1 {
		t.Errorf("%d timers scheduled, want one for the event", timers)
	}
}

// A user who changes their preferences while their email is held does not
// get it early: the reschedule leaves a held escalation alone until it is
// due, and reading the item still calls it off.
func TestEscalationHeldThroughReschedule(t *testing.T) {
	const after = time.Hour
	s := newStore(t)
	s.pages[""] = storePage{users: 2, chans: []channel.Channel{channel.InApp, channel.Email},
		held: []channel.Channel{channel.Email}, heldFor: after}
	start := s.now()
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(contract.SignalReschedule, "-u000")
		s.env.SignalWorkflow(contract.SignalReschedule, "-u001")
	}, 5*time.Minute)
	s.env.RegisterDelayedCallback(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.read["-u000"] = true
	}, 20*time.Minute)

	res, _ := s.run(input)

	if res.Delivered != 2+1 || res.Skipped != 1 {
		t.Errorf("result %+v, want 2 in-app items and 1 email delivered, 1 skipped", res)
	}
	if emails := s.sentAt[channel.Email]; len(emails) != 1 || !emails[0].Equal(start.Add(after)) {
		t.Errorf("emails sent at %v, want one at %v", emails, start.Add(after))
	}
}
