package e2e

import (
	"context"
	"strings"
	"testing"
)

// Something wrong with one recipient alone (unreadable stored preferences, a
// template that fails on their data) fails that recipient's deliveries with a
// reason; the event goes on for everyone else.
func TestOneBadRecipientDoesNotFailTheEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	tn.putUser("good", "good@example.com")         // name "User good": 9 characters
	tn.putUser("badprefs", "badprefs@example.com") // preferences made unreadable below
	tn.putUser("longname", "longname@example.com") // name "User longname": 13 characters
	if _, err := env.pool.Exec(ctx, `UPDATE users SET preferences = '{"channels": 5}' WHERE tenant_id = $1 AND id = 'badprefs'`, tn.id); err != nil {
		t.Fatal(err)
	}
	// The subject indexes a 10-item list by the length of the recipient's
	// name: fine for "User good", out of range for "User longname".
	def := `{"category": "ops", "default_recipients": "named", "channels": ["in_app", "email"],
		"templates": {"subject": "Slot {{index .data.slots (len .user.name)}}", "text": "Probe."}}`
	if _, err := env.pool.Exec(ctx, `INSERT INTO event_types (tenant_id, key, definition) VALUES ($1, 'fault.probe', $2)`, tn.id, def); err != nil {
		t.Fatal(err)
	}
	acc := tn.postEvent(map[string]any{"type": "fault.probe",
		"recipients": map[string]any{"users": []string{"good", "badprefs", "longname"}},
		"data":       map[string]any{"slots": []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}}})
	ev := tn.waitEvent(acc.EventID)
	// The run stays open, waiting for an operator's retry of what failed.
	if ev.Status != "partial" || ev.WorkflowStatus != "running" {
		t.Errorf("event %s, workflow %s: want partial and running", ev.Status, ev.WorkflowStatus)
	}
	if len(ev.Deliveries) != 6 {
		t.Fatalf("deliveries = %+v, want two per recipient", ev.Deliveries)
	}
	for _, d := range ev.Deliveries {
		switch d.UserID {
		case "good":
			if d.Status != "delivered" {
				t.Errorf("good %s: %+v", d.Channel, d)
			}
		case "badprefs":
			if d.Status != "failed" || !strings.Contains(d.Error, "preferences could not be read") {
				t.Errorf("badprefs %s: %+v, want failed for its preferences", d.Channel, d)
			}
		case "longname":
			if d.Status != "failed" || !strings.Contains(d.Error, "could not be rendered") {
				t.Errorf("longname %s: %+v, want failed for its template", d.Channel, d)
			}
		}
	}
	mails := mailFor(acc.EventID)
	if len(mails) != 1 || mails[0].To[0] != "good@example.com" || mails[0].Subject != "Slot j" {
		t.Errorf("caught %d emails (%+v), want one to good@example.com titled \"Slot j\"", len(mails), mails)
	}
}
