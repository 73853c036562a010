package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/localstack"
)

// TestFanOutTenThousand posts one event to a tenant of 10,000 subscribers
// and checks every one gets an inbox item and an email, within a bounded
// workflow history.
func TestFanOutTenThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("fan-out to 10,000 recipients takes several seconds")
	}
	t.Parallel()
	const n = 10000
	tn := newTenant(t)
	if err := localstack.SeedUsers(context.Background(), env.pool, tn.id, n); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	acc := tn.postEvent(map[string]any{
		"type": "project.update", "data": map[string]any{"project": "Apollo", "message": "Launch moved to Friday"},
	})
	ev := tn.waitEvent(acc.EventID)
	t.Logf("fan-out to %d recipients (in-app + email) took %s", n, time.Since(start).Round(time.Millisecond))
	if ev.Status != "delivered" {
		t.Fatalf("status = %s", ev.Status)
	}
	id := acc.EventID
	if got := count(t, "SELECT count(*) FROM notifications WHERE event_id = $1", id); got != n {
		t.Errorf("%d inbox items, want %d", got, n)
	}
	if got := count(t, "SELECT count(*) FROM deliveries WHERE event_id = $1 AND status = 'delivered'", id); got != 2*n {
		t.Errorf("%d delivered rows, want %d", got, 2*n)
	}
	if got := len(mailFor(id)); got != n {
		t.Errorf("%d emails caught, want %d", got, n)
	}
	desc, err := env.temporal.DescribeWorkflowExecution(context.Background(), ev.WorkflowID, "")
	if err != nil {
		t.Fatal(err)
	}
	// Temporal's hard limit is 51,200 events; paging keeps this far below.
	if h := desc.GetWorkflowExecutionInfo().GetHistoryLength(); h > 500 {
		t.Errorf("history has %d events for %d recipients", h, n)
	} else {
		t.Logf("history length %d events", h)
	}
}
