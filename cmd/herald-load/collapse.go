package main

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/internal/app"
	"github.com/heraldhq/herald/internal/dev/localstack"
)

// twoEvents is a phase of two events to the same n users: each one's
// fan-out, posted to finished.
type twoEvents struct{ first, second time.Duration }

// throttleFanOut posts two events of a type throttled to one per hour to n
// users: the first is admitted for everyone (n emails), the second is
// throttled for everyone (n skipped rows, no email). Both pay the
// throttle's count in the page step.
func throttleFanOut(ctx context.Context, h *localstack.Herald, servers *localstack.Servers, n int) (twoEvents, error) {
	var r twoEvents
	_, key, err := seededTenant(ctx, h, "throttle fan-out", n)
	if err != nil {
		return r, err
	}
	if _, err := call(h.API.URL, key, "PUT", "/v1/event-types/project.update", `{"throttle": {"max": 1, "per": "1h"}}`); err != nil {
		return r, err
	}
	for i, want := range []struct {
		took            *time.Duration
		emails, skipped int
	}{{&r.first, n, 0}, {&r.second, 0, n}} {
		before := servers.Mail.Count()
		id, took, err := postAndWait(ctx, h, key, projectUpdate)
		if err != nil {
			return r, err
		}
		var throttled int
		if err := h.Pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE event_id = $1 AND channel = 'email' AND reason = 'throttled'`, id).Scan(&throttled); err != nil {
			return r, err
		}
		if got := servers.Mail.Count() - before; got != want.emails || throttled != want.skipped {
			return r, fmt.Errorf("throttle fan-out event %d: %d emails and %d throttled, want %d and %d", i+1, got, throttled, want.emails, want.skipped)
		}
		*want.took = took
	}
	return r, nil
}

// collapseFanOut posts two events with the same group key to n users: the
// first opens n collapse windows (its in-app items go out, its emails wait
// for the window), the second joins them at the cost of a row each. The
// windows close after the load ends, so this runs last.
func collapseFanOut(ctx context.Context, h *localstack.Herald, n int) (twoEvents, error) {
	var r twoEvents
	_, key, err := seededTenant(ctx, h, "collapse fan-out", n)
	if err != nil {
		return r, err
	}
	body := `{"type": "project.update", "group_key": "project:apollo", "group_window": "1h", "data": {"project": "Apollo", "message": "Launch moved"}}`
	for i, took := range []*time.Duration{&r.first, &r.second} {
		id, d, err := postAndWait(ctx, h, key, body)
		if err != nil {
			return r, err
		}
		var collapsed int
		if err := h.Pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE event_id = $1 AND channel = 'email' AND reason = 'collapsed'`, id).Scan(&collapsed); err != nil {
			return r, err
		}
		if collapsed != n {
			return r, fmt.Errorf("collapse fan-out event %d: %d of %d emails collapsed", i+1, collapsed, n)
		}
		*took = d
	}
	return r, nil
}

// seededTenant is a fresh tenant named name with n users, and its API key.
func seededTenant(ctx context.Context, h *localstack.Herald, name string, n int) (uuid.UUID, string, error) {
	tenant, key, err := app.CreateTenant(ctx, h.Pool, name)
	if err != nil {
		return uuid.Nil, "", err
	}
	return tenant.ID, key, localstack.SeedUsers(ctx, h.Owner, tenant.ID, n)
}

// projectUpdate is the event every fan-out posts.
const projectUpdate = `{"type": "project.update", "data": {"project": "Apollo", "message": "Launch moved"}}`

// postAndWait posts an event and waits for its workflow to finish.
func postAndWait(ctx context.Context, h *localstack.Herald, key, body string) (any, time.Duration, error) {
	start := time.Now()
	res, err := call(h.API.URL, key, "POST", "/v1/events", body)
	if err != nil {
		return nil, 0, err
	}
	if err := awaitWorkflow(ctx, h.Temporal, res["workflow_id"].(string)); err != nil {
		return nil, 0, err
	}
	return res["event_id"], time.Since(start), nil
}
