package db

import (
	"context"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"

	"github.com/heraldhq/herald/internal/dev/devstack"
)

// beforePartitions starts a PostgreSQL of the test's own, migrated to
// just before the audit trail is partitioned, and answers its owner's URL.
func beforePartitions(ctx context.Context, t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	pg, err := devstack.StartPostgres(ctx, devstack.PostgresOptions{Dir: t.TempDir(), Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	migrateTo(ctx, t, pg.URL, partitionsFrom-1)
	return pg.URL
}

// migrateTo brings the database at url to version to, as Migrate does to
// the newest.
func migrateTo(ctx context.Context, t *testing.T, url string, to int32) {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	m, err := migrate.NewMigrator(ctx, conn, versionTable)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadMigrations(sub); err != nil {
		t.Fatal(err)
	}
	if err := m.MigrateTo(ctx, to); err != nil {
		t.Fatalf("migrating to %d: %v", to, err)
	}
}

// The audit trail is partitioned under a live load: rows appended while
// the migration runs all land, none waits long, every row is kept, and
// the months ahead have partitions. HERALD_PARTITION_ROWS sets how many
// rows the trail has first (docs/operations.md has the times for 5
// million); by default a few thousand.
func TestAuditPartitioningOnALiveTrail(t *testing.T) {
	rows := 5000
	if s := os.Getenv("HERALD_PARTITION_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("HERALD_PARTITION_ROWS=%q: %v", s, err)
		}
		rows = n
	}
	ctx := context.Background()
	url := beforePartitions(ctx, t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	// Rows over the past two years, for 10 tenants; the hashes are not a
	// chain's (nothing here verifies), the sizes are a real row's.
	start := time.Now()
	if _, err := pool.Exec(ctx, `
		INSERT INTO audit_log (tenant_id, seq, delivery_id, event_id, recipient, channel, status, reason, content_hash, at, prev_hash, hash)
		SELECT ('00000000-0000-0000-0000-00000000000' || (i % 10))::uuid, i / 10 + 1, gen_random_uuid(), gen_random_uuid(),
		       'user-' || (i % 5000), 'email', 'delivered', '', sha256(int8send(i)),
		       now() - interval '730 days' + (i::float8 / $1::int) * interval '729 days', sha256(int8send(i - 1)), sha256(int8send(i))
		FROM generate_series(0, $1::int - 1) i`, rows); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE audit_log`); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d audit rows made in %s", rows, time.Since(start).Round(time.Millisecond))

	// A writer appends a row every few milliseconds throughout, as the
	// triggers would, and notes its slowest append.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var appended int
	var slowest time.Duration
	var writeErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for seq := 1; ; seq++ {
			select {
			case <-stop:
				return
			default:
			}
			began := time.Now()
			_, err := pool.Exec(ctx, `INSERT INTO audit_log (tenant_id, seq, delivery_id, event_id, recipient, channel, status, reason, at, prev_hash, hash)
				VALUES ('00000000-0000-0000-0000-0000000000aa', $1, gen_random_uuid(), gen_random_uuid(), 'u', 'email', 'delivered', '', now(), '\x00', '\x00')`, seq)
			if err != nil {
				writeErr = err
				return
			}
			appended++
			slowest = max(slowest, time.Since(began))
			time.Sleep(2 * time.Millisecond)
		}
	}()
	time.Sleep(50 * time.Millisecond)
	began := time.Now()
	_, to, err := Migrate(ctx, url)
	took := time.Since(began)
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if writeErr != nil {
		t.Fatalf("an append during the migration failed: %v", writeErr)
	}
	t.Logf("migrated to %d in %s; %d appends meanwhile, the slowest took %s", to, took.Round(time.Millisecond), appended, slowest.Round(time.Millisecond))
	if slowest > 5*time.Second {
		t.Errorf("an append waited %s: the migration locked the trail for as long as it scanned", slowest)
	}

	var partitioned bool
	var total, inFirst int64
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'audit_log'::regclass),
		(SELECT count(*) FROM audit_log), (SELECT count(*) FROM audit_log_before)`).Scan(&partitioned, &total, &inFirst); err != nil {
		t.Fatal(err)
	}
	if !partitioned || total != int64(rows+appended) || inFirst != total {
		t.Errorf("partitioned %v with %d rows, %d of them in the first partition; want %d rows, all in it",
			partitioned, total, inFirst, rows+appended)
	}
	// The months ahead are there: a row three months from now goes in.
	if _, err := pool.Exec(ctx, `INSERT INTO audit_log (tenant_id, seq, delivery_id, event_id, recipient, channel, status, reason, at, prev_hash, hash)
		VALUES ('00000000-0000-0000-0000-0000000000bb', 1, gen_random_uuid(), gen_random_uuid(), 'u', 'email', 'delivered', '',
		        now() + interval '3 months', '\x00', '\x00')`); err != nil {
		t.Errorf("a row three months ahead: %v", err)
	}
	var made int
	if err := pool.QueryRow(ctx, `SELECT herald_ensure_partitions($1)`, PartitionMonthsAhead).Scan(&made); err != nil || made != 0 {
		t.Errorf("making the months ahead again made %d (%v), want none", made, err)
	}
	// Still append-only, partition by partition.
	if _, err := pool.Exec(ctx, `DELETE FROM audit_log WHERE seq = 1`); err == nil {
		t.Error("a DELETE from the partitioned trail went through")
	}
	if _, err := pool.Exec(ctx, `TRUNCATE audit_log_before`); err == nil {
		t.Error("a TRUNCATE of the first partition went through")
	}

	// Back down, every row is in one table again.
	pool.Reset()
	migrateTo(ctx, t, url, partitionsFrom-1)
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'audit_log'::regclass),
		(SELECT count(*) FROM audit_log)`).Scan(&partitioned, &total); err != nil {
		t.Fatal(err)
	}
	if partitioned || total != int64(rows+appended+1) {
		t.Errorf("migrated down: partitioned %v with %d rows, want one table with %d", partitioned, total, rows+appended+1)
	}
}

// A transaction holding the trail makes the migration give up after its
// lock_timeout rather than queue every append behind it, changing
// nothing; run again once it ends, the migration completes.
func TestAuditPartitioningGivesWayToALongTransaction(t *testing.T) {
	ctx := context.Background()
	url := beforePartitions(ctx, t)
	long, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close(ctx)
	tx, err := long.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT count(*) FROM audit_log`); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if _, _, err := Migrate(ctx, url); err == nil || !strings.Contains(err.Error(), "lock timeout") {
		t.Fatalf("migrating under a long transaction: %v, want a lock timeout", err)
	}
	if waited := time.Since(began); waited > 15*time.Second {
		t.Errorf("the migration waited %s for its lock", waited)
	}
	var partitioned bool
	var version int32
	if err := long.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'audit_log'::regclass)`).Scan(&partitioned); err != nil {
		t.Fatal(err)
	}
	if partitioned {
		t.Error("the trail was partitioned under the long transaction")
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, version, err = Migrate(ctx, url); err != nil {
		t.Fatalf("migrating again: %v", err)
	}
	if err := long.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'audit_log'::regclass)`).Scan(&partitioned); err != nil || !partitioned {
		t.Errorf("after migrating again to %d: partitioned %v (%v)", version, partitioned, err)
	}
}
