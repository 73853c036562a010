package e2e

import (
	"context"
	"regexp"
	"testing"
)

// TestDeliveredMarkingTouchesNoIndex: claiming a delivery and marking it
// delivered change only columns no index of deliveries depends on, in its
// key or its predicate, so both updates can stay heap-only (HOT). An index
// that names one of them makes every delivery of a fan-out write a new
// entry into each of the table's indexes.
func TestDeliveredMarkingTouchesNoIndex(t *testing.T) {
	t.Parallel()
	// What ClaimDeliveries and MarkManyDelivered change (not_before is set
	// to NULL, which it already is on this path).
	changed := regexp.MustCompile(`\b(status|delivered_at|attempts|error|content_hash|relay|claim_id|claimed_until|updated_at)\b`)
	rows, err := env.owner.Query(context.Background(),
		`SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'deliveries'::regclass`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		n++
		if col := changed.FindString(def); col != "" {
			t.Errorf("index %s depends on %s, which marking a delivery delivered changes: %s", name, col, def)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Fatalf("found %d indexes on deliveries; the query is wrong", n)
	}
}
