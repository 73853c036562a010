package devstack

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func startTestPostgres(t *testing.T, dir string) *Postgres {
	t.Helper()
	start := time.Now()
	pg, err := StartPostgres(t.Context(), PostgresOptions{Dir: dir, Ephemeral: true, Log: testLog(t)})
	if err != nil {
		t.Fatalf("StartPostgres: %v", err)
	}
	t.Logf("postgres ready at %s in %s", pg.URL, time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() { _ = pg.Stop() })
	return pg
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connecting to %s: %v", url, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func TestPostgresDataSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	pg := startTestPostgres(t, dir)
	if !strings.HasSuffix(pg.URL, "/herald?sslmode=disable") {
		t.Errorf("URL = %q, want the herald database", pg.URL)
	}
	conn := connect(t, pg.URL)
	var db, user string
	if err := conn.QueryRow(t.Context(), "SELECT current_database(), current_user").Scan(&db, &user); err != nil {
		t.Fatal(err)
	}
	if db != "herald" || user != "herald" {
		t.Errorf("connected to database %q as %q, want herald as herald", db, user)
	}
	if _, err := conn.Exec(t.Context(), "CREATE TABLE survivors (name text); INSERT INTO survivors VALUES ('still here')"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(t.Context())
	if err := pg.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := pg.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); !os.IsNotExist(err) {
		t.Errorf("postmaster.pid left behind after Stop (stat error %v)", err)
	}

	pg = startTestPostgres(t, dir)
	var name string
	if err := connect(t, pg.URL).QueryRow(t.Context(), "SELECT name FROM survivors").Scan(&name); err != nil {
		t.Fatalf("reading table created before restart: %v", err)
	}
	if name != "still here" {
		t.Errorf("name = %q, want %q", name, "still here")
	}
	if err := pg.Stop(); err != nil {
		t.Fatalf("Stop after restart: %v", err)
	}
}

func TestPostgresDirInUse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pg := startTestPostgres(t, dir)

	_, err := StartPostgres(t.Context(), PostgresOptions{Dir: dir, Ephemeral: true})
	if err == nil {
		t.Fatal("second StartPostgres on a directory in use succeeded")
	}
	if want := "in use by another PostgreSQL server"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if want := "port " + strconv.Itoa(pg.Port); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not mention the running server's %s", err, want)
	}
}

func TestPostgresStalePIDFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pg := startTestPostgres(t, dir)
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}

	// Simulate a crash followed by PID reuse: the lock file names a live
	// process (this test binary) that is not a postmaster for dir.
	pidFile := filepath.Join(dir, "postmaster.pid")
	stale := strconv.Itoa(os.Getpid()) + "\n" + dir + "\n1700000000\n5432\n"
	if err := os.WriteFile(pidFile, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	pg = startTestPostgres(t, dir)
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
}

func TestPostgresMissingBinaries(t *testing.T) {
	t.Parallel()
	_, err := StartPostgres(t.Context(), PostgresOptions{Dir: t.TempDir(), BinDir: filepath.Join(t.TempDir(), "nope")})
	if err == nil || !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Fatalf("error = %v, want a hint to apt-get install postgresql", err)
	}
}

func TestPostgresEarlyExitShowsServerOutput(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	_, err = StartPostgres(t.Context(), PostgresOptions{Dir: t.TempDir(), Port: port, Ephemeral: true})
	if err == nil {
		t.Fatalf("StartPostgres on busy port %d succeeded", port)
	}
	for _, want := range []string{"exited during start-up", "Address already in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}
