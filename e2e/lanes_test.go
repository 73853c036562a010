package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/heraldhq/herald/internal/dev/localstack"
	"github.com/heraldhq/herald/workflows"
)

// These tests run the delivery engine's lanes (EngineLanes) against real
// endpoints and record their histories as replay fixtures: a change to
// NotifyEvent that would break runs in flight on these paths fails
// workflows' TestReplayRecordedHistories.

// trail lists a run's local activities (by type) and signals ("signal:"
// and the name), in history order.
func trail(events []*historypb.HistoryEvent) []string {
	var out []string
	for _, ev := range events {
		if s := ev.GetWorkflowExecutionSignaledEventAttributes(); s != nil {
			out = append(out, "signal:"+s.GetSignalName())
		}
		m := ev.GetMarkerRecordedEventAttributes()
		if m == nil || len(m.GetDetails()["data"].GetPayloads()) == 0 {
			continue
		}
		var la struct{ ActivityType string }
		if json.Unmarshal(m.GetDetails()["data"].GetPayloads()[0].GetData(), &la) == nil && la.ActivityType != "" {
			out = append(out, la.ActivityType)
		}
	}
	return out
}

// indexes lists where name is in trail.
func indexes(trail []string, name string) []int {
	var out []int
	for i, s := range trail {
		if s == name {
			out = append(out, i)
		}
	}
	return out
}

// TestSlackPostWaitsForItsNextTry: Slack answers a routed channel's post
// with a 500 once. The post waits in the database for its next try (5 s),
// on the run's timer, and then lands once; the event closes delivered.
func TestSlackPostWaitsForItsNextTry(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	ch := "#flaky-" + tn.id.String()[:8]
	tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{"bot_token": "xoxb-e2e",
		"routes": []map[string]any{{"channel": ch}}}))
	tn.putUser("sf", "sf@example.com")
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"sf"}},
		"data": map[string]any{"issue_key": "SF-1"}})
	waitFor(t, 30*time.Second, "the Slack post to wait for its next try", func() bool {
		ev := tn.event(acc.EventID)
		for _, d := range ev.Deliveries {
			if d.Target == "slack:"+ch {
				return d.Status == "pending" && d.Attempts == 1 && d.NotBefore != nil && ev.Status == "pending"
			}
		}
		return false
	})
	ev := tn.waitSettled(acc.EventID, time.Minute)
	if ev.Status != "delivered" {
		t.Fatalf("event %s: %+v", ev.Status, ev.Deliveries)
	}
	if n := len(slackPosts(ch)); n != 1 {
		t.Errorf("%d posts to %s, want 1 (the second try)", n, ch)
	}
	tn.waitEvent(acc.EventID)
	recordHistory(t, acc.WorkflowID, "notify_slack_next_try")
}

// TestEmailAndSlowWebhookLanesSettleApart: one event sends a batch of
// emails (more than the fast path takes) and the tenant webhook, whose
// endpoint takes 6 s to answer. Both lanes are in flight at once, and the
// emails are settled while the webhook is still being answered.
func TestEmailAndSlowWebhookLanesSettleApart(t *testing.T) {
	t.Parallel()
	const users = 25
	tn := newTenant(t)
	if err := localstack.SeedUsers(context.Background(), env.owner, tn.id, users); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var answered time.Time
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Slow, but well inside the webhook timeout: long enough for 25
		// emails on a machine busy with every other test.
		time.Sleep(6 * time.Second)
		mu.Lock()
		answered = time.Now()
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": hook.URL}))
	acc := tn.postEvent(map[string]any{"type": "project.update", "data": map[string]any{"project": "Lanes", "message": "Two at once"}})
	ev := tn.waitEvent(acc.EventID)
	if ev.Status != "delivered" {
		t.Fatalf("event %s", ev.Status)
	}
	var lastEmail time.Time
	if err := env.owner.QueryRow(context.Background(), `SELECT max(delivered_at) FROM deliveries
		WHERE event_id = $1 AND channel = 'email' AND status = 'delivered'`, acc.EventID).Scan(&lastEmail); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := count(t, "SELECT count(*) FROM deliveries WHERE event_id = $1 AND channel = 'email' AND status = 'delivered'", acc.EventID); got != users {
		t.Errorf("%d emails delivered, want %d", got, users)
	}
	if answered.IsZero() || !lastEmail.Before(answered) {
		t.Errorf("the last email was delivered at %v, the webhook answered at %v: want the emails done first", lastEmail, answered)
	}
	// Both Deliver activities were scheduled before either completed: two
	// lanes in flight, settled by the run as each finished.
	scheduled, completed := 0, 0
	for _, e := range historyOf(t, acc.WorkflowID) {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			if completed == 0 {
				scheduled++
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			completed++
		}
	}
	if scheduled != 2 || completed != 2 {
		t.Errorf("%d activities scheduled before the first completed, %d completed; want the email and webhook lanes in flight together", scheduled, completed)
	}
	recordHistory(t, acc.WorkflowID, "notify_two_lanes")
}

