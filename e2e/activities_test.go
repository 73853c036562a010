package e2e

import (
	"context"
	"testing"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/internal/mailer"
)

// TestActivitiesAreIdempotent runs the delivery activities again, as
// Temporal does after a timeout or a worker crash, and checks nothing is
// written or sent twice.
func TestActivitiesAreIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	tn.putUser("ivy", "ivy@example.com")
	tn.putUser("jon", "jon@example.com")
	id := tn.postEvent(assignEvent("idem-activities", "ivy", "jon")).EventID
	tn.waitEvent(id)
	rowsBefore := count(t, "SELECT count(*) FROM deliveries WHERE event_id = $1", id)
	inboxBefore := count(t, "SELECT count(*) FROM notifications WHERE event_id = $1", id)
	mailBefore := len(mailFor(id))
	if rowsBefore != 4 || inboxBefore != 2 || mailBefore != 2 {
		t.Fatalf("first run: %d rows, %d inbox items, %d emails", rowsBefore, inboxBefore, mailBefore)
	}

	sender, err := mailer.NewRelays([]string{env.mail.URL()}, "Herald <herald@e2e.test>", 2, mailer.RelayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	acts := activities.New(env.pool, &activities.EmailSender{Mail: sender, Domain: "e2e.test"})
	eventID, tenantID := mustUUID(t, id), tn.id
	page, err := acts.PreparePage(ctx, activities.PageInput{TenantID: tenantID, EventID: eventID, Limit: 500, Batched: true})
	if err != nil {
		t.Fatal(err)
	}
	// Already-delivered rows are reported, so the workflow's tally stays
	// right, but nothing is left pending to send again.
	if page.Delivered != 4 || len(page.Batches) != 0 {
		t.Errorf("re-run page = %+v, want 4 delivered and no email pending", page)
	}
	var emailIDs []string
	rows, err := env.pool.Query(ctx, "SELECT id::text FROM deliveries WHERE event_id = $1 AND channel = 'email'", id)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		emailIDs = append(emailIDs, s)
	}
	in := activities.DeliverInput{TenantID: tenantID, EventID: eventID}
	for _, s := range emailIDs {
		in.DeliveryIDs = append(in.DeliveryIDs, mustUUID(t, s))
	}
	res, err := acts.MarkFailed(ctx, in.DeliveryIDs, "late")
	if err != nil {
		t.Fatal(err)
	}
	if res.Delivered != 2 || res.Failed != 0 {
		t.Errorf("MarkFailed over delivered emails = %+v: it must not fail what was delivered", res)
	}
	if got := count(t, "SELECT count(*) FROM deliveries WHERE event_id = $1", id); got != rowsBefore {
		t.Errorf("re-run wrote %d rows, want %d", got, rowsBefore)
	}
	if got := count(t, "SELECT count(*) FROM notifications WHERE event_id = $1", id); got != inboxBefore {
		t.Errorf("re-run stored %d inbox items, want %d", got, inboxBefore)
	}
	if got := len(mailFor(id)); got != mailBefore {
		t.Errorf("re-run sent %d emails, want %d", got, mailBefore)
	}
	if got := count(t, "SELECT max(attempts) FROM deliveries WHERE event_id = $1", id); got != 1 {
		t.Errorf("re-run counted attempts: max %d", got)
	}
}
