package activities

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.temporal.io/sdk/testsuite"

	"github.com/heraldhq/herald/audit"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/internal/dev/devstack"
	"github.com/heraldhq/herald/internal/metrics"
)

// Retention drops the audit trail's months that every tenant's period has
// passed, whole, once each chain in them is verified and checkpointed; a
// broken chain keeps its month; what is left verifies from its new start.
func TestMaintainPartitionsDropsMonthsPastEveryPeriod(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	ctx := context.Background()
	pg, err := devstack.StartPostgres(ctx, devstack.PostgresOptions{Dir: t.TempDir(), Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	if _, _, err := db.Migrate(ctx, pg.URL); err != nil {
		t.Fatal(err)
	}
	owner, err := pgxpool.New(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := owner.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// A trail partitioned since 15 months ago: the migration's (empty)
	// partitions go, one 15 months old takes their place, and the periodic
	// step makes the months since.
	exec(`DO $$
		DECLARE
			m timestamptz := (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '15 months') AT TIME ZONE 'UTC';
			p regclass;
		BEGIN
			FOR p IN SELECT part FROM herald_partition_bounds('audit_log') LOOP
				EXECUTE format('DROP TABLE %s', p);
			END LOOP;
			EXECUTE format('CREATE TABLE %I PARTITION OF audit_log FOR VALUES FROM (%L) TO (%L)',
				herald_partition_name('audit_log', m), m, ((m AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC');
		END $$`)
	exec(`SELECT herald_ensure_partitions(3)`)

	// Two tenants, one keeping deliveries the default 180 days and one
	// 365: the longest decides. Each has 500 outcomes in months 15, 14 and
	// 11 ago, and in the last hour. A third, since deleted, had 500 in
	// month 15 ago and keeps nothing: no tenant's pruning reaches its rows.
	short, long, gone := uuid.New(), uuid.New(), uuid.New()
	exec(`INSERT INTO tenants (id, name, settings) VALUES ($1, 'short', '{}'), ($2, 'long', '{"retention": {"deliveries_days": 365}}'),
		($3, 'gone', '{"retention": {"deliveries_days": 3650}}')`, short, long, gone)
	for _, tn := range []uuid.UUID{short, long, gone} {
		event := uuid.New()
		exec(`INSERT INTO events (id, tenant_id, type, idempotency_key, request_hash, recipients, workflow_id, status, created_at)
			VALUES ($1, $2, 'system.notice', $3, '\x00', '{}', 'notify/' || $3, 'delivered', now() - interval '16 months')`, event, tn, event.String())
		months := []string{"15 months", "14 months", "11 months", "0 months"}
		if tn == gone {
			months = months[:1]
		}
		for _, ago := range months {
			exec(`INSERT INTO deliveries (tenant_id, event_id, user_id, channel, status, created_at, updated_at)
				SELECT $1, $2, $3::text || '-' || i, 'email', 'delivered', at, at
				FROM generate_series(1, 500) i,
				     LATERAL (SELECT CASE WHEN $3::text = '0 months' THEN now() - interval '1 hour'
				                     ELSE (date_trunc('month', now() AT TIME ZONE 'UTC') - $3::interval) AT TIME ZONE 'UTC' + interval '1 day' + i * interval '1 second' END AS at) x`,
				tn, event, ago)
		}
	}
	exec(`DELETE FROM tenants WHERE id = $1`, gone)
	partitions := func() int {
		var n int
		if err := owner.QueryRow(ctx, `SELECT count(*) FROM herald_partition_bounds('audit_log')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := partitions()

	serviceURL, err := db.EnsureServiceLogin(ctx, pg.URL, db.ServiceLogin)
	if err != nil {
		t.Fatal(err)
	}
	service, err := pgxpool.New(ctx, serviceURL)
	if err != nil {
		t.Fatal(err)
	}
	defer service.Close()
	signer := audit.NewSigner("0123456789abcdef0123456789abcdef-partitions-test")
	acts := New(service)
	acts.Checkpoints = signer

	// The service cannot drop a month nothing vouches for, nor any other
	// way than through the one function.
	var oldest time.Time
	if err := service.QueryRow(ctx, `SELECT min(upper) FROM herald_partition_bounds('audit_log')`).Scan(&oldest); err != nil {
		t.Fatal(err)
	}
	if _, err := service.Exec(ctx, `SELECT audit_drop_partition($1)`, oldest); err == nil || !strings.Contains(err.Error(), "no checkpoint") {
		t.Errorf("dropping a month with no checkpoint: %v", err)
	}
	var oldestName string
	if err := owner.QueryRow(ctx, `SELECT part::text FROM herald_partition_bounds('audit_log') ORDER BY upper LIMIT 1`).Scan(&oldestName); err != nil {
		t.Fatal(err)
	}
	if _, err := service.Exec(ctx, `DROP TABLE `+oldestName); err == nil {
		t.Error("the service dropped an audit partition itself")
	}

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	run := func() contract.RetentionTally {
		t.Helper()
		v, err := env.ExecuteActivity(acts.MaintainPartitions)
		if err != nil {
			t.Fatal(err)
		}
		var tally contract.RetentionTally
		if err := v.Get(&tally); err != nil {
			t.Fatal(err)
		}
		return tally
	}

	// A chain edited in a droppable month keeps every month: the edit is
	// evidence, and a checkpoint over it would launder it.
	var victim int64
	var recipient string
	if err := owner.QueryRow(ctx, `SELECT id, recipient FROM audit_log WHERE tenant_id = $1 AND seq = 700`, long).Scan(&victim, &recipient); err != nil {
		t.Fatal(err)
	}
	tamper := func(to string) {
		exec(`BEGIN; ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only; UPDATE audit_log SET recipient = '` + to + `' WHERE id = ` + strconv.FormatInt(victim, 10) + `;
			ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only; COMMIT`)
	}
	tamper("mallory")
	if got := run(); got.AuditRows != 0 || partitions() != before {
		t.Errorf("with a broken chain: dropped %d rows, %d of %d partitions left; want nothing dropped", got.AuditRows, partitions(), before)
	}
	tamper(recipient)

	got := run()
	if got.AuditRows != 2500 {
		t.Errorf("dropped %d audit rows, want the 2,500 of the months 15 and 14 ago", got.AuditRows)
	}
	var left, oldRows int64
	if err := owner.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE at < now() - interval '13 months') FROM audit_log`).Scan(&left, &oldRows); err != nil {
		t.Fatal(err)
	}
	if left != 2000 || oldRows != 0 {
		t.Errorf("%d audit rows left, %d of them older than 13 months; want the 2,000 of 11 months ago and now", left, oldRows)
	}
	for _, tn := range []uuid.UUID{short, long} {
		v, err := db.VerifyAudit(ctx, service, tn, db.VerifyOptions{Signer: signer})
		if err != nil {
			t.Fatal(err)
		}
		if v.Broken != nil || v.From != 1001 || v.Rows != 1000 {
			t.Errorf("tenant %s's chain after the drop: broken %v, from seq %d, %d rows; want intact from 1001 with 1,000", tn, v.Broken, v.From, v.Rows)
		}
	}
	// The gauge operators alert on says how far ahead the partitions go.
	var newest time.Time
	if err := owner.QueryRow(ctx, `SELECT max(upper) FROM herald_partition_bounds('audit_log')`).Scan(&newest); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(metrics.AuditPartitionsEnd); got != float64(newest.Unix()) || newest.Before(time.Now().AddDate(0, 3, 0)) {
		t.Errorf("herald_audit_partitions_end_timestamp_seconds = %v, newest partition ends %s; want that end, three months ahead or more", got, newest)
	}
	// The months after the oldest left are not past the 365 days yet.
	if got := run(); got.AuditRows != 0 {
		t.Errorf("a second run dropped %d rows, want none", got.AuditRows)
	}
	// New outcomes still chain on.
	exec(`INSERT INTO deliveries (tenant_id, event_id, user_id, channel, status) SELECT tenant_id, id, 'late', 'email', 'delivered' FROM events WHERE tenant_id = $1`, long)
	if v, err := db.VerifyAudit(ctx, service, long, db.VerifyOptions{Signer: signer}); err != nil || v.Broken != nil || v.HeadSeq != 2001 {
		t.Errorf("after a new outcome: %+v, %v; want intact to seq 2001", v, err)
	}
}
