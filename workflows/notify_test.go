package workflows

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/activities"
)

func ids(n int) []uuid.UUID {
	out := make([]uuid.UUID, n)
	for i := range out {
		out[i] = uuid.New()
	}
	return out
}

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(NotifyEvent)
	env.RegisterActivity(&activities.Activities{})
	return env
}

// runOK executes NotifyEvent and returns its result, failing the test if
// the workflow failed.
func runOK(t *testing.T, env *testsuite.TestWorkflowEnvironment, in NotifyInput) NotifyResult {
	t.Helper()
	env.ExecuteWorkflow(NotifyEvent, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res NotifyResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

var input = NotifyInput{TenantID: uuid.New(), EventID: uuid.New(), Type: "project.update"}

func TestNotifyEventPagesAndTallies(t *testing.T) {
	env := newEnv(t)
	// Three pages of recipients, keyed by the cursor each call carries.
	pages := map[string]activities.PageResult{
		"":      {Next: "u500", Delivered: 500, Emails: ids(500)},
		"u500":  {Next: "u1000", Delivered: 498, Skipped: 2, Emails: ids(499)},
		"u1000": {Delivered: 10, Emails: nil},
	}
	var seen []string
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PageInput) (activities.PageResult, error) {
			seen = append(seen, in.After)
			if in.Limit != PageSize || in.EventID != input.EventID {
				return activities.PageResult{}, fmt.Errorf("bad page input %+v", in)
			}
			return pages[in.After], nil
		})
	sends := 0
	env.OnActivity(a.SendEmails, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SendInput) (activities.SendResult, error) {
			sends++
			return activities.SendResult{Delivered: len(in.DeliveryIDs)}, nil
		})
	var finished string
	env.OnActivity(a.FinishEvent, mock.Anything, input.EventID, mock.Anything).Return(
		func(_ context.Context, _ uuid.UUID, status string) error { finished = status; return nil })
	env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(AttrTenant.ValueSet(input.TenantID.String()),
		AttrEventType.ValueSet(input.Type), AttrStatus.ValueSet(StatusPending)))
	// Only the outcome is upserted: the API already set the rest at start.
	env.OnUpsertTypedSearchAttributes(temporal.NewSearchAttributes(AttrStatus.ValueSet(StatusDelivered))).Return(nil).Once()

	res := runOK(t, env, input)
	want := NotifyResult{Status: StatusDelivered, Delivered: 500 + 498 + 10 + 500 + 499, Skipped: 2}
	if res != want {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	if fmt.Sprint(seen) != "[ u500 u1000]" || sends != 2 || finished != StatusDelivered {
		t.Errorf("pages %q, %d email batches, finished %q", seen, sends, finished)
	}
	env.AssertExpectations(t)
}

func TestNotifyEventMarksExhaustedEmailsFailed(t *testing.T) {
	env := newEnv(t)
	emails := ids(3)
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(activities.PageResult{Delivered: 3, Emails: emails}, nil)
	attempts := 0
	env.OnActivity(a.SendEmails, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ activities.SendInput) (activities.SendResult, error) {
			attempts++
			return activities.SendResult{}, temporal.NewApplicationError("451 try later", activities.ErrTypeTemporary)
		})
	var failed []uuid.UUID
	env.OnActivity(a.MarkFailed, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, ids []uuid.UUID, _ string) (activities.SendResult, error) {
			failed = ids
			return activities.SendResult{Failed: 2, Delivered: 1}, nil
		})
	env.OnActivity(a.FinishEvent, mock.Anything, mock.Anything, StatusPartial).Return(nil).Once()
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)

	res := runOK(t, env, input)
	if attempts != 1+6 {
		t.Errorf("SendEmails ran %d times, want the fast path's 1 and the policy's 6 attempts", attempts)
	}
	if len(failed) != 3 {
		t.Errorf("MarkFailed got %d deliveries, want the batch's 3", len(failed))
	}
	if res.Status != StatusPartial || res.Failed != 2 || res.Delivered != 4 {
		t.Errorf("result = %+v", res)
	}
	env.AssertExpectations(t)
}

func TestNotifyEventFailsWhenRecipientsCannotBeResolved(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(activities.PageResult{},
		temporal.NewNonRetryableApplicationError("event gone", "NotFound", errors.New("no rows")))
	env.OnActivity(a.FinishEvent, mock.Anything, mock.Anything, StatusFailed).Return(nil).Once()
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	env.ExecuteWorkflow(NotifyEvent, input)
	if env.GetWorkflowError() == nil {
		t.Fatal("workflow succeeded without recipients")
	}
	env.AssertExpectations(t)
}

