package workflows

import (
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/contract"
)

// retentionPagesPerRun bounds a run's history: past it (or when Temporal
// suggests it) the run continues as a new one from the next tenant.
const retentionPagesPerRun = 20

// Retention prunes every tenant's records past its retention periods, one
// tenant at a time, in tenant ID order. The schedule starts it; a run that
// is still going when the next is due makes the schedule skip that one.
func Retention(ctx workflow.Context, in contract.RetentionInput) (contract.RetentionTally, error) {
	r := &retention{tally: in.Tally, after: in.AfterTenant}
	// Whole months first, once per pass over the tenants (not in the runs
	// it continues as), so the tenants' pruning does not delete row by row
	// what a drop takes at once. Runs begun before it replay without it.
	if in.AfterTenant == uuid.Nil && workflow.GetVersion(ctx, versionRetentionPartitions, workflow.DefaultVersion, 1) == 1 {
		if err := r.partitions(ctx); err != nil {
			return r.tally, err
		}
	}
	return r.run(ctx)
}

// versionRetentionPartitions names the change that made Retention maintain
// the audit trail's partitions before pruning tenants.
const versionRetentionPartitions = "retention-partitions"

type retention struct {
	tally contract.RetentionTally
	after uuid.UUID
}

func (r *retention) run(ctx workflow.Context) (contract.RetentionTally, error) {
	for pages := 0; ; pages++ {
		if pages == retentionPagesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return r.tally, workflow.NewContinueAsNewError(ctx, contract.RetentionWorkflowName,
				contract.RetentionInput{AfterTenant: r.after, Tally: r.tally})
		}
		var page []activities.TenantRetention
		if err := workflow.ExecuteLocalActivity(dbSteps(ctx), a.RetentionTenants, r.after).Get(ctx, &page); err != nil {
			return r.tally, err
		}
		for _, t := range page {
			if err := r.prune(ctx, t); err != nil {
				return r.tally, err
			}
			r.after = t.TenantID
		}
		if len(page) == 0 {
			return r.tally, nil
		}
	}
}

// partitions makes the months ahead and drops the months past every
// tenant's period: it verifies the chains in each, so a heartbeating
// activity, retried like a tenant's pruning.
func (r *retention) partitions(ctx workflow.Context) error {
	var got contract.RetentionTally
	if err := workflow.ExecuteActivity(pruneOptions(ctx), a.MaintainPartitions).Get(ctx, &got); err != nil {
		return err
	}
	r.tally = r.tally.Add(got)
	return nil
}

// pruneOptions are a long retention step's: it runs a batch at a time, as
// much as there is, so it heartbeats, and it is retried without end; each
// attempt finds only what is left.
func pruneOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 10 * time.Second, MaximumInterval: 5 * time.Minute},
	})
}

// prune runs one tenant's pruning.
func (r *retention) prune(ctx workflow.Context, t activities.TenantRetention) error {
	var got contract.RetentionTally
	if err := workflow.ExecuteActivity(pruneOptions(ctx), a.PruneTenant, t).Get(ctx, &got); err != nil {
		return err
	}
	r.tally = r.tally.Add(got)
	return nil
}
