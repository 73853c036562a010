package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/heraldhq/herald/internal/app"
	"github.com/heraldhq/herald/internal/dev/localstack"
)

// workerScaling measures events/s through the API with one `herald worker`
// process and then with two, on a task queue of their own, so the scaling
// factor of adding a worker process is on record.
func workerScaling(ctx context.Context, h *localstack.Herald, servers *localstack.Servers, n, conc int, logger *slog.Logger) (one, two float64, err error) {
	dir, err := os.MkdirTemp("", "herald-load-workers")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "herald")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/herald").CombinedOutput(); err != nil {
		return 0, 0, fmt.Errorf("building herald: %v\n%s", err, out)
	}
	const queue = "herald-load-processes"
	// An API of this process that starts events on the processes' queue.
	cfg := h.Config
	cfg.TaskQueue = queue
	handler, err := app.NewHandler(cfg, h.Pool, h.Temporal, logger)
	if err != nil {
		return 0, 0, err
	}
	api := httptest.NewServer(handler)
	defer func() { app.CloseStreams(handler); api.Close() }()

	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
			_ = p.Wait()
		}
	}()
	start := func() error {
		p := exec.CommandContext(ctx, bin, "worker")
		p.Env = []string{"PATH=" + os.Getenv("PATH"), "HERALD_DATABASE_URL=" + servers.ServiceURL,
			"HERALD_TEMPORAL_ADDRESS=" + servers.Temporal.Address, "HERALD_TASK_QUEUE=" + queue,
			"HERALD_SMTP_URL=" + servers.Mail.URL(), "HERALD_SIGNING_KEY=" + localstack.TestSigningKey,
			"HERALD_LOG_FORMAT=text"}
		var out strings.Builder
		p.Stdout, p.Stderr = &out, &out
		if err := p.Start(); err != nil {
			return err
		}
		procs = append(procs, p)
		for t0 := time.Now(); !strings.Contains(out.String(), "worker polling"); time.Sleep(50 * time.Millisecond) {
			if time.Since(t0) > 30*time.Second {
				return fmt.Errorf("worker process did not start:\n%s", out.String())
			}
		}
		return nil
	}
	_, key, err := app.CreateTenant(ctx, h.Pool, "worker scaling")
	if err != nil {
		return 0, 0, err
	}
	for i := range 100 {
		if _, err := call(api.URL, key, "PUT", fmt.Sprintf("/v1/users/w-%03d", i), fmt.Sprintf(`{"email": "w-%03d@load.test"}`, i)); err != nil {
			return 0, 0, err
		}
	}
	measure := func(label string, n int) (float64, error) {
		d, err := parallel(n, conc, func(i int) error {
			body := fmt.Sprintf(`{"type": "issue.assigned", "recipients": {"users": ["w-%03d"]}, "data": {"issue_key": "%s-%d"}}`, i%100, label, i)
			res, err := call(api.URL, key, "POST", "/v1/events", body)
			if err != nil {
				return err
			}
			return awaitWorkflow(ctx, h.Temporal, res["workflow_id"].(string))
		})
		return float64(n) / d.Seconds(), err
	}
	if err := start(); err != nil {
		return 0, 0, err
	}
	if _, err := measure("warm", 50); err != nil {
		return 0, 0, err
	}
	if one, err = measure("one", n); err != nil {
		return 0, 0, err
	}
	if err := start(); err != nil {
		return 0, 0, err
	}
	two, err = measure("two", n)
	return one, two, err
}
