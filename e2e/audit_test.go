package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/app"
)

type auditVerifyView struct {
	OK     bool  `json:"ok"`
	Rows   int64 `json:"rows"`
	Broken *struct {
		ID      int64  `json:"id"`
		Seq     int64  `json:"seq"`
		Problem string `json:"problem"`
	} `json:"broken,omitempty"`
}

type auditRowView struct {
	ID        int64  `json:"id"`
	Seq       int64  `json:"seq"`
	Recipient string `json:"recipient"`
	Channel   string `json:"channel"`
	Status    string `json:"status"`
	Reason    string `json:"reason"`
	Hash      string `json:"hash"`
	PrevHash  string `json:"prev_hash"`
}

func (tn *tenant) verifyAudit() auditVerifyView {
	tn.t.Helper()
	return decodeAs[auditVerifyView](tn.t, tn.must(200, tn.do("GET", "/v1/audit/verify", nil)))
}

// tamper runs sql with the audit table's append-only guard lifted, as an
// attacker with the database owner's password would (the service's role
// cannot: TestServiceRoleCannotRewriteTheAuditTrail).
func tamper(t *testing.T, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	tx, err := env.owner.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, s := range []string{"ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"} {
		if _, err := tx.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestAuditRecordsEveryOutcomeAndCatchesTampering(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	hook := newHookServer(t, http.StatusBadRequest)
	tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": hook.URL}))
	tn.putUser("a1", "a1@example.com")
	tn.putUser("a2", "")
	tn.putUser("a3", "a3@example.com")
	tn.must(200, tn.do("PUT", "/v1/users/a3/preferences", map[string]any{"quiet_hours": quietNow(3 * time.Hour)}))
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"a1", "a2", "a3"}}, "data": map[string]any{"issue_key": "AU-1"}})
	tn.waitWebhookStatus(acc.EventID, "failed")
	waitFor(t, 30*time.Second, "a3's email to wait", func() bool { return deliveryOf(tn.event(acc.EventID), "a3", "email").Status == "pending" })
	tn.must(204, tn.do("DELETE", "/v1/users/a3", nil)) // cancels the waiting email

	page := decodeAs[listPage[auditRowView]](t, tn.must(200, tn.do("GET", "/v1/audit?event_id="+acc.EventID+"&limit=50", nil)))
	seen := map[string]bool{}
	for _, r := range page.Data {
		seen[r.Recipient+"/"+r.Channel+"/"+r.Status+"/"+r.Reason] = true
	}
	for _, want := range []string{"a1/email/delivered/", "a1/in_app/delivered/", "a2/email/skipped/no_address", "#webhook/webhook/failed/", "a3/email/cancelled/user_deleted", "a3/in_app/delivered/"} {
		if !seen[want] {
			t.Errorf("no audit row %s among %v", want, seen)
		}
	}
	if byUser := decodeAs[listPage[auditRowView]](t, tn.must(200, tn.do("GET", "/v1/audit?user_id=a2", nil))); len(byUser.Data) != 2 {
		t.Errorf("?user_id=a2 listed %d rows, want 2 (in-app delivered, email skipped)", len(byUser.Data))
	}
	v := tn.verifyAudit()
	if !v.OK || v.Rows != int64(len(page.Data)) {
		t.Fatalf("verify = %+v, want ok over %d rows", v, len(page.Data))
	}
	if _, err := env.pool.Exec(context.Background(), `UPDATE audit_log SET status = 'delivered' WHERE tenant_id = $1`, tn.id); err == nil {
		t.Error("audit rows could be updated")
	}
	if _, err := env.pool.Exec(context.Background(), `DELETE FROM audit_log WHERE tenant_id = $1`, tn.id); err == nil {
		t.Error("audit rows could be deleted")
	}

	// A changed row is reported by its ID.
	var victim int64
	if err := env.pool.QueryRow(context.Background(), `SELECT id FROM audit_log WHERE tenant_id = $1 AND status = 'failed'`, tn.id).Scan(&victim); err != nil {
		t.Fatal(err)
	}
	tamper(t, `UPDATE audit_log SET status = 'delivered' WHERE id = $1`, victim)
	v = tn.verifyAudit()
	if v.OK || v.Broken == nil || v.Broken.ID != victim || !strings.Contains(v.Broken.Problem, "changed") {
		t.Errorf("after changing row %d: %+v", victim, v)
	}
	var out bytes.Buffer
	ok, err := app.VerifyAuditAll(context.Background(), env.pool, checkpointSigner, tn.id.String(), nil, &out, &bytes.Buffer{})
	if err != nil || ok || !strings.Contains(out.String(), fmt.Sprintf("row %d", victim)) {
		t.Errorf("herald audit verify --tenant: ok=%v err=%v out=%q, want the broken row named", ok, err, out.String())
	}
}

func TestAuditReportsADeletedRow(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("d1", "d1@example.com")
	for i := range 3 {
		acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"d1"}}, "data": map[string]any{"issue_key": fmt.Sprint("AD-", i)}})
		tn.waitSettled(acc.EventID, 30*time.Second)
	}
	if v := tn.verifyAudit(); !v.OK || v.Rows != 6 {
		t.Fatalf("verify = %+v, want ok over 6 rows", v)
	}
	tamper(t, `DELETE FROM audit_log WHERE tenant_id = $1 AND seq = 3`, tn.id)
	if v := tn.verifyAudit(); v.OK || v.Broken == nil || v.Broken.Seq != 4 {
		t.Errorf("after deleting seq 3: %+v, want the break reported at seq 4", v)
	}
	other := newTenant(t)
	other.putUser("d2", "d2@example.com")
	acc := other.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"d2"}}, "data": map[string]any{"issue_key": "AD-9"}})
	other.waitSettled(acc.EventID, 30*time.Second)
	tamper(t, `DELETE FROM audit_log WHERE tenant_id = $1 AND seq = 2`, other.id)
	if v := other.verifyAudit(); v.OK || v.Broken == nil || !strings.Contains(v.Broken.Problem, "end") {
		t.Errorf("after deleting the last row: %+v, want the chain's end reported", v)
	}
}

// TestAuditChainsStayValidUnderConcurrency: 100 concurrent appends across
// two tenants leave both chains valid and gap-free.
func TestAuditChainsStayValidUnderConcurrency(t *testing.T) {
	t.Parallel()
	tenants := []*tenant{newTenant(t), newTenant(t)}
	for _, tn := range tenants {
		tn.putUser("c1", "c1@example.com")
	}
	var wg sync.WaitGroup
	ids := make([][]string, 2)
	var mu sync.Mutex
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tn := tenants[i%2]
			acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"c1"}}, "data": map[string]any{"issue_key": fmt.Sprint("CC-", i)}})
			mu.Lock()
			ids[i%2] = append(ids[i%2], acc.EventID)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for k, tn := range tenants {
		for _, id := range ids[k] {
			// A start the API gave up on under load (100 at once on a busy
			// machine) is the reconciler's: it starts events accepted a
			// minute ago, every 30 s.
			tn.waitSettled(id, 3*time.Minute)
		}
		v := tn.verifyAudit()
		if !v.OK || v.Rows != 100 {
			t.Errorf("tenant %d: verify = %+v, want ok over 100 rows (50 events x in-app and email)", k, v)
		}
		if n := count(t, `SELECT count(DISTINCT seq) FROM audit_log WHERE tenant_id = $1 AND seq BETWEEN 1 AND 100`, tn.id); n != 100 {
			t.Errorf("tenant %d: %d distinct seqs in 1..100, want 100", k, n)
		}
	}
}
