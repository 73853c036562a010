package e2e

import (
	"strings"
	"sync"
	"testing"
	"time"
)

type batchView struct {
	ID             string  `json:"id"`
	Status         string  `json:"status"`
	ExpectedJobs   int     `json:"expected_jobs"`
	CompletedJobs  int     `json:"completed_jobs"`
	EmittedEventID *string `json:"emitted_event_id"`
	WorkflowID     string  `json:"workflow_id"`
}

func (tn *tenant) batch(id string) batchView {
	tn.t.Helper()
	return decodeAs[batchView](tn.t, tn.must(200, tn.do("GET", "/v1/batches/"+id, nil)))
}

func (tn *tenant) completeJob(batch, job string) map[string]any {
	tn.t.Helper()
	return decodeAs[map[string]any](tn.t, tn.must(200, tn.do("POST", "/v1/batches/"+batch+"/jobs/"+job+"/complete", nil)))
}

// waitBatch waits for a batch to close and returns it.
func (tn *tenant) waitBatch(id string) batchView {
	tn.t.Helper()
	var b batchView
	waitFor(tn.t, time.Minute, "batch "+id+" to close", func() bool { b = tn.batch(id); return b.Status != "open" })
	return b
}

// A batch of drafts tells its subscribers once, when its last job is done,
// however often jobs are reported, and whether they come before the batch.
func TestBatchNotifiesOnceWhenItsJobsAreDone(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("bea", "bea-batch@example.com")
	body := map[string]any{"id": "research-1", "expected_jobs": 3, "event": map[string]any{"type": "outreach.drafts_ready", "data": map[string]any{}}}
	tn.must(201, tn.do("POST", "/v1/batches", body))
	tn.must(200, tn.do("POST", "/v1/batches", body)) // a retry of the same batch
	if r := tn.do("POST", "/v1/batches", map[string]any{"id": "research-1", "expected_jobs": 4, "event": body["event"]}); r.status != 409 || r.errCode() != "batch_conflict" {
		t.Errorf("another batch under the same ID: %d %s", r.status, r.raw)
	}
	if got := tn.completeJob("research-1", "lead-a"); got["duplicate"] != false || got["completed_jobs"] != 1.0 {
		t.Errorf("first job: %v", got)
	}
	if got := tn.completeJob("research-1", "lead-a"); got["duplicate"] != true || got["completed_jobs"] != 1.0 {
		t.Errorf("the same job again: %v", got)
	}
	tn.completeJob("research-1", "lead-b")
	if b := tn.batch("research-1"); b.Status != "open" || b.CompletedJobs != 2 || b.ExpectedJobs != 3 {
		t.Fatalf("two of three jobs: %+v", b)
	}
	if n := tn.emittedOf("outreach.drafts_ready"); n != 0 {
		t.Fatalf("the batch emitted with two of three jobs done")
	}
	// The last job, reported by several workers at once.
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); tn.completeJob("research-1", "lead-c") }()
	}
	wg.Wait()
	b := tn.waitBatch("research-1")
	if b.Status != "completed" || b.EmittedEventID == nil {
		t.Fatalf("the batch: %+v", b)
	}
	tn.waitEvent(*b.EmittedEventID)
	mail := mailFor(*b.EmittedEventID)
	if len(mail) != 1 || mail[0].Subject != "Your drafts are ready" || !strings.Contains(mail[0].Text, "3 drafts are ready for review in batch research-1.") {
		t.Fatalf("the drafts email: %d %+v", len(mail), mail)
	}
	recordHistory(t, b.WorkflowID, "batch_completed")
	// Jobs after the close change nothing.
	if got := tn.completeJob("research-1", "lead-d"); got["status"] != "completed" {
		t.Errorf("a job after the close: %v", got)
	}
	if n := tn.emittedOf("outreach.drafts_ready"); n != 1 {
		t.Errorf("%d drafts-ready events, want 1", n)
	}

	// Completions first, then the batch.
	for _, job := range []string{"x", "y", "x"} {
		if got := tn.completeJob("early", job); got["status"] != "awaiting_batch" {
			t.Errorf("a job of a batch not posted yet: %v", got)
		}
	}
	tn.must(201, tn.do("POST", "/v1/batches", map[string]any{"id": "early", "expected_jobs": 2,
		"event": map[string]any{"type": "outreach.drafts_ready", "data": map[string]any{"drafts": 12}}}))
	b = tn.waitBatch("early")
	if b.Status != "completed" {
		t.Fatalf("the early batch: %+v", b)
	}
	tn.waitEvent(*b.EmittedEventID)
	if mail := mailFor(*b.EmittedEventID); len(mail) != 1 || !strings.Contains(mail[0].Text, "12 drafts are ready") {
		t.Errorf("the early batch's email: %v", mail)
	}
}

