package main

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/heraldhq/herald/internal/dev/localstack"
)

// quietZones spread the quiet fan-out's users over 24 whole-hour zones, so at
// any instant some are in their 22:00-07:00 quiet hours and the rest are not.
var quietZones = func() []string {
	var z []string
	for off := -12; off <= 11; off++ {
		// Etc/GMT signs are inverted: Etc/GMT-3 is UTC+3.
		switch {
		case off < 0:
			z = append(z, fmt.Sprintf("Etc/GMT+%d", -off))
		case off == 0:
			z = append(z, "Etc/GMT")
		default:
			z = append(z, fmt.Sprintf("Etc/GMT-%d", off))
		}
	}
	return z
}()

// quietFanOut posts one event to n users over 24 zones, each with quiet
// hours 22:00-07:00 in their zone, and measures until every delivery is
// settled or deferred: in-app stored for all, email sent to those awake and
// recorded as waiting (pending with not_before) for the rest. It then reads
// how many distinct release times wait (the timers the event will ever need:
// one at a time, each on the next of them) and the timers started so far,
// and ends the wait.
func quietFanOut(ctx context.Context, h *localstack.Herald, servers *localstack.Servers, n int) (took time.Duration, deferred, releases, timers int, err error) {
	tenant, key, err := seededTenant(ctx, h, "quiet fan-out", n)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	if _, err := h.Pool.Exec(ctx, `UPDATE users SET timezone = ($2::text[])[1 + abs(hashtext(id)) % 24],
		preferences = '{"quiet_hours": {"enabled": true, "start": "22:00", "end": "07:00"}}'
		WHERE tenant_id = $1`, tenant, quietZones); err != nil {
		return 0, 0, 0, 0, err
	}
	mailBefore := servers.Mail.Count()
	start := time.Now()
	res, err := call(h.API.URL, key, "POST", "/v1/events", projectUpdate)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	eventID, workflowID := res["event_id"].(string), res["workflow_id"].(string)
	for {
		var planned, waiting, sent int
		err := h.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status <> 'pending' OR not_before IS NOT NULL),
			count(*) FILTER (WHERE status = 'pending' AND not_before IS NOT NULL),
			count(*) FILTER (WHERE channel = 'email' AND status = 'delivered')
			FROM deliveries WHERE event_id = $1`, eventID).Scan(&planned, &waiting, &sent)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		if planned == 2*n && servers.Mail.Count()-mailBefore >= sent && sent+waiting == n {
			took, deferred = time.Since(start), waiting
			break
		}
		if time.Since(start) > 10*time.Minute {
			return 0, 0, 0, 0, fmt.Errorf("quiet fan-out: %d of %d deliveries planned after 10 minutes", planned, 2*n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := h.Pool.QueryRow(ctx, `SELECT count(DISTINCT not_before) FROM deliveries
		WHERE event_id = $1 AND status = 'pending' AND not_before IS NOT NULL`, eventID).Scan(&releases); err != nil {
		return 0, 0, 0, 0, err
	}
	// The run arms its timer once every page is planned; count once it has.
	for wait := time.Now(); timers == 0 && time.Since(wait) < 30*time.Second; time.Sleep(100 * time.Millisecond) {
		iter := h.Temporal.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				return 0, 0, 0, 0, err
			}
			if ev.GetEventType() == enumspb.EVENT_TYPE_TIMER_STARTED {
				timers++
			}
		}
	}
	// The waiting run would otherwise outlive the measurement by hours.
	if err := h.Temporal.TerminateWorkflow(ctx, workflowID, "", "load measurement done"); err != nil {
		return 0, 0, 0, 0, err
	}
	return took, deferred, releases, timers, nil
}
