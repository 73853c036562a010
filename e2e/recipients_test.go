package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/audience"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/internal/dev/localstack"
)

// insertEvent stores an event to recipients without starting its workflow,
// so a test can drive its pages itself.
func insertEvent(t *testing.T, tenantID uuid.UUID, recipients audience.Spec) uuid.UUID {
	t.Helper()
	spec, err := json.Marshal(recipients)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	_, err = env.pool.Exec(context.Background(), `INSERT INTO events
		(id, tenant_id, type, idempotency_key, request_hash, recipients, data, workflow_id)
		VALUES ($1, $2, 'project.update', $3, '\x00', $4, '{"project": "Apollo", "message": "m"}', 'test/' || $3)`,
		id, tenantID, id.String(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestRecipientPagesCoverTheAudience walks an event's recipients a few at a
// time, for each kind of audience, and checks every recipient is reached once:
// none skipped at a page boundary, none repeated (a repeat would leave a page
// short of distinct users and add a page), no page cut short before the end.
func TestRecipientPagesCoverTheAudience(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	const n = 60
	_, err := env.pool.Exec(ctx, `INSERT INTO users (tenant_id, id, email, role)
		SELECT $1, 'u-' || lpad(g::text, 2, '0'), 'u' || g || '@example.com',
		       CASE WHEN g % 7 = 0 THEN 'executive' WHEN g % 5 = 0 THEN 'owner' ELSE 'member' END
		FROM generate_series(0, $2::int - 1) AS g`, tn.id, n)
	if err != nil {
		t.Fatal(err)
	}
	id := func(i int) string { return fmt.Sprintf("u-%02d", i) }
	ids := func(keep func(i int) bool) []string {
		var out []string
		for i := range n {
			if keep(i) {
				out = append(out, id(i))
			}
		}
		return out
	}
	owner := func(i int) bool { return i%7 != 0 && i%5 == 0 }
	executive := func(i int) bool { return i%7 == 0 }
	named := []string{id(59), id(3), id(3), id(10), id(14), "ghost", id(0)}

	cases := []struct {
		name string
		spec audience.Spec
		want []string
	}{
		{"everyone", audience.Spec{Subscribers: true}, ids(func(int) bool { return true })},
		{"everyone, also named", audience.Spec{Subscribers: true, Users: named}, ids(func(int) bool { return true })},
		{"one role", audience.Spec{Roles: []audience.Role{"owner"}}, ids(owner)},
		{"a role twice", audience.Spec{Roles: []audience.Role{"executive", "executive"}}, ids(executive)},
		{"two roles", audience.Spec{Roles: []audience.Role{"owner", "executive"}}, ids(func(i int) bool { return owner(i) || executive(i) })},
		{"named, with a repeat and a missing user", audience.Spec{Users: named},
			[]string{id(0), id(3), id(10), id(14), id(59)}},
		{"named and a role they overlap", audience.Spec{Users: named, Roles: []audience.Role{"executive"}},
			append(ids(executive), id(3), id(10), id(59))},
		{"nobody", audience.Spec{}, nil},
	}
	acts := activities.New(env.pool)
	const limit = 4
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eventID := insertEvent(t, tn.id, tc.spec)
			pages, after := 0, ""
			for {
				pages++
				page, err := acts.PreparePage(ctx, activities.PageInput{TenantID: tn.id, EventID: eventID, After: after, Limit: limit})
				if err != nil {
					t.Fatal(err)
				}
				if page.Next == "" {
					break
				}
				if page.Next <= after {
					t.Fatalf("page %d: cursor went from %q to %q", pages, after, page.Next)
				}
				after = page.Next
			}
			var got []string
			rows, err := env.pool.Query(ctx, `SELECT DISTINCT user_id FROM deliveries WHERE event_id = $1 ORDER BY user_id`, eventID)
			if err != nil {
				t.Fatal(err)
			}
			if got, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				t.Fatal(err)
			}
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("reached %v\nwant    %v", got, want)
			}
			if wantPages := len(want)/limit + 1; pages != wantPages {
				t.Errorf("%d pages for %d recipients, want %d", pages, len(want), wantPages)
			}
		})
	}
}

