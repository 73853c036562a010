package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestServiceRoleCannotRewriteTheAuditTrail: the role the service runs as
// (in this suite and in production) owns nothing: it cannot lift the
// append-only guard, change the audit tables, stop outcomes from being
// audited, or give itself more.
func TestServiceRoleCannotRewriteTheAuditTrail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	tn.putUser("r1", "r1@example.com")
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"r1"}}, "data": map[string]any{"issue_key": "ROLE-1"}})
	tn.waitSettled(acc.EventID, 30*time.Second)
	cp := tn.verifyWith(nil).Checkpoint
	if len(cp) == 0 {
		t.Fatal("verify answered no checkpoint")
	}

	var role string
	var super bool
	var owns int
	if err := env.pool.QueryRow(ctx, `SELECT current_user, rolsuper, (SELECT count(*) FROM pg_class WHERE relowner = r.oid)
		FROM pg_roles r WHERE rolname = current_user`).Scan(&role, &super, &owns); err != nil {
		t.Fatal(err)
	}
	if role != "herald_app" || super || owns != 0 {
		t.Fatalf("the service connects as %s (superuser %v, owning %d relations), want herald_app owning nothing", role, super, owns)
	}

	for _, stmt := range []string{
		`DROP TRIGGER audit_log_append_only ON audit_log`,
		`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`,
		`ALTER TABLE audit_log ADD COLUMN note text`,
		`DROP TABLE audit_log`,
		`UPDATE audit_log SET status = 'failed' WHERE tenant_id = $1`,
		`DELETE FROM audit_log WHERE tenant_id = $1`,
		`TRUNCATE audit_log`,
		`INSERT INTO audit_log SELECT * FROM audit_log WHERE tenant_id = $1 LIMIT 1`,
		`SELECT setval('audit_log_id_seq', 1)`,
		// A month of the trail, other than through audit_drop_partition.
		`DELETE FROM audit_log_before WHERE tenant_id = $1`,
		`TRUNCATE audit_log_before`,
		`DROP TABLE audit_log_before`,
		`ALTER TABLE audit_log DETACH PARTITION audit_log_before`,
		`UPDATE audit_heads SET seq = 1 WHERE tenant_id = $1`,
		`DELETE FROM audit_heads WHERE tenant_id = $1`,
		`INSERT INTO audit_heads SELECT gen_random_uuid(), seq, hash FROM audit_heads WHERE tenant_id = $1`,
		`UPDATE audit_checkpoints SET seq = seq WHERE tenant_id = $1`,
		`DELETE FROM audit_checkpoints WHERE tenant_id = $1`,
		`TRUNCATE audit_checkpoints`,
		// Appending by hand, or stopping outcomes from being appended.
		`SELECT audit_append(ARRAY(SELECT d FROM deliveries d WHERE d.tenant_id = $1))`,
		`ALTER TABLE deliveries DISABLE TRIGGER deliveries_audit_updates`,
		`DROP TRIGGER deliveries_audit_inserts ON deliveries`,
		`SET session_replication_role = replica`,
		`ALTER FUNCTION audit_delivery_updates() SECURITY INVOKER`,
		`CREATE OR REPLACE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`,
		// Nothing else is its to alter, drop or make.
		`DROP TABLE deliveries`,
		`TRUNCATE deliveries`,
		`ALTER TABLE users ADD COLUMN note text`,
		`CREATE TABLE e2e_mine (x int)`,
		`UPDATE herald_schema_version SET version = 0`,
		`ALTER ROLE herald_app SUPERUSER`,
		`GRANT herald_service TO herald_app WITH ADMIN OPTION`,
	} {
		var args []any
		if strings.Contains(stmt, "$1") {
			args = append(args, tn.id)
		}
		_, err := env.pool.Exec(ctx, stmt, args...)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("as the service role, %s: %v, want insufficient_privilege (42501)", stmt, err)
		}
	}
	if v := tn.verifyWith(cp); !v.OK || v.Rows != 2 {
		t.Errorf("after the attempts: %+v, want the chain as it was", v)
	}
}
