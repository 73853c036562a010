package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/heraldhq/herald/internal/dev/devstack"
)

func TestAuditExportUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"audit"}, "usage: herald audit verify [--tenant T] [--checkpoint JSON] | herald audit verify --archive FILE | herald audit export --tenant T --before DATE"},
		{[]string{"audit", "export", "--tenant", "acme"}, "usage: herald audit export --tenant T --before DATE"},
		{[]string{"audit", "export", "--before", "2026-01-01"}, "usage: herald audit export --tenant T --before DATE"},
		{[]string{"audit", "export", "--tenant", "acme", "--before", "last week"}, "--before: want a date (2026-01-31) or an RFC 3339 time (2026-01-31T12:00:00Z)"},
		{[]string{"audit", "verify", "--archive", "a.jsonl", "--tenant", "acme"}, "usage: herald audit verify [--tenant T] [--checkpoint JSON] | herald audit verify --archive FILE"},
		{[]string{"audit", "verify", "--archive", "a.jsonl"}, "HERALD_SIGNING_KEY is not set"},
	} {
		// No database: argument errors come before any connection.
		_, _, err := runHerald(tc.args, nil)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestAuditExportAndVerifyArchive exports a tenant's old audit rows from a
// real PostgreSQL, as an operator would, and verifies the archive with the
// signing key alone (no database), then edited.
func TestAuditExportAndVerifyArchive(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	t.Parallel()
	ctx := context.Background()
	pg, err := devstack.StartPostgres(ctx, devstack.PostgresOptions{Dir: t.TempDir(), Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	key := "0123456789abcdef0123456789abcdef-audit-export-test"
	env := map[string]string{"HERALD_DATABASE_URL": pg.URL, "HERALD_SIGNING_KEY": key}
	herald := func(args ...string) (string, string) {
		t.Helper()
		out, errOut, err := runHerald(args, env)
		if err != nil {
			t.Fatalf("herald %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		return out, errOut
	}
	herald("migrate")
	out, _ := herald("tenant", "create", "acme")
	tenantID := tenantLine.FindStringSubmatch(out)
	if tenantID == nil {
		t.Fatalf("tenant create printed %q", out)
	}
	conn, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Three deliveries of January 2026 and one of March: three audit rows
	// before February.
	if _, err := conn.Exec(ctx, `
		INSERT INTO events (id, tenant_id, type, idempotency_key, request_hash, recipients, workflow_id, status, created_at)
		VALUES ('00000000-0000-0000-0000-0000000000e1', $1, 'system.notice', 'k1', '\x00', '{}', 'notify/e1', 'delivered', '2026-01-05');
		`, tenantID[1]); err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct{ user, at string }{{"u1", "2026-01-05"}, {"u2", "2026-01-06"}, {"u3", "2026-01-07"}, {"u4", "2026-03-01"}} {
		if _, err := conn.Exec(ctx, `INSERT INTO deliveries (tenant_id, event_id, user_id, channel, status, created_at, updated_at)
			VALUES ($1, '00000000-0000-0000-0000-0000000000e1', $2, 'email', 'delivered', $3, $3)`, tenantID[1], d.user, d.at); err != nil {
			t.Fatal(err)
		}
	}

	archive, _ := herald("audit", "export", "--tenant", "acme", "--before", "2026-02-01")
	if !strings.Contains(archive, `"first_seq":1,"last_seq":3,"rows":3`) || strings.Count(archive, "\n") != 4 {
		t.Fatalf("export wrote %d lines, want a header and 3 rows:\n%s", strings.Count(archive, "\n"), archive)
	}
	path := filepath.Join(t.TempDir(), "acme-2026-01.jsonl")
	if err := os.WriteFile(path, []byte(archive), 0o600); err != nil {
		t.Fatal(err)
	}
	// Offline: the database is not named.
	offline := map[string]string{"HERALD_SIGNING_KEY": key}
	out, _, err = runHerald([]string{"audit", "verify", "--archive", path}, offline)
	if err != nil || !strings.Contains(out, "ok, 3 rows (seq 1 to 3") {
		t.Errorf("verify --archive: %v, %q", err, out)
	}

	edited := strings.Replace(archive, `"recipient":"u2"`, `"recipient":"mallory"`, 1)
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = runHerald([]string{"audit", "verify", "--archive", path}, offline)
	if err == nil || !strings.Contains(out, "BROKEN") || !strings.Contains(out, "seq 2") || !strings.Contains(out, "changed") {
		t.Errorf("verify --archive of an edited row: %v, %q, want seq 2 reported changed", err, out)
	}
	other := map[string]string{"HERALD_SIGNING_KEY": key + "-rotated"}
	if err := os.WriteFile(path, []byte(archive), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err = runHerald([]string{"audit", "verify", "--archive", path}, other); err == nil || !strings.Contains(err.Error(), "another key") {
		t.Errorf("verify --archive with another key: %v", err)
	}
	if _, _, err := runHerald([]string{"audit", "export", "--tenant", "acme", "--before", "2026-02-01T00:00:00Z"}, env); err != nil {
		t.Errorf("a second export of the same rows: %v", err)
	}
	if _, _, err := runHerald([]string{"audit", "export", "--tenant", "acme", "--before", "2025-12-01"}, env); err == nil || !strings.Contains(err.Error(), "no audit rows before") {
		t.Errorf("export of nothing: %v", err)
	}

	// A chain edited in the database is not exported (nor pruned): the
	// archive would carry a checkpoint over the edit.
	if _, err := conn.Exec(ctx, `ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
		UPDATE audit_log SET recipient = 'mallory' WHERE seq = 2;
		ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`); err != nil {
		t.Fatal(err)
	}
	if out, _, err := runHerald([]string{"audit", "export", "--tenant", "acme", "--before", "2026-02-01"}, env); err == nil || !strings.Contains(err.Error(), "broken at seq 2") || out != "" {
		t.Errorf("export of an edited chain: %v, wrote %q", err, out)
	}
}
