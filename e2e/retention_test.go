package e2e

import (
	"bytes"
	"cmp"
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/internal/app"
)

type retentionView struct {
	InboxDays      int `json:"inbox_days"`
	DeliveriesDays int `json:"deliveries_days"`
}

type retentionSettingsView struct {
	LeadThreshold int           `json:"lead_threshold"`
	Retention     retentionView `json:"retention"`
}

// TestRetentionSettings: GET shows the periods in effect; a PUT keeps what
// it leaves out, null resets to the defaults, and a period out of bounds is
// a 400 naming it that changes nothing.
func TestRetentionSettings(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	get := func() retentionSettingsView {
		return decodeAs[retentionSettingsView](t, tn.must(200, tn.do("GET", "/v1/tenant/settings", nil)))
	}
	if got := get().Retention; got != (retentionView{90, 180}) {
		t.Errorf("defaults: %+v, want 90 and 180 days", got)
	}
	put := decodeAs[retentionSettingsView](t, tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"retention": map[string]any{"inbox_days": 10}})))
	if put.Retention != (retentionView{10, 180}) {
		t.Errorf("PUT inbox_days 10 answered %+v", put.Retention)
	}
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"lead_threshold": 70}))
	if got := get(); got.Retention != (retentionView{10, 180}) || got.LeadThreshold != 70 {
		t.Errorf("a PUT without retention changed it: %+v", got)
	}
	for _, bad := range []map[string]any{
		{"inbox_days": 0}, {"inbox_days": 3651}, {"deliveries_days": 29}, {"deliveries_days": "long"}, {"keep": 5},
	} {
		r := tn.do("PUT", "/v1/tenant/settings", map[string]any{"retention": bad, "lead_threshold": 20})
		if r.status != 400 {
			t.Errorf("retention %v: %d %s, want 400", bad, r.status, r.raw)
		}
	}
	if r := tn.do("PUT", "/v1/tenant/settings", map[string]any{"retention": map[string]any{"deliveries_days": 29}}); r.errCode() != "invalid_field" ||
		!strings.Contains(string(r.raw), "retention.deliveries_days") {
		t.Errorf("deliveries_days 29: %s, want invalid_field naming retention.deliveries_days", r.raw)
	}
	if got := get(); got.Retention != (retentionView{10, 180}) || got.LeadThreshold != 70 {
		t.Errorf("refused PUTs changed the settings: %+v", got)
	}
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"retention": map[string]any{"inbox_days": 10, "deliveries_days": 3650}}))
	if got := get().Retention; got != (retentionView{10, 3650}) {
		t.Errorf("both periods: %+v", got)
	}
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"retention": nil}))
	if got := get().Retention; got != (retentionView{90, 180}) {
		t.Errorf("after null: %+v, want the defaults", got)
	}
}

