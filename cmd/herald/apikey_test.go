package main

import (
	"context"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/heraldhq/herald/internal/apikey"
	"github.com/heraldhq/herald/internal/dev/devstack"
)

func TestAPIKeyUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"apikey"}, "usage: herald apikey create --tenant T | herald apikey list --tenant T | herald apikey revoke ID"},
		{[]string{"apikey", "list"}, "usage: herald apikey list --tenant T"},
		{[]string{"apikey", "list", "--tenant", "acme", "extra"}, "usage: herald apikey list --tenant T"},
		{[]string{"apikey", "create", "--tenant="}, "usage: herald apikey create --tenant T"},
		{[]string{"apikey", "revoke"}, "usage: herald apikey revoke ID"},
		{[]string{"apikey", "revoke", "a", "b"}, "usage: herald apikey revoke ID"},
		{[]string{"tenant", "delete", "acme"}, "usage: herald tenant create NAME"},
	} {
		// No database: argument errors come before any connection.
		_, _, err := runHerald(tc.args, nil)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
}

var (
	tenantLine = regexp.MustCompile(`tenant acme \(([0-9a-f-]{36})\)`)
	keyLine    = regexp.MustCompile(`API key: (hk_\w+)`)
	// A column is words separated by single spaces ("LAST USED"); tabwriter
	// puts at least two spaces between columns.
	column = regexp.MustCompile(`\S+(?: \S+)*`)
)

// TestAPIKeyCommands runs the apikey commands against a real PostgreSQL, as
// an operator would: create keys, list them, revoke by ID and by key.
func TestAPIKeyCommands(t *testing.T) {
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
	env := map[string]string{"HERALD_DATABASE_URL": pg.URL}
	herald := func(args ...string) string {
		t.Helper()
		out, errOut, err := runHerald(args, env)
		if err != nil {
			t.Fatalf("herald %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		return out
	}
	herald("migrate")
	out := herald("tenant", "create", "acme")
	tenantID, first := tenantLine.FindStringSubmatch(out), keyLine.FindStringSubmatch(out)
	if tenantID == nil || first == nil {
		t.Fatalf("tenant create printed %q", out)
	}
	keys := []string{first[1]}
	for range 2 {
		m := keyLine.FindStringSubmatch(herald("apikey", "create", "--tenant", "acme"))
		if m == nil {
			t.Fatal("apikey create printed no key")
		}
		keys = append(keys, m[1])
	}

	conn, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	lastUse := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := conn.Exec(ctx, "UPDATE api_keys SET last_used_at = $1 WHERE key_hash = $2", lastUse, apikey.Hash(keys[0])); err != nil {
		t.Fatal(err)
	}

	rows := listKeys(t, herald("apikey", "list", "--tenant", "acme"), keys)
	if len(rows) != 3 {
		t.Fatalf("listed %d keys, want 3", len(rows))
	}
	for i, r := range rows {
		if r[1] != apikey.Display(keys[i]) {
			t.Errorf("row %d prefix %q, want %q (keys oldest first)", i, r[1], apikey.Display(keys[i]))
		}
		if created, err := time.Parse(time.RFC3339, r[2]); err != nil || time.Since(created).Abs() > 5*time.Minute {
			t.Errorf("row %d created %q, want about now in RFC 3339", i, r[2])
		}
		if r[4] != "-" {
			t.Errorf("row %d revoked %q before any revocation", i, r[4])
		}
	}
	if rows[0][3] != "2030-01-02T03:04:05Z" || rows[1][3] != "never" || rows[2][3] != "never" {
		t.Errorf("last used = %q, %q, %q", rows[0][3], rows[1][3], rows[2][3])
	}

	// Revoke the second by the ID the list shows, the third by the key itself.
	if out := herald("apikey", "revoke", rows[1][0]); out != "revoked "+rows[1][0]+" ("+rows[1][1]+")\n" {
		t.Errorf("revoke by ID printed %q", out)
	}
	if out := herald("apikey", "revoke", keys[2]); out != "revoked "+rows[2][0]+" ("+rows[2][1]+")\n" {
		t.Errorf("revoke by key printed %q", out)
	}
	for _, ref := range []string{rows[1][0], keys[2]} {
		_, _, err := runHerald([]string{"apikey", "revoke", ref}, env)
		if err == nil || err.Error() != "no active API key matches" {
			t.Errorf("revoking %s again: err = %v", rows[1][0], err)
		}
	}

	// By tenant ID this time.
	after := listKeys(t, herald("apikey", "list", "--tenant", tenantID[1]), keys)
	if len(after) != 3 || after[0][4] != "-" {
		t.Fatalf("after revoking: %q", after)
	}
	for _, r := range after[1:] {
		if revoked, err := time.Parse(time.RFC3339, r[4]); err != nil || time.Since(revoked).Abs() > 5*time.Minute {
			t.Errorf("key %s revoked %q, want about now in RFC 3339", r[0], r[4])
		}
	}

	if _, _, err := runHerald([]string{"apikey", "list", "--tenant", "globex"}, env); err == nil || err.Error() != `no tenant named "globex"` {
		t.Errorf("unknown tenant: err = %v", err)
	}
}

// listKeys checks apikey list's table (header, aligned columns, no secret)
// and returns its rows' cells.
func listKeys(t *testing.T, out string, keys []string) [][]string {
	t.Helper()
	for _, k := range keys {
		if strings.Contains(out, k) || strings.Contains(out, hex.EncodeToString(apikey.Hash(k))) {
			t.Fatalf("list shows a key or its hash:\n%s", out)
		}
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	header := column.FindAllStringIndex(lines[0], -1)
	var names []string
	for _, h := range header {
		names = append(names, lines[0][h[0]:h[1]])
	}
	if strings.Join(names, "|") != "ID|PREFIX|CREATED|LAST USED|REVOKED" {
		t.Fatalf("header %q", lines[0])
	}
	var rows [][]string
	for _, line := range lines[1:] {
		cells := column.FindAllStringIndex(line, -1)
		if len(cells) != len(header) {
			t.Fatalf("row %q has %d columns, want %d", line, len(cells), len(header))
		}
		var row []string
		for i, c := range cells {
			// Columns, in runes: the prefix ends in "…".
			if at := utf8.RuneCountInString(line[:c[0]]); at != header[i][0] {
				t.Errorf("%s of %q starts at column %d, header at %d", names[i], line, at, header[i][0])
			}
			row = append(row, line[c[0]:c[1]])
		}
		rows = append(rows, row)
	}
	return rows
}
