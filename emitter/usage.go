package emitter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/usage"
)

// UsageInput is the input type whose readings the usage series records.
const UsageInput = "usage.updated"

// keepPeriods is how many billing periods of a metric the series keeps:
// the one being measured, the one it is compared with, and one more for a
// reading that arrives late for a period already closed.
const keepPeriods = 3

// usageFacts records a usage reading in its metric's series and returns
// what the series says of it (usage.Facts): the pace, the growth over the
// period before and when the limit is reached. The first evaluation of a
// reading stores its facts, and a retry returns them, so what a rule emits
// for the reading is the same however often it runs. A reading without a
// metric, period, used and limit adds nothing: the rules reading the
// facts hold.
func (a *Activities) usageFacts(ctx context.Context, ev dbq.Event, data map[string]any, timezone string) (map[string]any, error) {
	tx, err := a.Pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	q := dbq.New(tx)
	if raw, err := q.GetUsageFacts(ctx, ev.ID); err == nil {
		return catalog.DecodeData(raw)
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	metric, period := name(data["metric"]), name(data["period"])
	used, ok1 := float(data["used"])
	limit, ok2 := float(data["limit"])
	if metric == "" || period == "" || !ok1 || !ok2 {
		return nil, nil
	}
	// A backend that reports late says when it measured; otherwise the
	// reading is as of its arrival.
	at := ev.CreatedAt
	if s, ok := data["measured_at"].(string); ok {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			at = t
		}
	}
	row, err := q.RecordUsage(ctx, dbq.RecordUsageParams{TenantID: ev.TenantID, Metric: metric, Period: period, Used: used, At: at})
	if err != nil {
		return nil, fmt.Errorf("recording the reading: %w", err)
	}
	// The period as of this reading, not as of the newest one: its facts
	// are the reading's own.
	now := usage.Period{First: usage.Sample{Used: row.FirstUsed, At: row.FirstAt}, Last: usage.Sample{Used: used, At: at}}
	var before *usage.Period
	prev, err := q.PreviousUsagePeriod(ctx, dbq.PreviousUsagePeriodParams{TenantID: ev.TenantID, Metric: metric, Period: period, Began: row.FirstAt})
	switch {
	case err == nil:
		before = &usage.Period{First: usage.Sample{Used: prev.FirstUsed, At: prev.FirstAt}, Last: usage.Sample{Used: prev.LastUsed, At: prev.LastAt}}
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, fmt.Errorf("reading the period before: %w", err)
	}
	end, ok := usage.PeriodEnd(period)
	if s, set := data["period_ends_at"].(string); set {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			end, ok = t, true
		}
	}
	if !ok {
		end = time.Time{}
	}
	loc, err := time.LoadLocation(timezone)
	if err != nil || timezone == "" {
		loc = time.UTC
	}
	facts := usage.Facts(now, before, limit, end, loc)
	if err := q.PruneUsagePeriods(ctx, dbq.PruneUsagePeriodsParams{TenantID: ev.TenantID, Metric: metric, Keep: keepPeriods}); err != nil {
		return nil, fmt.Errorf("pruning the series: %w", err)
	}
	raw, err := json.Marshal(facts)
	if err != nil {
		return nil, err
	}
	if err := q.InsertUsageFacts(ctx, dbq.InsertUsageFactsParams{EventID: ev.ID, Facts: raw}); err != nil {
		return nil, fmt.Errorf("storing the facts: %w", err)
	}
	// Read back as a retry reads them, so the first run emits what a
	// retry would.
	stored, err := catalog.DecodeData(raw)
	if err != nil {
		return nil, err
	}
	return stored, tx.Commit(ctx)
}

// float reads a number of an event's data (decoded as json.Number).
func float(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	}
	return 0, false
}

// name reads a key field as the rules' keys read it: a period may be
// "2026-01" or 202601.
func name(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return ""
}
