package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
)

// throttle holds back the page's recipients who are over the event type's
// throttle: each of their deliveries that would reach them (delivered in
// app, pending, or waiting for a digest) is skipped with reason throttled
// instead, or, with overflow digest, held (see catalog.Throttle.Overflowed):
// one waiting for a digest stays there, and the others wait, as
// throttled_held, in their hold window until the throttle's window ends.
// In-app is held too: the point is fewer interruptions, so the overflow
// shows as one item at the end of the window, not one now. A recipient counts once per event, whatever their channels, and
// only for channels the tenant does not require: required notifications
// are never throttled and do not use up the cap. It runs in the page's
// transaction, so the count commits with the rows it decided, and a page
// run again reads the decisions of the first run instead of counting again.
func throttle(ctx context.Context, q *dbq.Queries, ev *Event, asOf time.Time, rows *dbq.InsertDeliveriesParams) error {
	t := ev.Type.Throttle
	// A test notification checks the tenant's setup: throttled, it would
	// report channels as skipped that work.
	if t == nil || len(rows.UserIds) == 0 || ev.Type.Key == catalog.TestNotification {
		return nil
	}
	if asOf.IsZero() {
		asOf = time.Now() // a run from before deferral: the page's own time
	}
	window, ok := t.WindowStart(asOf)
	if !ok {
		// The API refuses such a definition; one stored anyway must not
		// hold back every notification of the type.
		eventLogger(ctx, ev).Warn("ignoring an event type's unreadable throttle", "per", t.Per)
		return nil
	}
	var users []string
	counted := map[string]bool{}
	for i, u := range rows.UserIds {
		if throttles(ev, rows, i) && !counted[u] {
			counted[u] = true
			users = append(users, u)
		}
	}
	if len(users) == 0 {
		return nil
	}
	claimed, err := q.ClaimThrottleHits(ctx, dbq.ClaimThrottleHitsParams{EventID: ev.Row.ID, UserIds: users})
	if err != nil {
		return fmt.Errorf("claiming the throttle's counts: %w", err)
	}
	if len(claimed) > 0 {
		if _, err := q.CountThrottleHits(ctx, dbq.CountThrottleHitsParams{
			TenantID: ev.Row.TenantID, EventType: ev.Type.Key, UserIds: claimed,
			WindowStart: window, MaxPerWindow: int32(t.Max), EventID: ev.Row.ID,
		}); err != nil {
			return fmt.Errorf("counting the throttle: %w", err)
		}
	}
	held, err := q.ThrottledUsers(ctx, dbq.ThrottledUsersParams{EventID: ev.Row.ID, UserIds: users})
	if err != nil {
		return fmt.Errorf("reading the throttle's decisions: %w", err)
	}
	over := make(map[string]bool, len(held))
	for _, u := range held {
		over[u] = true
	}
	for i, u := range rows.UserIds {
		if over[u] && throttles(ev, rows, i) {
			st, reason := t.Overflowed(delivery.Status(rows.Statuses[i]), delivery.Reason(rows.Reasons[i]))
			rows.Statuses[i], rows.Reasons[i] = string(st), string(reason)
			rows.NotBefores[i], rows.ContentHashes[i] = time.Time{}, nil
		}
	}
	return nil
}

// throttles reports whether the throttle applies to row i: a delivery that
// would reach its recipient on a channel the tenant does not require.
func throttles(ev *Event, rows *dbq.InsertDeliveriesParams, i int) bool {
	ch := channel.Channel(rows.Channels[i])
	if ev.Settings.Required.RequiredOn(ev.Type.Key, ev.Type.Category, ch) {
		return false
	}
	switch delivery.Status(rows.Statuses[i]) {
	case delivery.Delivered, delivery.Pending:
		return true
	case delivery.Skipped:
		return delivery.Reason(rows.Reasons[i]) == delivery.Digested
	}
	return false
}
