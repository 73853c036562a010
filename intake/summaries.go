package intake

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/prefs"
)

// SummarySpec is when a scheduled summary of kind goes out: daily at its
// time, or Mondays at its time, in the tenant's zone (Temporal keeps it on
// local time across DST).
func SummarySpec(kind string, s prefs.Summary, timezone string) client.ScheduleSpec {
	at := int(s.Time())
	cal := client.ScheduleCalendarSpec{
		Hour:    []client.ScheduleRange{{Start: at / 60}},
		Minute:  []client.ScheduleRange{{Start: at % 60}},
		Comment: "Herald " + kind,
	}
	if prefs.WeeklySummary(kind) {
		cal.DayOfWeek = []client.ScheduleRange{{Start: 1}} // Monday
	}
	if timezone == "" {
		timezone = "UTC"
	}
	return client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{cal}, TimeZoneName: timezone}
}

// SyncSummaries makes the tenant's Temporal schedules match its settings:
// one schedule per enabled summary (created, or updated to its time and
// zone), none for a disabled one. Running it again changes nothing.
func (s *Service) SyncSummaries(ctx context.Context, tenantID uuid.UUID, st prefs.Settings) error {
	sc := s.Temporal.ScheduleClient()
	for _, kind := range prefs.SummaryKinds {
		id := contract.SummaryScheduleID(tenantID, kind)
		want, on := st.Summaries[kind]
		if !on || !want.Enabled {
			err := sc.GetHandle(ctx, id).Delete(ctx)
			var gone *serviceerror.NotFound
			if err != nil && !errors.As(err, &gone) {
				return fmt.Errorf("deleting the %s schedule: %w", kind, err)
			}
			continue
		}
		spec := SummarySpec(kind, want, st.Timezone)
		action := &client.ScheduleWorkflowAction{
			ID: id, Workflow: contract.SummaryWorkflowName, TaskQueue: s.TaskQueue,
			Args:                  []any{contract.SummaryInput{TenantID: tenantID, Kind: kind}},
			TypedSearchAttributes: temporal.NewSearchAttributes(contract.AttrTenant.ValueSet(tenantID.String())),
		}
		_, err := sc.Create(ctx, client.ScheduleOptions{ID: id, Spec: spec, Action: action,
			Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, Note: "Herald scheduled summary " + kind})
		if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			err = sc.GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
				DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
					sched := in.Description.Schedule
					sched.Spec, sched.Action = &spec, action
					return &client.ScheduleUpdate{Schedule: &sched}, nil
				},
			})
		}
		if err != nil {
			return fmt.Errorf("scheduling %s: %w", kind, err)
		}
	}
	return nil
}
