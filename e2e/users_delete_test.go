package e2e

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/audience"
)

// inbox returns the first page of a user's inbox and their unread count.
func (tn *tenant) inbox(user string) (listPage[inboxItem], countView) {
	tn.t.Helper()
	page := decodeAs[listPage[inboxItem]](tn.t, tn.must(200, tn.do("GET", "/v1/users/"+user+"/notifications", nil)))
	unread := decodeAs[countView](tn.t, tn.must(200, tn.do("GET", "/v1/users/"+user+"/notifications/unread_count", nil)))
	return page, unread
}

// TestDeletedUserLeavesNothingToTheirSuccessor deletes a user who has an
// inbox item, delivered rows and pending deliveries, then creates a user with
// the same ID: the newcomer's inbox is empty, what had not gone out is
// cancelled, and the delivery log keeps what had.
func TestDeletedUserLeavesNothingToTheirSuccessor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	other := newTenant(t)
	for _, x := range []*tenant{tn, other} {
		x.putUser("zoe", "zoe@example.com")
	}
	tn.putUser("yan", "yan@example.com")
	delivered := tn.postEvent(assignEvent("before-delete", "zoe")).EventID
	otherEvent := other.postEvent(assignEvent("other-zoe", "zoe")).EventID
	tn.waitEvent(delivered)
	other.waitEvent(otherEvent)
	if page, unread := tn.inbox("zoe"); len(page.Data) != 1 || unread.Count != 1 {
		t.Fatalf("before delete: %d inbox items, unread %d", len(page.Data), unread.Count)
	}

	// An event still being delivered: pending rows for zoe and yan, and one of
	// zoe's claimed by an attempt that is sending it right now.
	inFlight := insertEvent(t, tn.id, audience.Spec{Users: []string{"yan", "zoe"}})
	_, err := env.pool.Exec(ctx, `INSERT INTO deliveries (tenant_id, event_id, user_id, channel, status, claim_id, claimed_until)
		VALUES ($1, $2, 'zoe', 'email', 'pending', NULL, NULL),
		       ($1, $2, 'zoe', 'slack', 'pending', gen_random_uuid(), now() + interval '1 minute'),
		       ($1, $2, 'yan', 'email', 'pending', NULL, NULL)`, tn.id, inFlight)
	if err != nil {
		t.Fatal(err)
	}

	tn.must(204, tn.do("DELETE", "/v1/users/zoe", nil))
	tn.must(404, tn.do("GET", "/v1/users/zoe", nil))
	if r := tn.do("DELETE", "/v1/users/zoe", nil); r.status != 404 || r.errCode() != "not_found" {
		t.Errorf("second delete: %d %s", r.status, r.raw)
	}

	status := func(event uuid.UUID, user, channel string) (s, reason string) {
		t.Helper()
		err := env.pool.QueryRow(ctx, `SELECT status, reason FROM deliveries WHERE event_id = $1 AND user_id = $2 AND channel = $3`,
			event, user, channel).Scan(&s, &reason)
		if err != nil {
			t.Fatalf("%s %s: %v", user, channel, err)
		}
		return s, reason
	}
	if s, reason := status(inFlight, "zoe", "email"); s != "cancelled" || reason != "user_deleted" {
		t.Errorf("zoe's pending email is %s (%q), want cancelled (user_deleted)", s, reason)
	}
	if s, _ := status(inFlight, "zoe", "slack"); s != "pending" {
		t.Errorf("zoe's delivery being sent is %s, want it left pending for its sender", s)
	}
	if s, _ := status(inFlight, "yan", "email"); s != "pending" {
		t.Errorf("yan's pending email is %s, want pending", s)
	}
	for _, ch := range []string{"in_app", "email"} {
		if s, _ := status(mustUUID(t, delivered), "zoe", ch); s != "delivered" {
			t.Errorf("zoe's delivered %s row is %s: the delivery log must keep it", ch, s)
		}
	}

	tn.putUser("zoe", "zoe.new@example.com")
	if page, unread := tn.inbox("zoe"); len(page.Data) != 0 || unread.Count != 0 {
		t.Errorf("new zoe sees %d inbox items, unread %d; want none", len(page.Data), unread.Count)
	}
	if page, unread := other.inbox("zoe"); len(page.Data) != 1 || unread.Count != 1 {
		t.Errorf("another tenant's zoe has %d inbox items, unread %d; want 1 and 1", len(page.Data), unread.Count)
	}

	after := tn.postEvent(assignEvent("after-delete", "zoe")).EventID
	tn.waitEvent(after)
	page, unread := tn.inbox("zoe")
	if len(page.Data) != 1 || page.Data[0].EventID != after || unread.Count != 1 {
		t.Errorf("new zoe's inbox after a new event: %+v, unread %d; want only that event", page.Data, unread.Count)
	}
}
