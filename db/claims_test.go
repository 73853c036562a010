package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/internal/dev/devstack"
)

// claimsDB is a migrated PostgreSQL of the test's own with one event and n
// pending email deliveries to n users. It answers the owner's pool (to set
// up and inspect), the queries as the service role runs them (the role
// workers connect as, so the grants are the real ones) and the deliveries.
func claimsDB(t *testing.T, n int) (*pgxpool.Pool, *dbq.Queries, []uuid.UUID) {
	t.Helper()
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
	t.Cleanup(owner.Close)
	serviceURL, err := db.EnsureServiceLogin(ctx, pg.URL, db.ServiceLogin)
	if err != nil {
		t.Fatal(err)
	}
	service, err := pgxpool.New(ctx, serviceURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(service.Close)

	tenant, event := uuid.New(), uuid.New()
	exec(t, owner, `INSERT INTO tenants (id, name) VALUES ($1, 'claims')`, tenant)
	exec(t, owner, `INSERT INTO events (id, tenant_id, type, idempotency_key, request_hash, recipients, workflow_id)
		VALUES ($1, $2, 'system.notice', $3, '\x00', '{}', 'notify/' || $3)`, event, tenant, event.String())
	exec(t, owner, `INSERT INTO users (tenant_id, id, email, name)
		SELECT $1, 'u' || i, 'u' || i || '@claims.test', 'U ' || i FROM generate_series(1, $2::int) i`, tenant, n)
	rows, err := owner.Query(ctx, `INSERT INTO deliveries (tenant_id, event_id, user_id, channel)
		SELECT $1, $2, 'u' || i, 'email' FROM generate_series(1, $3::int) i RETURNING id`, tenant, event, n)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		t.Fatal(err)
	}
	return owner, dbq.New(service), ids
}