// TestRetentionPrunesOnlyWhatIsDue runs the Retention workflow on the test
// worker over a tenant with rows made in the past, and checks that exactly
// the due ones went: read and archived inbox items past inbox_days, final
// deliveries past deliveries_days (not pending, not uncertain, not one
// whose unread item stays), closed events left with no deliveries, and the
// audit rows past the period, after a signed checkpoint the retained chain
// starts from. An archive exported before still verifies; a row removed
// from the retained chain's start is reported.
func TestRetentionPrunesOnlyWhatIsDue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"retention": map[string]any{"inbox_days": 10, "deliveries_days": 30}}))

	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := env.owner.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	ago := func(days int) time.Time { return time.Now().Add(-time.Duration(days) * 24 * time.Hour) }
	event := func(name, status string, created time.Time) uuid.UUID {
		id := uuid.New()
		exec(`INSERT INTO events (id, tenant_id, type, idempotency_key, request_hash, recipients, workflow_id, status, created_at)
			VALUES ($1, $2, 'system.notice', $3, '\x00', '{}', $6, $4, $5)`, id, tn.id, name, status, created, "notify/"+id.String())
		return id
	}
	type row struct {
		id               uuid.UUID
		event            uuid.UUID
		user, channel    string
		status, reason   string
		created, updated time.Time
		inbox            string // "", "unread", "read", "archived"
		inboxAt          time.Time
	}
	// Each group is one statement, so the audit rows' order (by delivery
	// ID within a statement) keeps their times in order across groups.
	insert := func(rows ...row) {
		t.Helper()
		var b strings.Builder
		args := []any{tn.id}
		b.WriteString(`INSERT INTO deliveries (id, tenant_id, event_id, user_id, channel, status, reason, created_at, updated_at) VALUES `)
		for i, r := range rows {
			if i > 0 {
				b.WriteString(", ")
			}
			n := len(args)
			b.WriteString("($" + strconv.Itoa(n+1) + ", $1, $" + strconv.Itoa(n+2) + ", $" + strconv.Itoa(n+3) + ", $" + strconv.Itoa(n+4) + ", $" + strconv.Itoa(n+5) + ", $" + strconv.Itoa(n+6) + ", $" + strconv.Itoa(n+7) + ", $" + strconv.Itoa(n+8) + ")")
			args = append(args, r.id, r.event, cmp.Or(r.user, "u1"), r.channel, r.status, r.reason, r.created, r.updated)
		}
		exec(b.String(), args...)
		for _, r := range rows {
			if r.inbox == "" {
				continue
			}
			var readAt, archivedAt *time.Time
			switch r.inbox {
			case "read":
				readAt = &r.inboxAt
			case "archived":
				archivedAt = &r.inboxAt
			}
			exec(`INSERT INTO notifications (tenant_id, user_id, event_id, delivery_id, type, title, created_at, read_at, archived_at)
				VALUES ($1, $7, $2, $3, 'system.notice', 'old news', $4, $5, $6)`, tn.id, r.event, r.id, r.inboxAt, readAt, archivedAt, cmp.Or(r.user, "u1"))
		}
	}
	old := ago(100)
	e1, e2, e3 := event("e1", "delivered", old), event("e2", "failed", old), event("e3", "pending", old)
	e4, e5, e6 := event("e4", "delivered", old), event("e5", "delivered", old), event("e6", "delivered", ago(20))
	d := func() uuid.UUID { return uuid.New() }
	var (
		emailOld, inboxReadOld, inboxUnreadOld = d(), d(), d()
		uncertain, pending, lone, touched      = d(), d(), d(), d()
		inboxRead20, inboxArchived20, unread20 = d(), d(), d()
	)
	insert(
		row{id: emailOld, event: e1, channel: "email", status: "delivered", created: old, updated: old},
		row{id: inboxReadOld, event: e1, channel: "in_app", status: "delivered", created: old, updated: old, inbox: "read", inboxAt: old},
		row{id: inboxUnreadOld, user: "u2", event: e1, channel: "in_app", status: "delivered", created: old, updated: old, inbox: "unread", inboxAt: old},
		row{id: uncertain, event: e2, channel: "email", status: "failed", reason: "uncertain", created: old, updated: old},
		row{id: pending, event: e3, channel: "email", status: "pending", created: old, updated: old},
		row{id: lone, event: e4, channel: "email", status: "delivered", created: old, updated: old},
	)
	insert(
		row{id: inboxRead20, event: e6, channel: "in_app", status: "delivered", created: ago(20), updated: ago(20), inbox: "read", inboxAt: ago(20)},
		row{id: inboxArchived20, user: "u2", event: e6, channel: "in_app", status: "skipped", reason: "duplicate", created: ago(20), updated: ago(20), inbox: "archived", inboxAt: ago(20)},
		row{id: unread20, user: "u3", event: e6, channel: "in_app", status: "delivered", created: ago(20), updated: ago(20), inbox: "unread", inboxAt: ago(20)},
	)
	// Made long ago, changed lately (a retry that delivered): kept.
	insert(row{id: touched, event: e5, channel: "email", status: "delivered", created: old, updated: ago(5)})
	// Today's event, through the whole pipeline.
	tn.putUser("u1", "u1@example.com")
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"u1"}}, "data": map[string]any{"issue_key": "RET-1"}})
	tn.waitSettled(acc.EventID, 30*time.Second)
	fresh := tn.event(acc.EventID).Deliveries
	if len(fresh) == 0 {
		t.Fatal("today's event has no deliveries")
	}

	// The audit rows older than 30 days are seq 1 to 5 (the pending
	// delivery has none yet). Exported before retention, they still
	// verify after it.
	var archive bytes.Buffer
	h, err := app.ExportAudit(ctx, env.pool, checkpointSigner, tn.id.String(), ago(30), &archive)
	if err != nil {
		t.Fatal(err)
	}
	if h.FirstSeq != 1 || h.LastSeq != 5 || h.Rows != 5 {
		t.Fatalf("exported %+v, want seq 1 to 5", h)
	}

	// Two collapse windows' in-app heads: one closed long ago, one open.
	exec(`INSERT INTO collapse_heads (tenant_id, user_id, group_type, group_key, event_id, closes_at)
		VALUES ($1, 'u1', 'issue.commented', 'closed', $2, $3), ($1, 'u1', 'issue.commented', 'open', $2, $4)`,
		tn.id, e1, ago(3), time.Now().Add(time.Hour))

	runRetention(t)

	var heads []string
	if rows, err := env.owner.Query(ctx, `SELECT group_key FROM collapse_heads WHERE tenant_id = $1`, tn.id); err != nil {
		t.Fatal(err)
	} else {
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			heads = append(heads, k)
		}
		rows.Close()
	}
	if !slices.Equal(heads, []string{"open"}) {
		t.Errorf("collapse heads left: %v, want only the open window's", heads)
	}

	ids := func(sql string) []uuid.UUID {
		t.Helper()
		rows, err := env.owner.Query(ctx, sql, tn.id)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []uuid.UUID
		for rows.Next() {
			var id uuid.UUID
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			out = append(out, id)
		}
		return out
	}
	same := func(what string, got, want []uuid.UUID) {
		t.Helper()
		slices.SortFunc(got, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
		slices.SortFunc(want, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
		if !slices.Equal(got, want) {
			t.Errorf("%s left: %v, want %v", what, got, want)
		}
	}
	wantDeliveries := []uuid.UUID{inboxUnreadOld, uncertain, pending, touched, inboxRead20, inboxArchived20, unread20}
	for _, f := range fresh {
		wantDeliveries = append(wantDeliveries, uuid.MustParse(f.ID))
	}
	same("deliveries", ids(`SELECT id FROM deliveries WHERE tenant_id = $1`), wantDeliveries)
	same("inbox items", ids(`SELECT delivery_id FROM notifications WHERE tenant_id = $1 AND title = 'old news'`), []uuid.UUID{inboxUnreadOld, unread20})
	same("events", ids(`SELECT id FROM events WHERE tenant_id = $1`), []uuid.UUID{e1, e2, e3, e5, e6, uuid.MustParse(acc.EventID)})

	var first, rows, cps int64
	if err := env.owner.QueryRow(ctx, `SELECT min(seq), count(*) FROM audit_log WHERE tenant_id = $1`, tn.id).Scan(&first, &rows); err != nil {
		t.Fatal(err)
	}
	if first != 6 {
		t.Errorf("the retained audit chain starts at seq %d, want 6 (rows 1 to 5 are older than 30 days)", first)
	}
	if err := env.owner.QueryRow(ctx, `SELECT count(*) FROM audit_checkpoints WHERE tenant_id = $1 AND seq = 5`, tn.id).Scan(&cps); err != nil || cps != 1 {
		t.Errorf("checkpoints at seq 5: %d (%v), want the one retention signed", cps, err)
	}
	if v := tn.verifyWith(nil); !v.OK || v.Rows != rows || v.From != 6 {
		t.Errorf("verify after pruning: %+v, want ok over the %d retained rows from seq 6", v, rows)
	}
	var out bytes.Buffer
	if ok, err := app.VerifyAuditAll(ctx, env.pool, checkpointSigner, tn.id.String(), nil, &out, io.Discard); !ok || err != nil {
		t.Errorf("herald audit verify after pruning: ok=%v err=%v %s", ok, err, out.String())
	} else if !strings.Contains(out.String(), "from seq 6 (retention pruned the rows before it)") {
		t.Errorf("herald audit verify after pruning does not say where the chain starts: %s", out.String())
	}
	out.Reset()
	if ok, err := app.VerifyArchive(bytes.NewReader(archive.Bytes()), checkpointSigner, &out); !ok || err != nil {
		t.Errorf("the archive exported before pruning: ok=%v err=%v %s", ok, err, out.String())
	}
	tampered := bytes.Replace(archive.Bytes(), []byte(`"status":"failed"`), []byte(`"status":"delivered"`), 1)
	if ok, _ := app.VerifyArchive(bytes.NewReader(tampered), checkpointSigner, io.Discard); ok || bytes.Equal(tampered, archive.Bytes()) {
		t.Error("an archive with the uncertain delivery's row edited verified")
	}

	res, err := http.Get(env.api.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metricsText, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, table := range []string{"notifications", "deliveries", "events", "audit_log", "collapse_heads"} {
		if !strings.Contains(string(metricsText), `herald_retention_pruned_rows_total{table="`+table+`"}`) {
			t.Errorf("/metrics lacks the pruned rows of %s", table)
		}
	}

	// Nothing more is due: a second run changes nothing of this tenant's.
	runRetention(t)
	same("deliveries after a second run", ids(`SELECT id FROM deliveries WHERE tenant_id = $1`), wantDeliveries)
	if v := tn.verifyWith(nil); !v.OK {
		t.Errorf("verify after a second run: %+v", v)
	}

	// The owner removes the retained chain's first row: no checkpoint
	// vouches for a start at seq 7, so it is not taken for pruning.
	exec(`BEGIN; ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
		DELETE FROM audit_log WHERE tenant_id = '` + tn.id.String() + `' AND seq = 6;
		ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only; COMMIT`)
	if v := tn.verifyWith(nil); v.OK || v.Broken == nil || v.Broken.Seq != 7 {
		t.Errorf("verify after the chain's first retained row was removed: %+v, want broken at seq 7", v)
	}
}

// runRetention runs the Retention workflow on the test worker to its end,
// as its schedule would.
func runRetention(t *testing.T) contract.RetentionTally {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := env.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "retention-e2e-" + uuid.NewString(), TaskQueue: "herald-e2e"},
		contract.RetentionWorkflowName, contract.RetentionInput{})
	if err != nil {
		t.Fatal(err)
	}
	var tally contract.RetentionTally
	if err := run.Get(ctx, &tally); err != nil {
		t.Fatalf("the retention run: %v", err)
	}
	recordHistory(t, run.GetID(), "retention_run")
	return tally
}

