package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"

	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/prefs"
)

// pruneBatch is how many rows one prune statement removes at most: each is
// its own short transaction, so retention never holds locks for long nor
// keeps a snapshot that stalls vacuum.
const pruneBatch = 1000

// retentionPage is how many tenants RetentionTenants answers at once.
const retentionPage = 100

// TenantRetention is a tenant's retention periods in effect, in days.
type TenantRetention struct {
	TenantID       uuid.UUID `json:"tenant_id"`
	InboxDays      int       `json:"inbox_days"`
	DeliveriesDays int       `json:"deliveries_days"`
}

// RetentionTenants answers the next page of tenants after one, in ID
// order, with their periods.
func (a *Activities) RetentionTenants(ctx context.Context, after uuid.UUID) ([]TenantRetention, error) {
	rows, err := a.q().RetentionTenants(ctx, dbq.RetentionTenantsParams{AfterID: after, PageSize: retentionPage})
	if err != nil {
		return nil, fmt.Errorf("listing tenants: %w", err)
	}
	out := make([]TenantRetention, 0, len(rows))
	for _, r := range rows {
		st, err := prefs.ParseSettings(r.Settings, "")
		if err != nil {
			return nil, fmt.Errorf("reading tenant %s's settings: %w", r.ID, err)
		}
		out = append(out, TenantRetention{TenantID: r.ID, InboxDays: st.Retention.Inbox(), DeliveriesDays: st.Retention.Deliveries()})
	}
	return out, nil
}

// PruneTenant removes what the tenant's periods no longer keep, a batch
// at a time, heartbeating between batches (a retry starts over, and finds
// only what is left). The audit trail's prefix goes only after a checkpoint
// at its end is signed and stored, and not at all while the chain is
// broken.
func (a *Activities) PruneTenant(ctx context.Context, t TenantRetention) (contract.RetentionTally, error) {
	var tally contract.RetentionTally
	now := time.Now()
	inboxBefore := now.Add(-time.Duration(t.InboxDays) * 24 * time.Hour)
	before := now.Add(-time.Duration(t.DeliveriesDays) * 24 * time.Hour)
	q := a.q()
	type step struct {
		table string
		n     *int64
		prune func(afterAt time.Time, afterID uuid.UUID) (pruned, scanned int64, lastAt time.Time, lastID uuid.UUID, err error)
	}
	steps := []step{
		{"notifications", &tally.Notifications, func(at time.Time, id uuid.UUID) (int64, int64, time.Time, uuid.UUID, error) {
			r, err := q.PruneNotifications(ctx, dbq.PruneNotificationsParams{TenantID: t.TenantID, Before: inboxBefore, AfterAt: at, AfterID: id, Batch: pruneBatch})
			return r.Pruned, r.Scanned, r.LastAt, r.LastID, err
		}},
		{"deliveries", &tally.Deliveries, func(at time.Time, id uuid.UUID) (int64, int64, time.Time, uuid.UUID, error) {
			r, err := q.PruneDeliveries(ctx, dbq.PruneDeliveriesParams{TenantID: t.TenantID, Before: before, AfterAt: at, AfterID: id, Batch: pruneBatch})
			return r.Pruned, r.Scanned, r.LastAt, r.LastID, err
		}},
		{"events", &tally.Events, func(at time.Time, id uuid.UUID) (int64, int64, time.Time, uuid.UUID, error) {
			r, err := q.PruneEvents(ctx, dbq.PruneEventsParams{TenantID: t.TenantID, Before: before, AfterAt: at, AfterID: id, Batch: pruneBatch})
			return r.Pruned, r.Scanned, r.LastAt, r.LastID, err
		}},
	}
	for _, s := range steps {
		var at time.Time
		var id uuid.UUID
		for {
			pruned, scanned, lastAt, lastID, err := s.prune(at, id)
			if err != nil {
				return tally, fmt.Errorf("pruning %s: %w", s.table, err)
			}
			*s.n += pruned
			metrics.RetentionPruned.WithLabelValues(s.table).Add(float64(pruned))
			activity.RecordHeartbeat(ctx, tally)
			if scanned < pruneBatch {
				break
			}
			at, id = lastAt, lastID
		}
	}
	// Collapse windows' heads are dead state once their window closed; a
	// day's margin leaves any window a late page still decides alone.
	for {
		n, err := q.PruneCollapseHeads(ctx, dbq.PruneCollapseHeadsParams{TenantID: t.TenantID, Before: now.Add(-24 * time.Hour), Batch: pruneBatch})
		if err != nil {
			return tally, fmt.Errorf("pruning collapse heads: %w", err)
		}
		metrics.RetentionPruned.WithLabelValues("collapse_heads").Add(float64(n))
		activity.RecordHeartbeat(ctx, tally)
		if n < pruneBatch {
			break
		}
	}
	n, err := a.pruneAudit(ctx, t.TenantID, before)
	tally.AuditRows = n
	if err != nil {
		return tally, err
	}
	tally.Tenants = 1
	return tally, nil
}

// pruneAudit removes the tenant's audit rows older than before, after
// verifying the chain. Each batch goes in one statement, after a checkpoint
// is stored at its last row: whenever a verify looks, the retained chain
// starts right after a checkpoint.
func (a *Activities) pruneAudit(ctx context.Context, tenantID uuid.UUID, before time.Time) (int64, error) {
	if a.Checkpoints == nil {
		return 0, nil
	}
	end, from, ok, err := db.AnchorAudit(ctx, a.Pool, a.Checkpoints, tenantID, before)
	if errors.Is(err, db.ErrAuditBroken) {
		// Pruning would take the evidence with it; the checkpointer logs
		// the break, and the other tables are pruned meanwhile.
		activity.GetLogger(ctx).Error("not pruning a broken audit trail", "tenant", tenantID, "error", err)
		return 0, nil
	}
	if err != nil || !ok {
		return 0, err
	}
	q := a.q()
	var total int64
	for start := from; start <= end.Seq; {
		upto := min(start+pruneBatch-1, end.Seq)
		if upto < end.Seq {
			rows, err := q.AuditRowsAfter(ctx, dbq.AuditRowsAfterParams{TenantID: tenantID, AfterSeq: upto - 1, Batch: 1})
			if err != nil {
				return total, fmt.Errorf("reading the audit trail: %w", err)
			}
			if len(rows) == 0 || rows[0].Seq != upto {
				return total, fmt.Errorf("the audit row at seq %d went while it was pruned", upto)
			}
			if _, err := db.IssueAuditCheckpoint(ctx, q, a.Checkpoints, tenantID, upto, rows[0].Hash); err != nil {
				return total, err
			}
		}
		n, err := q.PruneAudit(ctx, dbq.PruneAuditParams{TenantID: tenantID, Upto: upto, Batch: pruneBatch})
		if err != nil {
			return total, fmt.Errorf("pruning the audit trail: %w", err)
		}
		total += n
		metrics.RetentionPruned.WithLabelValues("audit_log").Add(float64(n))
		activity.RecordHeartbeat(ctx, total)
		start = upto + 1
	}
	return total, nil
}