func exec(t *testing.T, p *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := p.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// snapshot is every column of the deliveries of ids, as the database holds
// them: a refused write leaves it exactly as it was, updated_at included.
func snapshot(t *testing.T, p *pgxpool.Pool, ids []uuid.UUID) map[uuid.UUID]string {
	t.Helper()
	rows, err := p.Query(context.Background(), `SELECT id, to_jsonb(d)::text FROM deliveries d WHERE id = ANY($1)`, ids)
	if err != nil {
		t.Fatal(err)
	}
	out := map[uuid.UUID]string{}
	for rows.Next() {
		var id uuid.UUID
		var row string
		if err := rows.Scan(&id, &row); err != nil {
			t.Fatal(err)
		}
		out[id] = row
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// claimWith claims ids for attempt token and answers how many it got.
func claimWith(t *testing.T, q *dbq.Queries, token uuid.UUID, lease time.Duration, ids []uuid.UUID) int {
	t.Helper()
	rows, err := q.ClaimDeliveries(context.Background(), dbq.ClaimDeliveriesParams{
		Channel: "email", ClaimID: token, LeaseSeconds: lease.Seconds(), Ids: ids})
	if err != nil {
		t.Fatal(err)
	}
	return len(rows)
}

// waitLeaseOut waits until the database's clock has passed every lease on
// ids: expiry is decided by now() in PostgreSQL, never by a worker's clock.
func waitLeaseOut(t *testing.T, p *pgxpool.Pool, ids []uuid.UUID) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var live bool
		if err := p.QueryRow(context.Background(),
			`SELECT EXISTS (SELECT 1 FROM deliveries WHERE id = ANY($1) AND claimed_until >= now())`, ids).Scan(&live); err != nil {
			t.Fatal(err)
		}
		if !live {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("leases still live by the database's clock after 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// staleWrites makes, as attempt token, every write Deliver makes after a
// claim: it renews all of ids, marks the last one delivered, and records
// one outcome of each other kind on the others, in order (ids has 8). It
// answers the rows each changed; ReleaseClaim answers no count, so the
// caller reads its row.
func staleWrites(ctx context.Context, q *dbq.Queries, token uuid.UUID, ids []uuid.UUID) (map[string]int64, error) {
	claim := uuid.NullUUID{UUID: token, Valid: true}
	got := map[string]int64{}
	var err error
	step := func(name string, f func() (int64, error)) {
		if err != nil {
			return
		}
		got[name], err = f()
	}
	step("RenewClaims", func() (int64, error) {
		return q.RenewClaims(ctx, dbq.RenewClaimsParams{Ids: ids, ClaimID: token, LeaseSeconds: 45})
	})
	step("MarkManyDelivered", func() (int64, error) {
		return q.MarkManyDelivered(ctx, dbq.MarkManyDeliveredParams{Ids: ids[7:], ContentHashes: [][]byte{{1}},
			Relays: []string{"relay-" + token.String()}, ClaimID: token})
	})
	step("RecordAttemptFailure", func() (int64, error) {
		return q.RecordAttemptFailure(ctx, dbq.RecordAttemptFailureParams{ID: ids[0], Error: "deferred", ClaimID: token})
	})
	step("DeferAttempt", func() (int64, error) {
		_, err := q.DeferAttempt(ctx, dbq.DeferAttemptParams{ID: ids[1], Error: "deferred", WaitSeconds: 5, ClaimID: token})
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, nil
		}
		return 1, err
	})
	step("MarkUncertain", func() (int64, error) {
		return q.MarkUncertain(ctx, dbq.MarkUncertainParams{ID: ids[2], Error: "no answer", ClaimID: token})
	})
	step("MarkPermanentFailure", func() (int64, error) {
		return q.MarkPermanentFailure(ctx, dbq.MarkPermanentFailureParams{ID: ids[3], Error: "refused", ClaimID: claim})
	})
	step("MarkRejected", func() (int64, error) {
		n, err := q.MarkRejected(ctx, dbq.MarkRejectedParams{ID: ids[4], Error: "refused", ClaimID: claim,
			Address: "Rejected@Claims.test", Detail: "SMTP 550 5.1.1"})
		return int64(n), err
	})
	step("MarkSkipped", func() (int64, error) {
		return q.MarkSkipped(ctx, dbq.MarkSkippedParams{ID: ids[5], Reason: delivery.Suppressed, ClaimID: token})
	})
	step("ReleaseClaim", func() (int64, error) {
		return -1, q.ReleaseClaim(ctx, dbq.ReleaseClaimParams{ID: ids[6], ClaimID: claim})
	})
	return got, err
}

// leaseThenTakeOver has attempt a claim ids under a one-second lease, waits
// for it to run out by the database's clock, and has attempt b claim them
// under a live 45 s lease.
func leaseThenTakeOver(t *testing.T, owner *pgxpool.Pool, q *dbq.Queries, a, b uuid.UUID, ids []uuid.UUID) {
	t.Helper()
	if got := claimWith(t, q, a, time.Second, ids); got != len(ids) {
		t.Fatalf("A claimed %d of %d", got, len(ids))
	}
	// The lease is the database's now() plus the lease: no worker's clock
	// takes part.
	var fromDB bool
	if err := owner.QueryRow(context.Background(), `SELECT bool_and(claim_id = $2 AND claimed_until > now() - interval '1 second'
		AND claimed_until <= now() + interval '1 second') FROM deliveries WHERE id = ANY($1)`, ids, a).Scan(&fromDB); err != nil {
		t.Fatal(err)
	}
	if !fromDB {
		t.Fatal("A's leases are not now() plus one second by the database's clock")
	}
	waitLeaseOut(t, owner, ids)
	if got := claimWith(t, q, b, 45*time.Second, ids); got != len(ids) {
		t.Fatalf("B claimed %d of %d after A's lease ran out", got, len(ids))
	}
}

func suppressed(t *testing.T, owner *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := owner.QueryRow(context.Background(), `SELECT count(*) FROM suppressions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStaleAttemptsCannotWrite: attempt A claims a batch, its lease runs
// out by the database's clock (A is a paused process, or one cut off from
// the database), and attempt B claims the batch. Every write A can make
// after a claim (renewing, marking delivered, a temporary failure, a
// deferral, an uncertain send, a permanent failure, a refused recipient, a
// skip, releasing the claim) is refused: no row changes, not even its
// updated_at, and no address is listed. A cannot claim the batch back
// while B's lease holds. The same writes by B, the holder, all land.
func TestStaleAttemptsCannotWrite(t *testing.T) {
	ctx := context.Background()
	owner, q, ids := claimsDB(t, 8)
	a, b := uuid.New(), uuid.New()
	leaseThenTakeOver(t, owner, q, a, b, ids)

	before := snapshot(t, owner, ids)
	got, err := staleWrites(ctx, q, a, ids)
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range got {
		if n > 0 {
			t.Errorf("stale attempt A's %s changed %d rows, want 0", name, n)
		}
	}
	if got := claimWith(t, q, a, 45*time.Second, ids); got != 0 {
		t.Errorf("stale attempt A claimed %d deliveries back from B's live lease", got)
	}
	after := snapshot(t, owner, ids)
	for _, id := range ids {
		if before[id] != after[id] {
			t.Errorf("a stale write changed delivery %s:\nbefore %s\nafter  %s", id, before[id], after[id])
		}
	}
	if n := suppressed(t, owner); n != 0 {
		t.Errorf("stale attempt A's refused MarkRejected listed %d addresses", n)
	}

	// The holder's writes land, each on its row.
	got, err = staleWrites(ctx, q, b, ids)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"RenewClaims": 8, "MarkManyDelivered": 1, "RecordAttemptFailure": 1, "DeferAttempt": 1,
		"MarkUncertain": 1, "MarkPermanentFailure": 1, "MarkRejected": 1, "MarkSkipped": 1, "ReleaseClaim": -1}
	for name, n := range want {
		if got[name] != n {
			t.Errorf("holder B's %s changed %d rows, want %d", name, got[name], n)
		}
	}
	wantRows := []string{
		"pending//true/false", // RecordAttemptFailure: released for the next attempt
		"pending//true/true",  // DeferAttempt: released, waiting for its next try
		"failed/uncertain/true/false",
		"failed//true/false", // MarkPermanentFailure
		"failed//true/false", // MarkRejected
		"skipped/suppressed/true/false",
		"pending//true/false",   // ReleaseClaim
		"delivered//true/false", // MarkManyDelivered
	}
	for i, id := range ids {
		var state string
		if err := owner.QueryRow(ctx, `SELECT status || '/' || reason || '/' || (claim_id IS NULL)::text || '/' || (not_before IS NOT NULL)::text
			FROM deliveries WHERE id = $1`, id).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state != wantRows[i] {
			t.Errorf("after holder B's writes, delivery %d is %s, want %s", i, state, wantRows[i])
		}
	}
	if n := suppressed(t, owner); n != 1 {
		t.Errorf("holder B's MarkRejected listed %d addresses, want 1", n)
	}
}

// TestLiveLeaseCannotBeClaimed: while an attempt's lease is live by the
// database's clock, no other attempt claims its deliveries, and renewing
// keeps them its own past the first lease; once it lets the lease run out,
// another attempt claims them. A stale attempt's acceptance is recorded
// only when no live lease holds the row: the message went out, and a row
// that no live attempt holds has no one else to record it.
func TestLiveLeaseCannotBeClaimed(t *testing.T) {
	ctx := context.Background()
	owner, q, ids := claimsDB(t, 4)
	a, b, c := uuid.New(), uuid.New(), uuid.New()
	if got := claimWith(t, q, a, 2*time.Second, ids); got != len(ids) {
		t.Fatalf("A claimed %d of %d", got, len(ids))
	}
	if got := claimWith(t, q, b, 45*time.Second, ids); got != 0 {
		t.Fatalf("B claimed %d deliveries under A's live lease", got)
	}
	// A renews before its lease runs out: past its first two seconds, the
	// deliveries are still A's.
	time.Sleep(time.Second)
	if n, err := q.RenewClaims(ctx, dbq.RenewClaimsParams{Ids: ids, ClaimID: a, LeaseSeconds: 45}); err != nil || n != int64(len(ids)) {
		t.Fatalf("A renewed %d of %d: %v", n, len(ids), err)
	}
	time.Sleep(1500 * time.Millisecond)
	if got := claimWith(t, q, b, 45*time.Second, ids); got != 0 {
		t.Fatalf("B claimed %d deliveries under A's renewed lease", got)
	}

	// A's lease runs out (set into the past as the database sees it: A
	// stopped renewing 45 s ago); B takes over.
	exec(t, owner, `UPDATE deliveries SET claimed_until = now() - interval '1 second' WHERE id = ANY($1)`, ids)
	if got := claimWith(t, q, b, 45*time.Second, ids); got != len(ids) {
		t.Fatalf("B claimed %d of %d after A's lease ran out", got, len(ids))
	}
	if got := claimWith(t, q, c, 45*time.Second, ids); got != 0 {
		t.Fatalf("C claimed %d deliveries under B's live lease", got)
	}
	mark := func(token uuid.UUID, id uuid.UUID) int64 {
		t.Helper()
		n, err := q.MarkManyDelivered(ctx, dbq.MarkManyDeliveredParams{Ids: []uuid.UUID{id}, ContentHashes: [][]byte{{1}},
			Relays: []string{""}, ClaimID: token})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := mark(a, ids[0]); n != 0 {
		t.Errorf("stale A marked a delivery under B's live lease delivered")
	}
	// B dies: its lease runs out too, and nobody holds ids[0]. A's
	// acceptance is then recorded.
	exec(t, owner, `UPDATE deliveries SET claimed_until = now() - interval '1 second' WHERE id = ANY($1)`, ids)
	if n := mark(a, ids[0]); n != 1 {
		t.Errorf("A's acceptance of a delivery no live lease holds was not recorded")
	}
}