// TestRetentionIsScheduled: the worker made the one schedule that starts
// Retention.
func TestRetentionIsScheduled(t *testing.T) {
	t.Parallel()
	var desc *client.ScheduleDescription
	waitFor(t, 20*time.Second, "the retention schedule", func() bool {
		var err error
		desc, err = env.temporal.ScheduleClient().GetHandle(context.Background(), contract.RetentionScheduleID).Describe(context.Background())
		return err == nil
	})
	action, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || action.Workflow != contract.RetentionWorkflowName {
		t.Errorf("the schedule's action: %#v, want a %s run", desc.Schedule.Action, contract.RetentionWorkflowName)
	}
	if iv := desc.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != time.Hour {
		t.Errorf("the schedule's intervals: %+v, want hourly", iv)
	}
}

// TestRetentionPrunesInBatches: 2,500 due deliveries go in three batches
// of each table, and the audit chain's prefix in three, each after a
// checkpoint at its last row, so the chain verifies from its new start.
func TestRetentionPrunesInBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	old := time.Now().Add(-200 * 24 * time.Hour)
	ev := uuid.New()
	if _, err := env.owner.Exec(ctx, `INSERT INTO events (id, tenant_id, type, idempotency_key, request_hash, recipients, workflow_id, status, created_at)
		VALUES ($1, $2, 'system.notice', 'batch', '\x00', '{}', $3, 'delivered', $4)`, ev, tn.id, "notify/"+ev.String(), old); err != nil {
		t.Fatal(err)
	}
	if _, err := env.owner.Exec(ctx, `INSERT INTO deliveries (tenant_id, event_id, user_id, channel, status, created_at, updated_at)
		SELECT $1, $2, 'u' || i, 'email', 'delivered', $3::timestamptz + i * interval '1 second', $3::timestamptz + i * interval '1 second'
		FROM generate_series(1, 2500) i`, tn.id, ev, old); err != nil {
		t.Fatal(err)
	}
	runRetention(t)
	var deliveries, events, auditRows int64
	if err := env.owner.QueryRow(ctx, `SELECT (SELECT count(*) FROM deliveries WHERE tenant_id = $1), (SELECT count(*) FROM events WHERE tenant_id = $1),
		(SELECT count(*) FROM audit_log WHERE tenant_id = $1)`, tn.id).Scan(&deliveries, &events, &auditRows); err != nil {
		t.Fatal(err)
	}
	if deliveries != 0 || events != 0 || auditRows != 0 {
		t.Errorf("left %d deliveries, %d events, %d audit rows; want all 2,500 due deliveries, their event and audit rows gone", deliveries, events, auditRows)
	}
	var seqs []int64
	rows, err := env.owner.Query(ctx, `SELECT seq FROM audit_checkpoints WHERE tenant_id = $1 ORDER BY seq`, tn.id)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, s)
	}
	rows.Close()
	for _, want := range []int64{1000, 2000, 2500} {
		if !slices.Contains(seqs, want) {
			t.Errorf("checkpoints at %v, want one at %d (each batch's last row)", seqs, want)
		}
	}
	// Pruned to its head: the chain is its last checkpoint, and a new
	// delivery chains onto it.
	if v := tn.verifyWith(nil); !v.OK || v.Rows != 0 {
		t.Errorf("verify of a chain pruned to its head: %+v", v)
	}
	tn.putUser("b1", "b1@example.com")
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"b1"}}, "data": map[string]any{"issue_key": "BATCH-1"}})
	tn.waitSettled(acc.EventID, 30*time.Second)
	if v := tn.verifyWith(nil); !v.OK || v.Rows != 2 {
		t.Errorf("verify after a new delivery: %+v, want ok over its 2 rows", v)
	}
}
