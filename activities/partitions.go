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
	"github.com/heraldhq/herald/internal/metrics"
)

// minAuditAge is the youngest an audit row may be when it is pruned,
// whatever the periods say; the database refuses younger (migration 037).
const minAuditAge = 30 * 24 * time.Hour

// MaintainPartitions makes the audit trail's partitions for the months
// ahead, then drops its oldest months while every tenant's deliveries
// period has passed all of them. A month goes whole or not at all: only
// once each tenant's rows in it are verified and a checkpoint is stored at
// their end, so a verify still starts right after a checkpoint. What it
// leaves (a month not yet past every period, a broken chain) the
// per-tenant pruning deletes row by row as before.
func (a *Activities) MaintainPartitions(ctx context.Context) (contract.RetentionTally, error) {
	var tally contract.RetentionTally
	q := a.q()
	if _, err := q.EnsurePartitions(ctx, db.PartitionMonthsAhead); err != nil {
		return tally, fmt.Errorf("making the partitions ahead: %w", err)
	}
	end, err := q.NewestAuditPartitionEnd(ctx)
	if err != nil {
		return tally, fmt.Errorf("finding the newest audit partition: %w", err)
	}
	metrics.AuditPartitionsEnd.Set(float64(end.Unix()))
	if a.Checkpoints == nil {
		return tally, nil
	}
	days, err := a.longestDeliveriesPeriod(ctx)
	if err != nil {
		return tally, err
	}
	now := time.Now()
	horizon := now.Add(-time.Duration(days) * 24 * time.Hour)
	if floor := now.Add(-minAuditAge); floor.Before(horizon) {
		horizon = floor
	}
	log := activity.GetLogger(ctx)
	for {
		upper, err := q.OldestAuditPartitionEnd(ctx)
		if err != nil {
			return tally, fmt.Errorf("finding the oldest audit partition: %w", err)
		}
		if upper.After(horizon) {
			return tally, nil
		}
		ready, err := a.anchorPartition(ctx, upper)
		if err != nil || !ready {
			return tally, err
		}
		n, err := q.DropAuditPartition(ctx, upper)
		if err != nil {
			return tally, fmt.Errorf("dropping the audit partition ending at %s: %w", upper.Format(time.RFC3339), err)
		}
		log.Info("dropped an audit partition", "until", upper, "rows", n)
		tally.AuditRows += n
		metrics.RetentionPruned.WithLabelValues("audit_log").Add(float64(n))
		activity.RecordHeartbeat(ctx, tally)
	}
}

// anchorPartition verifies each tenant's rows in the oldest partition
// (ending at upper) and stores a checkpoint at their end, and answers
// whether the partition may go: not while a chain is broken (its evidence
// stays), nor while a tenant has an older row outside it (a commit that
// began before the month ended but chained after a row of the next month),
// which waits for that month.
func (a *Activities) anchorPartition(ctx context.Context, upper time.Time) (bool, error) {
	chains, err := a.q().AuditChainsBefore(ctx, upper)
	if err != nil {
		return false, fmt.Errorf("reading the oldest audit partition: %w", err)
	}
	log := activity.GetLogger(ctx)
	for _, c := range chains {
		cp, _, ok, err := db.AnchorAudit(ctx, a.Pool, a.Checkpoints, c.TenantID, upper)
		if errors.Is(err, db.ErrAuditBroken) {
			log.Error("not dropping an audit partition with a broken chain", "until", upper, "tenant", c.TenantID, "error", err)
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if !ok || cp.Seq != c.Seq {
			log.Info("not dropping an audit partition yet: a chain goes on before its end", "until", upper, "tenant", c.TenantID, "seq", c.Seq)
			return false, nil
		}
		activity.RecordHeartbeat(ctx, c.TenantID)
	}
	return true, nil
}

// longestDeliveriesPeriod answers the longest deliveries period in effect
// for any tenant (one that set none has the default): a month older than
// it is past every tenant's. The rows of a tenant since deleted are kept
// for no one, so they count for nothing.
func (a *Activities) longestDeliveriesPeriod(ctx context.Context) (int, error) {
	days := 0
	for after := uuid.Nil; ; {
		page, err := a.RetentionTenants(ctx, after)
		if err != nil {
			return 0, err
		}
		if len(page) == 0 {
			return days, nil
		}
		for _, t := range page {
			days = max(days, t.DeliveriesDays)
			after = t.TenantID
		}
	}
}
