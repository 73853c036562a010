package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/dev/localstack"
)

// TestFanOutTenThousand posts one event to a tenant of 10,000 subscribers,
// with a tenant webhook and two Slack routes, and checks every one gets an
// inbox item and an email, the event-level sends are exactly three calls,
// and the workflow history stays bounded.
func TestFanOutTenThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("fan-out to 10,000 recipients takes several seconds")
	}
	t.Parallel()
	const n = 10000
	tn := newTenant(t)
	if err := localstack.SeedUsers(context.Background(), env.owner, tn.id, n); err != nil {
		t.Fatal(err)
	}
	hook := newHookServer(t)
	tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": hook.URL}))
	suffix := tn.id.String()[:8]
	tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{"bot_token": "xoxb-e2e",
		"routes": []map[string]any{{"channel": "#fan-a-" + suffix}, {"channel": "#fan-b-" + suffix, "purposes": []string{"projects"}}}}))
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
	if got := count(t, "SELECT count(*) FROM deliveries WHERE event_id = $1 AND status = 'delivered'", id); got != 2*n+3 {
		t.Errorf("%d delivered rows, want %d (in-app and email per recipient, and 3 event-level)", got, 2*n+3)
	}
	if a, b, w := len(slackPosts("#fan-a-"+suffix)), len(slackPosts("#fan-b-"+suffix)), len(hook.calls()); a != 1 || b != 1 || w != 1 {
		t.Errorf("event-level calls: %d + %d Slack posts and %d webhook calls, want exactly one each", a, b, w)
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
