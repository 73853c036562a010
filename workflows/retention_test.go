package workflows

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/contract"
)

// fakeTenants pages tenants in ID order, as RetentionTenants does, and
// records which PruneTenant was called for.
type fakeTenants struct {
	mu         sync.Mutex
	ids        []uuid.UUID
	pruned     []uuid.UUID
	maintained int
}

func (f *fakeTenants) register(env *testsuite.TestWorkflowEnvironment, page int) {
	env.RegisterActivityWithOptions(func(_ context.Context, after uuid.UUID) ([]activities.TenantRetention, error) {
		var out []activities.TenantRetention
		for _, id := range f.ids {
			if id.String() > after.String() && len(out) < page {
				out = append(out, activities.TenantRetention{TenantID: id, InboxDays: 90, DeliveriesDays: 180})
			}
		}
		return out, nil
	}, activity.RegisterOptions{Name: "RetentionTenants"})
	env.RegisterActivityWithOptions(func(_ context.Context, t activities.TenantRetention) (contract.RetentionTally, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.pruned = append(f.pruned, t.TenantID)
		return contract.RetentionTally{Tenants: 1, Deliveries: 2, AuditRows: 3}, nil
	}, activity.RegisterOptions{Name: "PruneTenant"})
	env.RegisterActivityWithOptions(func(context.Context) (contract.RetentionTally, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.maintained++
		return contract.RetentionTally{AuditRows: 100}, nil
	}, activity.RegisterOptions{Name: "MaintainPartitions"})
}

func sortedIDs(n int) []uuid.UUID {
	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = uuid.New()
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	return ids
}

// Every tenant is pruned once, in order, and the tally sums theirs.
func TestRetentionPrunesEveryTenantOnce(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f := &fakeTenants{ids: sortedIDs(7)}
	f.register(env, 3)
	env.ExecuteWorkflow(Retention, contract.RetentionInput{})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var tally contract.RetentionTally
	if err := env.GetWorkflowResult(&tally); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.pruned, f.ids) {
		t.Errorf("pruned %v, want each of %v once, in order", f.pruned, f.ids)
	}
	if want := (contract.RetentionTally{Tenants: 7, Deliveries: 14, AuditRows: 100 + 21}); tally != want {
		t.Errorf("tally %+v, want %+v (the partitions' and the tenants')", tally, want)
	}
	if f.maintained != 1 {
		t.Errorf("partitions maintained %d times, want once, before the tenants", f.maintained)
	}
}

// A run that continues a pass over the tenants leaves the partitions to
// the run that began it.
func TestRetentionMaintainsPartitionsOncePerPass(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f := &fakeTenants{ids: sortedIDs(4)}
	f.register(env, 3)
	env.ExecuteWorkflow(Retention, contract.RetentionInput{AfterTenant: f.ids[1], Tally: contract.RetentionTally{Tenants: 2}})
	var tally contract.RetentionTally
	if err := env.GetWorkflowResult(&tally); err != nil {
		t.Fatal(err)
	}
	if f.maintained != 0 || !slices.Equal(f.pruned, f.ids[2:]) {
		t.Errorf("maintained %d times and pruned %v, want none and the tenants after the second", f.maintained, f.pruned)
	}
	if tally.Tenants != 4 || tally.AuditRows != 6 {
		t.Errorf("tally %+v, want the 2 before and the 2 pruned", tally)
	}
}

// A run that has paged through many tenants continues as a new run from
// the next tenant, with its tally, so no run's history grows without bound.
func TestRetentionContinuesAsNewAfterItsPages(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Retention, workflow.RegisterOptions{Name: contract.RetentionWorkflowName})
	f := &fakeTenants{ids: sortedIDs(retentionPagesPerRun*2 + 1)}
	f.register(env, 1)
	env.ExecuteWorkflow(Retention, contract.RetentionInput{})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("after %d pages: %v, want continue-as-new", retentionPagesPerRun, err)
	}
	if len(f.pruned) != retentionPagesPerRun || f.pruned[len(f.pruned)-1] != f.ids[retentionPagesPerRun-1] {
		t.Errorf("pruned %d tenants before continuing, want the first %d", len(f.pruned), retentionPagesPerRun)
	}
}