func TestEventIDIsStable(t *testing.T) {
	tenant := uuid.MustParse("11111111-1111-1111-1111-111111111111")
	if EventID(tenant, "k") == EventID(uuid.New(), "k") || EventID(tenant, "k") == EventID(tenant, "k2") {
		t.Fatal("different tenants or keys collide")
	}
	// Pinned: changing the derivation would let a repeated post start a second workflow.
	if got := EventID(tenant, "evt-42").String(); got != "067bf6e7-76f4-5f9f-aaf1-61eb8462c64b" {
		t.Errorf("EventID(tenant, evt-42) = %s; the derivation changed", got)
	}
}

func TestNotifyEventSmallEventSendsOnce(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(activities.PageResult{Delivered: 1, Emails: ids(1)}, nil)
	env.OnActivity(a.SendEmails, mock.Anything, mock.Anything).Return(activities.SendResult{Delivered: 1}, nil).Once()
	env.OnActivity(a.FinishEvent, mock.Anything, mock.Anything, StatusDelivered).Return(nil).Once()
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	res := runOK(t, env, input)
	if res != (NotifyResult{Status: StatusDelivered, Delivered: 2}) {
		t.Errorf("result = %+v", res)
	}
	env.AssertExpectations(t)
}

func TestNotifyEventStartedWithoutSearchAttributesSetsThem(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(activities.PageResult{Delivered: 1}, nil)
	env.OnActivity(a.FinishEvent, mock.Anything, mock.Anything, StatusDelivered).Return(nil)
	env.OnUpsertTypedSearchAttributes(temporal.NewSearchAttributes(AttrTenant.ValueSet(input.TenantID.String()),
		AttrEventType.ValueSet(input.Type), AttrStatus.ValueSet(StatusPending))).Return(nil).Once()
	env.OnUpsertTypedSearchAttributes(temporal.NewSearchAttributes(AttrStatus.ValueSet(StatusDelivered))).Return(nil).Once()
	runOK(t, env, input)
	env.AssertExpectations(t)
}

func TestNotifyEventSettlesSentPagesWhenALaterPageFails(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PageInput) (activities.PageResult, error) {
			if in.After == "" {
				return activities.PageResult{Next: "u500", Delivered: 500, Emails: ids(500)}, nil
			}
			return activities.PageResult{}, temporal.NewNonRetryableApplicationError("broken", "Broken", nil)
		})
	sent := false
	env.OnActivity(a.SendEmails, mock.Anything, mock.Anything).After(time.Minute).Return(
		func(context.Context, activities.SendInput) (activities.SendResult, error) {
			sent = true
			return activities.SendResult{Delivered: 500}, nil
		}).Once()
	sentBeforeFinish := false
	env.OnActivity(a.FinishEvent, mock.Anything, mock.Anything, StatusFailed).Return(
		func(context.Context, uuid.UUID, string) error { sentBeforeFinish = sent; return nil }).Once()
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	env.ExecuteWorkflow(NotifyEvent, input)
	if env.GetWorkflowError() == nil {
		t.Fatal("workflow succeeded with a broken page")
	}
	if !sentBeforeFinish {
		t.Error("the event was closed before the first page's emails settled")
	}
	env.AssertExpectations(t)
}

func TestNotifyEventContinuesAsNewAfterMaxPages(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PageInput) (activities.PageResult, error) {
			n := 0
			if in.After != "" {
				fmt.Sscanf(in.After, "u%d", &n)
			}
			return activities.PageResult{Next: fmt.Sprintf("u%d", n+1), Delivered: 1}, nil
		})
	carried := NotifyResult{Delivered: 7}
	in := input
	in.After, in.Carried = "u1000", &carried
	env.ExecuteWorkflow(NotifyEvent, in)
	var cont *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &cont) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	var next NotifyInput
	if err := converter.GetDefaultDataConverter().FromPayloads(cont.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.After != fmt.Sprintf("u%d", 1000+maxPagesPerRun) || next.Carried == nil || next.Carried.Delivered != 7+maxPagesPerRun {
		t.Errorf("continued with after %q, carried %+v", next.After, next.Carried)
	}
	if next.EventID != input.EventID || next.TenantID != input.TenantID {
		t.Errorf("continued run lost the event: %+v", next)
	}
}
