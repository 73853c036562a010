package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/internal/dev/devstack"
	"github.com/heraldhq/herald/internal/dev/localstack"
)

// TestQuietHoursSurviveRestarts: an email waiting for quiet hours to end is
// held by a durable timer, not by a process. The worker, the API and the
// Temporal server all stop and start again while it waits; it is sent once,
// when the window ends and not before.
func TestQuietHoursSurviveRestarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bin, err := filepath.Abs("../bin/temporal")
	if err != nil {
		t.Fatal(err)
	}
	// Fixed ports, so the restarted server is where clients look for it.
	opts := devstack.TemporalOptions{Bin: bin, DBFile: filepath.Join(t.TempDir(), "temporal.db"),
		SearchAttributes: contract.SearchAttributeNames}
	for _, p := range []*int{&opts.Port, &opts.HTTPPort, &opts.MetricsPort} {
		if *p, err = devstack.FreePort(); err != nil {
			t.Fatal(err)
		}
	}
	var (
		server *devstack.Temporal
		herald *localstack.Herald
	)
	t.Cleanup(func() {
		if herald != nil {
			herald.Stop()
		}
		if server != nil {
			_ = server.Stop()
		}
	})
	start := func() {
		t.Helper()
		if server, err = devstack.StartTemporal(ctx, opts); err != nil {
			t.Fatal(err)
		}
		if herald, err = env.servers.StartHeraldWith(ctx, localstack.HeraldOptions{
			TemporalAddress: server.Address, TaskQueue: "herald-quiet-restart"}, logger); err != nil {
			t.Fatal(err)
		}
	}
	start()
	tn := newTenantOn(t, herald.API.URL)
	tn.putUser("sleeper", "sleeper@example.com")

	// Quiet hours end on a minute (HH:MM), far enough away for both restarts.
	now := time.Now().UTC()
	end := now.Add(70 * time.Second).Truncate(time.Minute).Add(time.Minute)
	tn.must(200, tn.do("PUT", "/v1/users/sleeper/preferences", map[string]any{"quiet_hours": map[string]any{
		"enabled": true, "start": now.Add(-time.Hour).Format("15:04"), "end": end.Format("15:04"), "timezone": "UTC"}}))
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"sleeper"}},
		"data": map[string]any{"issue_key": "NAP-1"}})
	waitFor(t, 30*time.Second, "in-app to be stored", func() bool {
		return deliveryOf(tn.event(acc.EventID), "sleeper", "in_app").Status == "delivered"
	})
	email := deliveryOf(tn.event(acc.EventID), "sleeper", "email")
	if email.Status != "pending" || email.NotBefore == nil || !email.NotBefore.Equal(end) {
		t.Fatalf("email in quiet hours = %+v, want pending with not_before %s", email, end.Format(time.RFC3339))
	}

	herald.Stop()
	herald = nil
	if err := server.Stop(); err != nil {
		t.Fatal(err)
	}
	server = nil
	start()
	restarted := time.Now()
	tn.base = herald.API.URL
	t.Logf("restarted %v before the window's end", end.Sub(restarted).Round(time.Second))
	if restarted.After(end) {
		// Still a restart survived, but the timer fired on start-up rather
		// than while the new worker waited.
		t.Logf("the restarts ended %v after the window; the machine is slow", restarted.Sub(end).Round(time.Second))
	}

	ev := tn.waitSettled(acc.EventID, time.Until(end)+time.Minute)
	if ev.Status != "delivered" {
		t.Errorf("event = %+v, want delivered", ev)
	}
	mail := mailFor(acc.EventID)
	if len(mail) != 1 {
		t.Fatalf("%d emails, want exactly 1: %v", len(mail), recipientsOf(mail))
	}
	// "Shortly": the timer fires at the end; the worker polls for it.
	latest := end
	if restarted.After(latest) {
		latest = restarted
	}
	if got := mail[0].Received; got.Before(end) || got.After(latest.Add(30*time.Second)) {
		t.Errorf("email arrived at %s, want at or shortly after %s", got.UTC().Format(time.RFC3339Nano), end.Format(time.RFC3339))
	}
	t.Logf("the email arrived %v after the window's end", mail[0].Received.Sub(end).Round(time.Millisecond))
	if d := deliveryOf(ev, "sleeper", "email"); d.Status != "delivered" || d.DeliveredAt == nil || d.DeliveredAt.Before(end) {
		t.Errorf("email delivery = %+v, want delivered at or after %s", d, end.Format(time.RFC3339))
	}
	// The run that was waiting finished: nothing started it again.
	desc, err := herald.Temporal.DescribeWorkflowExecution(ctx, acc.WorkflowID, "")
	if err != nil {
		t.Fatal(err)
	}
	if info := desc.GetWorkflowExecutionInfo(); info.GetExecution().GetRunId() != acc.RunID || info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Errorf("workflow run %s %s, want the posted run %s completed", info.GetExecution().GetRunId(), info.GetStatus(), acc.RunID)
	}
}