// A batch whose jobs do not finish in time expires, and the owners see it.
func TestBatchExpiresAndSaysSo(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("otto", "otto-batch@example.com", "role", "owner")
	tn.must(201, tn.do("POST", "/v1/batches", map[string]any{"id": "slow", "expected_jobs": 2, "expires_in": "2s",
		"event": map[string]any{"type": "outreach.drafts_ready", "data": map[string]any{}}}))
	tn.completeJob("slow", "one")
	b := tn.waitBatch("slow")
	if b.Status != "expired" || b.EmittedEventID != nil {
		t.Fatalf("the slow batch: %+v", b)
	}
	var items []inboxItem
	waitFor(t, 30*time.Second, "the owner's notice", func() bool {
		items = decodeAs[listPage[inboxItem]](t, tn.must(200, tn.do("GET", "/v1/users/otto/notifications", nil))).Data
		return len(items) == 1
	})
	if items[0].Title != "Batch slow expired" {
		t.Errorf("the owner's notice: %+v", items[0])
	}
	if n := tn.emittedOf("outreach.drafts_ready"); n != 0 {
		t.Errorf("an expired batch emitted its event")
	}
	if r := tn.do("POST", "/v1/events", map[string]any{"type": "batch.expired", "data": map[string]any{"batch_id": "x"}}); r.status != 422 {
		t.Errorf("posting batch.expired: %d %s", r.status, r.raw)
	}
}

// Bad batches are refused with the contract's errors and store nothing.
func TestBadBatchesChangeNothing(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("nia", "nia-batch@example.com")
	ok := map[string]any{"type": "outreach.drafts_ready", "data": map[string]any{}}
	for _, tc := range []struct {
		body   map[string]any
		status int
		code   string
	}{
		{map[string]any{"id": "b", "expected_jobs": 0, "event": ok}, 400, "invalid_field"},
		{map[string]any{"id": "b", "expected_jobs": 100001, "event": ok}, 400, "invalid_field"},
		{map[string]any{"id": "b c", "expected_jobs": 1, "event": ok}, 400, "invalid_field"},
		{map[string]any{"id": "b", "expected_jobs": 1}, 400, "invalid_field"},
		{map[string]any{"id": "b", "expected_jobs": 1, "event": ok, "expires_in": "soon"}, 400, "invalid_field"},
		{map[string]any{"id": "b", "expected_jobs": 1, "event": ok, "colour": "red"}, 400, "unknown_field"},
		{map[string]any{"id": "b", "expected_jobs": 1, "event": map[string]any{"type": "nope.never"}}, 422, "unknown_event_type"},
		{map[string]any{"id": "b", "expected_jobs": 1, "event": map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"ghost"}}, "data": map[string]any{"issue_key": "A-1"}}}, 400, "unknown_recipients"},
	} {
		if r := tn.do("POST", "/v1/batches", tc.body); r.status != tc.status || r.errCode() != tc.code {
			t.Errorf("%v: %d %s, want %d %s", tc.body, r.status, r.raw, tc.status, tc.code)
		}
	}
	if n := count(t, "SELECT count(*) FROM batches WHERE tenant_id = $1", tn.id); n != 0 {
		t.Errorf("refused batches stored %d rows", n)
	}
	tn.must(404, tn.do("GET", "/v1/batches/nope", nil))
	if r := tn.do("POST", "/v1/batches/b/jobs/a%20b/complete", nil); r.status != 400 {
		t.Errorf("a bad job ID: %d %s", r.status, r.raw)
	}
}
