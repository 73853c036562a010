package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// bouncingSMTP refuses with 550 5.1.1 the recipients it is told to.
type bouncingSMTP struct {
	*flakySMTP
	refused map[string]bool // under flakySMTP's lock
}

func startBouncingSMTP(t *testing.T) (*bouncingSMTP, string) {
	t.Helper()
	b := &bouncingSMTP{refused: map[string]bool{}}
	var url string
	b.flakySMTP, url = startFlakySMTP(t, func(to string, _ int) *smtp.SMTPError {
		if b.refused[to] {
			return noSuchMailbox
		}
		return nil
	})
	return b, url
}

func (b *bouncingSMTP) setRefused(addr string, refused bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refused[strings.ToLower(addr)] = refused
}

type suppressionView struct {
	Address    string    `json:"address"`
	Reason     string    `json:"reason"`
	Detail     string    `json:"detail,omitempty"`
	DeliveryID string    `json:"delivery_id,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// emailOf is the event's email delivery to user, once the event settled.
func (tn *tenant) emailOf(key, user string) deliveryView {
	tn.t.Helper()
	acc := tn.postEvent(assignEvent(key, user))
	ev := tn.waitSettled(acc.EventID, time.Minute)
	for _, d := range ev.Deliveries {
		if d.Channel == "email" && d.UserID == user {
			return d
		}
	}
	tn.t.Fatalf("event %s has no email delivery for %s: %+v", key, user, ev.Deliveries)
	return deliveryView{}
}

func (tn *tenant) suppressions(query string) listPage[suppressionView] {
	tn.t.Helper()
	return decodeAs[listPage[suppressionView]](tn.t, tn.must(200, tn.do("GET", "/v1/suppressions"+query, nil)))
}

func TestSuppressionListStopsEmailToAnAddressThatRefusedIt(t *testing.T) {
	t.Parallel()
	relay, url := startBouncingSMTP(t)
	st, err := startStack(context.Background(), url, "herald-e2e-suppress")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	tn := newTenantOn(t, st.API.URL)
	const bad = "Gone.User@Example.com" // listed lower-cased, matched whatever the case
	tn.putUser("gone", bad)
	relay.setRefused(bad, true)

	// The relay refuses it for good: failed once, and listed.
	if d := tn.emailOf("sup-1", "gone"); d.Status != "failed" || d.Attempts != 1 || !strings.Contains(d.Error, "550") {
		t.Fatalf("refused email: %+v, want failed after 1 attempt with the 550", d)
	}
	if rcpts, _ := relay.counts(bad); rcpts != 1 {
		t.Fatalf("relay saw %d RCPT TO for the address, want 1", rcpts)
	}
	list := tn.suppressions("")
	if len(list.Data) != 1 || list.Data[0].Address != "gone.user@example.com" || list.Data[0].Reason != "bounce" ||
		list.Data[0].Detail != "SMTP 550 5.1.1" || list.Data[0].DeliveryID == "" {
		t.Fatalf("suppression list: %+v, want the address, bounced with SMTP 550 5.1.1", list.Data)
	}

	// The next event's email is skipped, and the relay hears nothing of it.
	if d := tn.emailOf("sup-2", "gone"); d.Status != "skipped" || d.Reason != "suppressed" {
		t.Fatalf("email to a suppressed address: %+v, want skipped suppressed", d)
	}
	if rcpts, _ := relay.counts(bad); rcpts != 1 {
		t.Fatalf("relay saw %d RCPT TO for the suppressed address, want still 1", rcpts)
	}

	// Taken off the list (any case, @ escaped or not), it is sent again.
	relay.setRefused(bad, false)
	tn.must(204, tn.do("DELETE", "/v1/suppressions/GONE.USER%40example.com", nil))
	r := tn.do("DELETE", "/v1/suppressions/gone.user@example.com", nil)
	if r.status != 404 || r.errCode() != "not_found" {
		t.Fatalf("second DELETE: %d %s, want 404 not_found", r.status, r.raw)
	}
	if d := tn.emailOf("sup-3", "gone"); d.Status != "delivered" {
		t.Fatalf("email after the address was taken off the list: %+v, want delivered", d)
	}
	if _, accepted := relay.counts(bad); accepted != 1 {
		t.Fatalf("relay accepted %d messages for the address, want 1", accepted)
	}
}

func TestSuppressionDoesNotFollowAUserToANewAddress(t *testing.T) {
	t.Parallel()
	relay, url := startBouncingSMTP(t)
	st, err := startStack(context.Background(), url, "herald-e2e-suppress-move")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	tn := newTenantOn(t, st.API.URL)
	tn.putUser("mover", "old@example.com")
	relay.setRefused("old@example.com", true)
	if d := tn.emailOf("move-1", "mover"); d.Status != "failed" {
		t.Fatalf("refused email: %+v, want failed", d)
	}
	tn.putUser("mover", "new@example.com")
	if d := tn.emailOf("move-2", "mover"); d.Status != "delivered" {
		t.Fatalf("email to the user's new address: %+v, want delivered", d)
	}
	if _, accepted := relay.counts("new@example.com"); accepted != 1 {
		t.Fatalf("relay accepted %d messages for the new address, want 1", accepted)
	}
	if list := tn.suppressions(""); len(list.Data) != 1 || list.Data[0].Address != "old@example.com" {
		t.Fatalf("suppression list: %+v, want only the old address", list.Data)
	}
}

func TestSuppressionComplaintsAndPaging(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("cross", "Cross@Example.com")
	r := tn.must(201, tn.do("POST", "/v1/suppressions", map[string]any{"address": "cross@example.com", "reason": "complaint"}))
	if s := decodeAs[suppressionView](t, r); s.Address != "cross@example.com" || s.Reason != "complaint" {
		t.Fatalf("POST answer: %+v", s)
	}
	tn.must(200, tn.do("POST", "/v1/suppressions", map[string]any{"address": "CROSS@example.com"}))
	tn.must(201, tn.do("POST", "/v1/suppressions", map[string]any{"address": "other@example.com", "reason": "bounce"}))

	// Bad input is refused in the contract's shape and lists nothing.
	for _, body := range []any{
		map[string]any{"address": "not an address"},
		map[string]any{"address": "Ada <ada@example.com>"},
		map[string]any{"address": "x@example.com", "reason": "spam"},
		map[string]any{"address": "x@example.com", "note": "unknown field"},
	} {
		if r := tn.do("POST", "/v1/suppressions", body); r.status != 400 || r.errCode() == "" {
			t.Errorf("POST %v: %d %s, want 400 with an error code", body, r.status, r.raw)
		}
	}
	if r := tn.do("DELETE", "/v1/suppressions/not-an-address", nil); r.status != 400 || r.errCode() != "invalid_field" {
		t.Errorf("DELETE of a non-address: %d %s, want 400 invalid_field", r.status, r.raw)
	}

	first := tn.suppressions("?limit=1")
	if len(first.Data) != 1 || first.NextCursor == nil || first.Data[0].Address != "other@example.com" {
		t.Fatalf("first page: %+v, want the newest entry and a cursor", first)
	}
	second := tn.suppressions("?limit=1&cursor=" + *first.NextCursor)
	if len(second.Data) != 1 || second.Data[0].Address != "cross@example.com" {
		t.Fatalf("second page: %+v, want the complaint", second.Data)
	}
	if third := tn.suppressions("?limit=1&cursor=" + *second.NextCursor); len(third.Data) != 0 {
		t.Fatalf("third page: %+v, want none", third.Data)
	}
	if r := tn.do("GET", "/v1/suppressions?cursor=nope", nil); r.status != 400 || r.errCode() != "invalid_field" {
		t.Errorf("bad cursor: %d %s", r.status, r.raw)
	}
	// Another tenant's list is its own.
	if other := newTenant(t).suppressions(""); len(other.Data) != 0 {
		t.Errorf("another tenant sees %+v", other.Data)
	}

	// A complaint suppresses email, with no SMTP transaction, and nothing else.
	before := len(env.mail.Messages())
	acc := tn.postEvent(assignEvent("complaint-1", "cross"))
	ev := tn.waitSettled(acc.EventID, time.Minute)
	for _, d := range ev.Deliveries {
		switch d.Channel {
		case "email":
			if d.Status != "skipped" || d.Reason != "suppressed" {
				t.Errorf("email to a complainer: %+v, want skipped suppressed", d)
			}
		case "in_app":
			if d.Status != "delivered" {
				t.Errorf("in-app to a complainer: %+v, want delivered", d)
			}
		}
	}
	for _, m := range env.mail.Messages()[min(before, len(env.mail.Messages())):] {
		for _, to := range m.To {
			if strings.EqualFold(to, "cross@example.com") {
				t.Errorf("the catcher got a message for the complainer: %s", m.Subject)
			}
		}
	}
}
