package main

import (
	"context"
	"fmt"
	"time"

	"github.com/heraldhq/herald/internal/dev/localstack"
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
	tenant, key, err := seededTenant(ctx, h, "digest fan-out", n)
	if err != nil {
		return r, err
	}
	if _, err := h.Pool.Exec(ctx, `UPDATE users SET preferences = '{"channels": {"email": {"frequency": "daily"}}}' WHERE tenant_id = $1`, tenant); err != nil {
		return r, err
	}
	post := func() (time.Duration, error) {
		id, took, err := postAndWait(ctx, h, key, projectUpdate)
		if err != nil {
			return 0, err
		}
		var digested int
		if err := h.Pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE event_id = $1 AND reason = 'digested'`, id).Scan(&digested); err != nil {
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
		if err := h.Pool.QueryRow(ctx, `SELECT count(*) FROM digest_windows WHERE tenant_id = $1 AND state = 'armed'`, tenant).Scan(&r.windows); err != nil {
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
