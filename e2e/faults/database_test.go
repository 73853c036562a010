package faults

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/heraldhq/herald/internal/dev/localstack"
)

// fanOut is the audience of the database cases: three pages and a bit.
const fanOut = 1500

// startFanOut posts an event to fanOut subscribers through a relay that
// takes relayDelay per message (on each of a worker's 8 connections), and
// waits until some of it arrived.
func startFanOut(t *testing.T, s *stack, relayDelay time.Duration) (*tenant, accepted) {
	t.Helper()
	s.servers.Mail.SetDelay(relayDelay)
	tn := s.tenant(t)
	tn.seed(fanOut)
	acc := tn.post(projectUpdate("Mid-fan-out"))
	waitFor(t, time.Minute, "the fan-out to be under way", func() bool { return len(copies(s.servers.Mail, acc.EventID)) >= 200 })
	return tn, acc
}

// finished waits, at most within after the database came back, for every
// email and inbox item of the fan-out, and checks each arrived once.
func finished(t *testing.T, tn *tenant, acc accepted, back time.Time, within time.Duration) {
	t.Helper()
	mail := tn.s.servers.Mail
	waitFor(t, time.Until(back.Add(within)), "every email after the database came back", func() bool {
		return len(copies(mail, acc.EventID)) >= fanOut
	})
	t.Logf("every email arrived %v after the database came back", time.Since(back).Round(100*time.Millisecond))
	waitFor(t, 30*time.Second, "the event to be delivered", func() bool { return tn.eventStatus(acc.EventID) == "delivered" })
	onceEach(t, copies(mail, acc.EventID), fanOut)
	if n := tn.count(`SELECT count(*) FROM notifications WHERE event_id = $1`, acc.EventID); n != fanOut {
		t.Errorf("%d inbox items, want %d", n, fanOut)
	}
}

// A backend killed with SIGKILL makes the postmaster end every connection
// and recover: Herald's connections all break at once, mid-fan-out.
func TestDatabaseBackendKilled(t *testing.T) {
	t.Parallel()
	s := ownStack(t, localstack.HeraldOptions{})
	tn, acc := startFanOut(t, s, 15*time.Millisecond)
	killBackend(t, s.servers.Postgres.URL)
	back := waitDatabase(t, s.servers.Postgres.URL)
	finished(t, tn, acc, back, time.Minute)
}

// PostgreSQL stopped for 90 s mid-fan-out, then started again. The relay is
// slow enough (about 47 s for the lot) that sending outlasts the claims'
// leases: messages sent meanwhile are recorded once the database is back,
// and the rest are claimed again and sent then.
func TestDatabaseDownFor90Seconds(t *testing.T) {
	t.Parallel()
	s := ownStack(t, localstack.HeraldOptions{})
	tn, acc := startFanOut(t, s, 250*time.Millisecond)
	pg := s.servers.Postgres
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped := len(copies(s.servers.Mail, acc.EventID))
	time.Sleep(90 * time.Second)
	if err := pg.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	t.Logf("%d of %d emails had arrived when the database stopped, %d when it was back", stopped, fanOut,
		len(copies(s.servers.Mail, acc.EventID)))
	finished(t, tn, acc, back, time.Minute)
}

// killBackend SIGKILLs one of Herald's database connections.
func killBackend(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	err = conn.QueryRow(ctx, `SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
		ORDER BY state = 'active' DESC, pid LIMIT 1`).Scan(&pid)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

// waitDatabase waits until the database answers again and returns when.
func waitDatabase(t *testing.T, url string) time.Time {
	t.Helper()
	ctx := context.Background()
	// The postmaster notices the death and restarts every backend; give it
	// the moment to begin, or the first probe may still get through.
	time.Sleep(200 * time.Millisecond)
	waitFor(t, time.Minute, "the database to recover", func() bool {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return false
		}
		defer conn.Close(ctx)
		return conn.Ping(ctx) == nil
	})
	return time.Now()
}
