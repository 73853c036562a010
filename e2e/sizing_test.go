package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestStorageSizing measures what notifications cost in PostgreSQL, for
// the sizing table in docs/operations.md: it posts HERALD_SIZING events
// (one recipient each, in-app and email) through the whole pipeline and
// prints, per table, the rows, the average row (pg_column_size) and the
// table's size with its indexes and TOAST (pg_total_relation_size) per
// row. Run it alone, on a stack of its own:
//
//	HERALD_SIZING=2000 go test ./e2e -run TestStorageSizing -count=1 -v
func TestStorageSizing(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("HERALD_SIZING"))
	if n <= 0 {
		t.Skip("set HERALD_SIZING to a number of events to measure")
	}
	ctx := context.Background()
	tn := newTenant(t)
	tn.putUser("s1", "s1@example.com")
	var last string
	for i := range n {
		last = tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"s1"}},
			"data": map[string]any{"issue_key": fmt.Sprintf("SIZE-%d", i), "title": "Fix the login bug on the settings page"},
			"link": "https://app.example/issues/SIZE"}).EventID
	}
	tn.waitSettled(last, 5*time.Minute)
	waitFor(t, 5*time.Minute, "every delivery to settle", func() bool {
		var pending int
		_ = env.owner.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE tenant_id = $1 AND status = 'pending'`, tn.id).Scan(&pending)
		return pending == 0
	})
	if _, err := env.owner.Exec(ctx, `VACUUM ANALYZE events, deliveries, notifications, audit_log`); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events, one recipient, in_app and email", n)
	t.Logf("%-14s %8s %10s %12s %14s", "table", "rows", "rows/event", "avg row B", "total B/row")
	for _, table := range []string{"events", "deliveries", "notifications", "audit_log", "audit_checkpoints"} {
		var rows, total int64
		var avg float64
		err := env.owner.QueryRow(ctx, fmt.Sprintf(`SELECT count(*), coalesce(avg(pg_column_size(x.*)), 0), 
			-- A partitioned table's own size is nothing: its partitions hold it.
			(SELECT sum(pg_total_relation_size(p.relid))::bigint FROM pg_partition_tree('%s') p)
			FROM %s x`, table, table)).Scan(&rows, &avg, &total)
		if err != nil {
			t.Fatal(err)
		}
		if rows == 0 {
			continue
		}
		t.Logf("%-14s %8d %10.2f %12.0f %14.0f", table, rows, float64(rows)/float64(n), avg, float64(total)/float64(rows))
	}
}