// TestRecipientPagesReadOnlyAPage checks what one page reads from the users
// table in a 20,000-user tenant, with the plans PostgreSQL makes for the
// values given (custom) and the one it may switch to for a prepared statement
// after five runs (generic). The single query this replaced read the whole
// tenant, under a generic plan, to find one named user.
func TestRecipientPagesReadOnlyAPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	const n, limit = 20000, 500
	if err := localstack.SeedUsers(ctx, env.owner, tn.id, n); err != nil {
		t.Fatal(err)
	}
	// One owner in a hundred, one executive in a thousand.
	if _, err := env.pool.Exec(ctx, `UPDATE users SET role = CASE WHEN right(id, 3) = '000' THEN 'executive' ELSE 'owner' END
		WHERE tenant_id = $1 AND right(id, 2) = '00'`, tn.id); err != nil {
		t.Fatal(err)
	}
	// Statistics as autovacuum leaves them once it has seen the table. On a
	// table never analyzed the planner guesses a dozen rows per tenant and
	// may sort the rest of the tenant for each everyone-page, until the first
	// autovacuum analyze (a minute at most after a new table fills).
	if _, err := env.owner.Exec(ctx, "ANALYZE users"); err != nil {
		t.Fatal(err)
	}
	var thousands []string
	for i := 10; i <= n; i += 10 {
		thousands = append(thousands, fmt.Sprintf("user-%06d", i))
	}
	mid := "user-010000"
	pages := []struct {
		name     string
		maxReads int64
		page     func(q *dbq.Queries) ([]dbq.User, error)
		want     int
	}{
		{"everyone", limit, func(q *dbq.Queries) ([]dbq.User, error) {
			return q.TenantRecipientsPage(ctx, dbq.TenantRecipientsPageParams{TenantID: tn.id, AfterID: mid, PageSize: limit})
		}, limit},
		{"two sparse roles", 200, func(q *dbq.Queries) ([]dbq.User, error) {
			return q.RoleRecipientsPage(ctx, dbq.RoleRecipientsPageParams{TenantID: tn.id, AfterID: "", Roles: []string{"executive", "owner"}, PageSize: limit})
		}, 200},
		{"a dense role", limit, func(q *dbq.Queries) ([]dbq.User, error) {
			return q.RoleRecipientsPage(ctx, dbq.RoleRecipientsPageParams{TenantID: tn.id, AfterID: mid, Roles: []string{"member"}, PageSize: limit})
		}, limit},
		{"one named user", 1, func(q *dbq.Queries) ([]dbq.User, error) {
			return q.NamedRecipientsPage(ctx, dbq.NamedRecipientsPageParams{TenantID: tn.id, AfterID: "", UserIds: []string{"user-019999"}, Roles: []string{}, PageSize: limit})
		}, 1},
		{"2,000 named users", limit, func(q *dbq.Queries) ([]dbq.User, error) {
			return q.NamedRecipientsPage(ctx, dbq.NamedRecipientsPageParams{TenantID: tn.id, AfterID: mid, UserIds: thousands, Roles: []string{}, PageSize: limit})
		}, limit},
		{"one named user and a sparse role", 1 + 20, func(q *dbq.Queries) ([]dbq.User, error) {
			return q.NamedRecipientsPage(ctx, dbq.NamedRecipientsPageParams{TenantID: tn.id, AfterID: "", UserIds: []string{"user-019999"}, Roles: []string{"executive"}, PageSize: limit})
		}, 21},
	}
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		for _, p := range pages {
			t.Run(mode+"/"+p.name, func(t *testing.T) {
				tx, err := env.pool.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = tx.Rollback(ctx) }()
				if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = "+mode); err != nil {
					t.Fatal(err)
				}
				// This connection's reads not yet flushed to the shared
				// statistics, whatever other tests do meanwhile. They are
				// flushed only between transactions, so the difference is
				// what the page read.
				readsSoFar := func() int64 {
					var n int64
					if err := tx.QueryRow(ctx, `SELECT seq_tup_read + idx_tup_fetch FROM pg_stat_xact_user_tables
						WHERE relid = 'users'::regclass`).Scan(&n); err != nil {
						t.Fatal(err)
					}
					return n
				}
				before := readsSoFar()
				users, err := p.page(dbq.New(tx))
				if err != nil {
					t.Fatal(err)
				}
				if len(users) != p.want {
					t.Errorf("%d users, want %d", len(users), p.want)
				}
				reads := readsSoFar() - before
				if reads > p.maxReads {
					t.Errorf("read %d users for a page of %d, want at most %d", reads, len(users), p.maxReads)
				}
			})
		}
	}
}
