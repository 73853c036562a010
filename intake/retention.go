package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/contract"
)

// RetentionEvery is how often retention runs: often enough that each run
// has little to remove.
const RetentionEvery = time.Hour

// EnsureRetentionSchedule makes the one schedule that starts Retention
// exist, with this release's spec and action. A Temporal schedule rather
// than a loop in every worker: one run at a time across all workers
// (overlapping runs are skipped), visible and pausable in the Temporal UI,
// and caught up after an outage. Every worker calls it; running it again
// changes nothing.
func (s *Service) EnsureRetentionSchedule(ctx context.Context) error {
	sc := s.Temporal.ScheduleClient()
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: RetentionEvery}}, Jitter: 5 * time.Minute}
	action := &client.ScheduleWorkflowAction{
		ID: contract.RetentionScheduleID, Workflow: contract.RetentionWorkflowName, TaskQueue: s.TaskQueue,
		Args: []any{contract.RetentionInput{}},
	}
	_, err := sc.Create(ctx, client.ScheduleOptions{ID: contract.RetentionScheduleID, Spec: spec, Action: action,
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, Note: "Herald retention: prunes records past each tenant's retention periods"})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		err = sc.GetHandle(ctx, contract.RetentionScheduleID).Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				sched := in.Description.Schedule
				sched.Spec, sched.Action = &spec, action
				return &client.ScheduleUpdate{Schedule: &sched}, nil
			},
		})
	}
	if err != nil {
		return fmt.Errorf("scheduling retention: %w", err)
	}
	return nil
}
