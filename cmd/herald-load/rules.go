package main

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/internal/app"
	"github.com/heraldhq/herald/internal/dev/localstack"
)

// rulesPhase posts n usage.updated input events, each crossing 80 % of its
// own metric, so each fires usage_80 and emits one quota warning to the
// tenant's owner. It measures from each POST to the warning's run having
// finished (its email sent), and returns input events per second.
func rulesPhase(ctx context.Context, h *localstack.Herald, servers *localstack.Servers, n, conc int) (float64, error) {
	_, key, err := app.CreateTenant(ctx, h.Pool, "rules load")
	if err != nil {
		return 0, err
	}
	if _, err := call(h.API.URL, key, "PUT", "/v1/users/owner", `{"email": "owner@rules.test", "role": "owner"}`); err != nil {
		return 0, err
	}
	before := servers.Mail.Count()
	took, err := parallel(n, conc, func(i int) error {
		body := fmt.Sprintf(`{"type": "usage.updated", "data": {"metric": "m%d", "used": 90, "limit": 100, "period": "2026-11"}}`, i)
		res, err := call(h.API.URL, key, "POST", "/v1/events", body)
		if err != nil {
			return err
		}
		if err := awaitWorkflow(ctx, h.Temporal, res["workflow_id"].(string)); err != nil {
			return fmt.Errorf("evaluating: %w", err)
		}
		var emitted uuid.UUID
		if err := h.Pool.QueryRow(ctx, `SELECT emitted_event_id FROM rule_outcomes WHERE event_id = $1 AND rule = 'usage_80' AND fired`,
			res["event_id"]).Scan(&emitted); err != nil {
			return fmt.Errorf("the warning of input %d: %w", i, err)
		}
		return awaitWorkflow(ctx, h.Temporal, "notify/"+emitted.String())
	})
	if err != nil {
		return 0, err
	}
	if got := servers.Mail.Count() - before; got != n {
		return 0, fmt.Errorf("rules phase: %d warning emails for %d inputs", got, n)
	}
	return float64(n) / took.Seconds(), nil
}
