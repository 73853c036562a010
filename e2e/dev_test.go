package e2e

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/dev/localstack"
)

var banner = regexp.MustCompile(`(?s)API key:\s+(hk_\w+).*?(http://127\.0\.0\.1:\d+)/v1/event-types`)

// runDev runs the dev stack against the test's servers (so, honouring the
// HERALD_* variables, it starts none of its own) until it prints its banner.
func runDev(t *testing.T, dataDir string, vars map[string]string) (key, base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &localstack.LogBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- appDev(ctx, func(k string) string { return vars[k] }, dataDir, out,
			slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := banner.FindStringSubmatch(out.String()); m != nil {
			return m[1], m[2], func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("dev stack stopped with %v", err)
				}
			}
		}
		select {
		case err := <-done:
			t.Fatalf("dev stack exited: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("no banner: %s", out.String())
	return "", "", nil
}

func TestDevSeedsDemoTenantAndKeepsItsKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := map[string]string{
		"HERALD_DATABASE_URL": env.servers.Postgres.URL, "HERALD_TEMPORAL_ADDRESS": env.servers.Temporal.Address,
		"HERALD_SMTP_URL": env.mail.URL(), "HERALD_HTTP_ADDR": "127.0.0.1:0", "HERALD_TASK_QUEUE": "herald-e2e-dev",
		"HERALD_MAIL_FROM": "Herald <herald@e2e.test>",
	}
	key, base, stop := runDev(t, dir, vars)
	demo := &tenant{t: t, key: key, base: base}
	if u := decodeAs[userView](t, demo.must(200, demo.do("GET", "/v1/users/demo-user", nil))); u.Role != "owner" {
		t.Errorf("demo user = %+v", u)
	}
	acc := demo.postEvent(map[string]any{"type": "billing.notice", "data": map[string]any{"title": "Hi", "message": "there"}})
	demo.waitEvent(acc.EventID)
	if got := len(mailFor(acc.EventID)); got != 1 {
		t.Errorf("demo event sent %d emails through the given SMTP server, want 1", got)
	}
	stop()

	// A restart prints the same key.
	again, _, stop := runDev(t, dir, vars)
	stop()
	if again != key {
		t.Errorf("restart printed key %s, first run %s", again, key)
	}

	// HERALD_DEV_API_KEY fixes the key.
	vars["HERALD_DEV_API_KEY"] = "hk_fixeddevelopmentkey0001"
	fixed, base, stop := runDev(t, dir, vars)
	defer stop()
	if fixed != "hk_fixeddevelopmentkey0001" {
		t.Errorf("printed %s, want the fixed key", fixed)
	}
	demo = &tenant{t: t, key: fixed, base: base}
	demo.must(200, demo.do("GET", "/v1/users/demo-user", nil))
}
