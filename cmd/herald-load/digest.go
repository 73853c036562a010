package main

import (
	"context"
	"fmt"
	"time"

	"github.com/heraldhq/herald/internal/app"
	"github.com/heraldhq/herald/internal/localstack"
)

// digestResult is the digest fan-out's figures.
type digestResult struct {
	first, second time.Duration // each event's fan-out, posted to finished
	armed         time.Duration // first event's post until every window's workflow ran
	windows       int
}

// digestFanOut posts two events to n users who all take a daily email
// digest: the first digests every email and arms n windows (the worker's
// armer starts their workflows after the fan-out), the second lands in the
// same windows and costs no Temporal call per user.
func digestFanOut(ctx context.Context, h *localstack.Herald, n int) (digestResult, error) {
	var r digestResult
	tenant, key, err := app.CreateTenant(ctx, h.Pool, "digest fan-out")
	if err != nil {
		return r, err
	}
	if err := localstack.SeedUsers(ctx, h.Pool, tenant.ID, n); err != nil {
		return r, err
	}
	if _, err := h.Pool.Exec(ctx, `UPDATE users SET preferences = '{"channels": {"email": {"frequency": "daily"}}}' WHERE tenant_id = $1`, tenant.ID); err != nil {
		return r, err
	}
	post := func() (time.Duration, error) {
		start := time.Now()
		res, err := call(h.API.URL, key, "POST", "/v1/events", `{"type": "project.update", "data": {"project": "Apollo", "message": "Launch moved"}}`)
		if err != nil {
			return 0, err
		}
		if err := h.Temporal.GetWorkflow(ctx, res["workflow_id"].(string), "").Get(ctx, nil); err != nil {
			return 0, err
		}
		took := time.Since(start)
		var digested int
		if err := h.Pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE event_id = $1 AND reason = 'digested'`, res["event_id"]).Scan(&digested); err != nil {
			return 0, err
		}
		if digested != n {
			return 0, fmt.Errorf("digest fan-out digested %d of %d emails", digested, n)
		}
		return took, nil
	}
	start := time.Now()
	if r.first, err = post(); err != nil {
		return r, err
	}
	for {
		if err := h.Pool.QueryRow(ctx, `SELECT count(*) FROM digest_windows WHERE tenant_id = $1 AND state = 'armed'`, tenant.ID).Scan(&r.windows); err != nil {
			return r, err
		}
		if r.windows == n {
			r.armed = time.Since(start)
			break
		}
		if time.Since(start) > 10*time.Minute {
			return r, fmt.Errorf("digest fan-out: %d of %d windows armed after 10 minutes", r.windows, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The windows' first workflow tasks (planning their close) finish
	// before the second event is measured.
	time.Sleep(5 * time.Second)
	if r.second, err = post(); err != nil {
		return r, err
	}
	return r, nil
}