// TestRetryDuringTheFanOut: an operator retries a failed tenant webhook
// while the run is still planning the event's pages. The second of three
// pages is held (a test transaction locks its first recipient's row, which
// the page's deliveries need); the run takes the retry signal meanwhile and
// acts on it before it plans the third page. The webhook goes out again
// and the fan-out completes.
func TestRetryDuringTheFanOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const users = 2*workflows.PageSize + 1
	tn := newTenant(t)
	if err := localstack.SeedUsers(ctx, env.owner, tn.id, users); err != nil {
		t.Fatal(err)
	}
	hook := newHookServer(t, http.StatusBadRequest) // refused once: failed at once
	tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": hook.URL}))
	held := fmt.Sprintf("user-%06d", workflows.PageSize+1)
	tx, err := env.owner.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tn.id, held); err != nil {
		t.Fatal(err)
	}
	acc := tn.postEvent(map[string]any{"type": "project.update", "data": map[string]any{"project": "Fan", "message": "Retry midway"}})

	var hookID, status string
	waitFor(t, time.Minute, "the tenant webhook to fail", func() bool {
		err := env.owner.QueryRow(ctx, `SELECT id::text, status FROM deliveries WHERE event_id = $1 AND channel = 'webhook'`,
			acc.EventID).Scan(&hookID, &status)
		return err == nil && status == "failed"
	})
	tn.must(http.StatusAccepted, tn.do("POST", "/v1/deliveries/"+hookID+"/retry", nil))
	// The run is inside its workflow task, planning page 2, when the
	// signal comes; it sees the signal once that task is heartbeated and
	// a new one started (a few seconds). Page 2 stays held until then.
	waitFor(t, 30*time.Second, "the run to take the retry signal while page 2 is held", func() bool {
		events := historyOf(t, acc.WorkflowID)
		for i, e := range events {
			if e.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() == "retry" {
				return slices.ContainsFunc(events[i:], func(e *historypb.HistoryEvent) bool {
					return e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED
				})
			}
		}
		return false
	})
	if n := count(t, "SELECT count(*) FROM deliveries WHERE event_id = $1 AND user_id = $2", acc.EventID, held); n != 0 {
		t.Fatalf("page 2 was planned while its recipient's row was locked (%d rows)", n)
	}
	time.Sleep(time.Second)
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	ev := tn.waitEvent(acc.EventID)
	if ev.Status != "delivered" || len(hook.calls()) != 2 {
		t.Fatalf("event %s with %d webhook calls, want delivered after the retried call", ev.Status, len(hook.calls()))
	}
	if n := count(t, "SELECT count(*) FROM deliveries WHERE event_id = $1 AND status = 'delivered'", acc.EventID); n != 2*users+1 {
		t.Errorf("%d deliveries delivered, want %d", n, 2*users+1)
	}
	tr := trail(historyOf(t, acc.WorkflowID))
	pages, requeues, signals := indexes(tr, "PreparePage"), indexes(tr, "RequeueFailed"), indexes(tr, "signal:retry")
	if len(pages) != 3 || len(requeues) != 1 || len(signals) != 1 || requeues[0] > pages[2] || signals[0] > requeues[0] {
		t.Errorf("history %v: want the retry signalled and requeued before the third page", strings.Join(tr, " "))
	}
	recordHistory(t, acc.WorkflowID, "notify_retry_during_fanout")
}

// TestRunContinuesAsNewAfterManyWakes: an email waits out quiet hours while
// its recipient saves their preferences again and again; each save wakes
// the run (the API signals reschedule). After maxLoopRounds wakes the run
// continues as new, in the settling phase, and the new run delivers the
// email when quiet hours are turned off. This is the cheap way to reach
// continue-as-new: the other (200 pages, 100,000 recipients, or Temporal's
// history-size suggestion) is out of an e2e test's reach.
func TestRunContinuesAsNewAfterManyWakes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	tn.putUser("cn", "cn@example.com")
	quiet := map[string]any{"quiet_hours": quietNow(3 * time.Hour)}
	tn.must(200, tn.do("PUT", "/v1/users/cn/preferences", quiet))
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"cn"}},
		"data": map[string]any{"issue_key": "CN-1"}})
	waitFor(t, 30*time.Second, "the email to wait out quiet hours", func() bool {
		d := deliveryOf(tn.event(acc.EventID), "cn", "email")
		return d.Status == "pending" && d.NotBefore != nil
	})
	describe := func() (runID string, busy bool) {
		desc, err := env.temporal.DescribeWorkflowExecution(ctx, acc.WorkflowID, "")
		if err != nil {
			t.Fatal(err)
		}
		return desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(), desc.GetPendingWorkflowTask() != nil
	}
	first, _ := describe()
	saves := 0
	for run := first; run == first; saves++ {
		if saves > 3*200 {
			t.Fatalf("the run did not continue as new after %d wakes", saves)
		}
		tn.must(200, tn.do("PUT", "/v1/users/cn/preferences", quiet))
		// One wake per save: the next save waits until the run handled
		// this one (signals that arrive together wake the run once).
		waitFor(t, 10*time.Second, "the run to handle the reschedule", func() bool {
			var busy bool
			run, busy = describe()
			return run != first || !busy
		})
	}
	t.Logf("the run continued as new after %d saves", saves)
	if d := deliveryOf(tn.event(acc.EventID), "cn", "email"); d.Status != "pending" || len(mailFor(acc.EventID)) != 0 {
		t.Fatalf("email %+v, want still waiting out quiet hours", d)
	}
	tn.must(200, tn.do("PUT", "/v1/users/cn/preferences", map[string]any{"quiet_hours": map[string]any{"enabled": false}}))
	ev := tn.waitEvent(acc.EventID)
	if ev.Status != "delivered" || len(mailFor(acc.EventID)) != 1 {
		t.Fatalf("event %s with %d mails, want delivered once by the continued run", ev.Status, len(mailFor(acc.EventID)))
	}
	started := historyOf(t, acc.WorkflowID)[0].GetWorkflowExecutionStartedEventAttributes()
	if started.GetContinuedExecutionRunId() != first {
		t.Errorf("the last run continued %q, want the first run %q", started.GetContinuedExecutionRunId(), first)
	}
	recordRunHistory(t, acc.WorkflowID, first, "notify_continued_as_new")
	recordHistory(t, acc.WorkflowID, "notify_continued_settling")
}
