package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/delivery"
)

func ids(n int) []uuid.UUID {
	out := make([]uuid.UUID, n)
	for i := range out {
		out[i] = uuid.New()
	}
	return out
}

func emails(n int) []delivery.Batch {
	return []delivery.Batch{{Channel: channel.Email, DeliveryIDs: ids(n)}}
}

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	Register(env)
	env.RegisterActivity(&activities.Activities{})
	return env
}

// runOK executes NotifyEvent and returns its result, failing the test if
// the workflow failed.
func runOK(t *testing.T, env *testsuite.TestWorkflowEnvironment, in contract.NotifyInput) contract.NotifyResult {
	t.Helper()
	env.ExecuteWorkflow(NotifyEvent, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res contract.NotifyResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

// closing matches the CloseEvent input of an event closed with status.
func closing(status delivery.EventStatus) any {
	return mock.MatchedBy(func(in activities.CloseInput) bool { return in.Status == status })
}

var input = contract.NotifyInput{TenantID: uuid.New(), EventID: uuid.New(), Type: "project.update"}

func TestNotifyEventPagesAndTallies(t *testing.T) {
	env := newEnv(t)
	// Three pages of recipients, keyed by the cursor each call carries.
	pages := map[string]activities.PageResult{
		"":      {Next: "u500", Delivered: 500, Batches: emails(500)},
		"u500":  {Next: "u1000", Delivered: 498, Skipped: 2, Batches: emails(499)},
		"u1000": {Delivered: 10},
	}
	var seen []string
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PageInput) (activities.PageResult, error) {
			seen = append(seen, in.After)
			if in.Limit != PageSize || in.EventID != input.EventID || !in.Batched {
				return activities.PageResult{}, fmt.Errorf("bad page input %+v", in)
			}
			return pages[in.After], nil
		})
	var sends atomic.Int32 // batches run concurrently
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
			sends.Add(1)
			if in.Channel != channel.Email {
				return activities.DeliverResult{}, fmt.Errorf("channel %s", in.Channel)
			}
			return activities.DeliverResult{Delivered: len(in.DeliveryIDs)}, nil
		})
	var finished delivery.EventStatus
	env.OnActivity(a.CloseEvent, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloseInput) error {
			if in.EventID != input.EventID {
				return fmt.Errorf("bad close input %+v", in)
			}
			finished = in.Status
			return nil
		})
	if err := env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(contract.AttrTenant.ValueSet(input.TenantID.String()),
		contract.AttrEventType.ValueSet(input.Type), contract.AttrStatus.ValueSet(string(delivery.EventPending)))); err != nil {
		t.Fatal(err)
	}
	// Only the outcome is upserted: the API already set the rest at start.
	env.OnUpsertTypedSearchAttributes(temporal.NewSearchAttributes(contract.AttrStatus.ValueSet(string(delivery.EventDelivered)))).Return(nil).Once()

	res := runOK(t, env, input)
	want := contract.NotifyResult{Status: delivery.EventDelivered, Delivered: 500 + 498 + 10 + 500 + 499, Skipped: 2}
	if res != want {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	if fmt.Sprint(seen) != "[ u500 u1000]" || sends.Load() != 2 || finished != delivery.EventDelivered {
		t.Errorf("pages %q, %d batches, finished %q", seen, sends.Load(), finished)
	}
	env.AssertExpectations(t)
}

func TestNotifyEventMarksExhaustedBatchesFailed(t *testing.T) {
	env := newEnv(t)
	batch := emails(3)
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(activities.PageResult{Delivered: 3, Batches: batch}, nil)
	attempts := 0
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.DeliverInput) (activities.DeliverResult, error) {
			attempts++
			return activities.DeliverResult{}, temporal.NewApplicationError("the mail server deferred the message (SMTP 451)", activities.ErrTypeTemporary)
		})
	var failed []uuid.UUID
	var reason string
	env.OnActivity(a.MarkFailed, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, ids []uuid.UUID, why string) (activities.DeliverResult, error) {
			failed, reason = ids, why
			return activities.DeliverResult{Failed: 2, Delivered: 1}, nil
		})
	env.OnActivity(a.CloseEvent, mock.Anything, closing(delivery.EventPartial)).Return(nil).Once()
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)

	res := runOK(t, env, input)
	// The test environment caps unlimited retries at 10 attempts (the real
	// policy retries for two hours); the fast path tried once before.
	if attempts != 1+10 {
		t.Errorf("Deliver ran %d times, want the fast path's 1 and 10 retried attempts", attempts)
	}
	if len(failed) != 3 || !strings.Contains(reason, "SMTP 451") || strings.Contains(reason, "ApplicationError") {
		t.Errorf("MarkFailed got %d deliveries with reason %q, want the batch's 3 and the last sanitised error", len(failed), reason)
	}
	if res.Status != delivery.EventPartial || res.Failed != 2 || res.Delivered != 4 {
		t.Errorf("result = %+v", res)
	}
	env.AssertExpectations(t)
}

func TestNotifyEventRecordsUnrecordedAndRetriesTheRest(t *testing.T) {
	env := newEnv(t)
	batch := emails(3)
	ids := batch[0].DeliveryIDs
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(activities.PageResult{Batches: batch}, nil)
	var calls [][]uuid.UUID
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
			calls = append(calls, in.DeliveryIDs)
			if len(calls) == 1 {
				// ids[0] delivered, ids[1] accepted but not recorded, ids[2] deferred.
				return activities.DeliverResult{Delivered: 1, Unrecorded: ids[1:2], Retry: ids[2:]}, nil
			}
			return activities.DeliverResult{Delivered: len(in.DeliveryIDs)}, nil
		})
	var recorded []uuid.UUID
	env.OnActivity(a.MarkAccepted, mock.Anything, mock.Anything).Return(
		func(_ context.Context, ids []uuid.UUID) error { recorded = ids; return nil }).Once()
	env.OnActivity(a.CloseEvent, mock.Anything, closing(delivery.EventDelivered)).Return(nil).Once()
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)

	res := runOK(t, env, input)
	if len(recorded) != 1 || recorded[0] != ids[1] {
		t.Errorf("recorded %v, want the unrecorded delivery %v", recorded, ids[1])
	}
	if len(calls) != 2 || len(calls[1]) != 1 || calls[1][0] != ids[2] {
		t.Errorf("deliver calls %v: want the batch, then only the deferred delivery again", calls)
	}
	if res.Delivered != 3 || res.Failed != 0 {
		t.Errorf("result = %+v, want all 3 delivered", res)
	}
	env.AssertExpectations(t)
}

func TestNotifyEventFailsWhenRecipientsCannotBeResolved(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(activities.PageResult{},
		temporal.NewNonRetryableApplicationError("event gone", activities.ErrTypeNotFound, errors.New("no rows")))
	env.OnActivity(a.CloseEvent, mock.Anything, closing(delivery.EventFailed)).Return(nil).Once()
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	env.ExecuteWorkflow(NotifyEvent, input)
	if env.GetWorkflowError() == nil {
		t.Fatal("workflow succeeded without recipients")
	}
	env.AssertExpectations(t)
}

func TestNotifyEventBookkeepingFailureKeepsTheEventDelivered(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(activities.PageResult{Delivered: 2}, nil)
	env.OnActivity(a.CloseEvent, mock.Anything, closing(delivery.EventDelivered)).Return(
		temporal.NewNonRetryableApplicationError("event row gone", activities.ErrTypeNotFound, nil))
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	res := runOK(t, env, input)
	if res.Status != delivery.EventDelivered || res.Delivered != 2 {
		t.Errorf("result = %+v: a failed CloseEvent must not fail a delivered event", res)
	}
}

func TestNotifyEventDatabaseStepsOutlastAnHourLongOutage(t *testing.T) {
	env := newEnv(t)
	start := env.Now()
	calls := 0
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.PageInput) (activities.PageResult, error) {
			calls++
			if env.Now().Sub(start) < time.Hour {
				return activities.PageResult{}, errors.New("connection refused")
			}
			return activities.PageResult{Delivered: 1}, nil
		})
	env.OnActivity(a.CloseEvent, mock.Anything, closing(delivery.EventDelivered)).Return(nil).Once()
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	res := runOK(t, env, input)
	if res.Delivered != 1 {
		t.Errorf("result = %+v", res)
	}
	// Capped backoff: about a minute apart at most, not ever longer waits.
	if calls < 55 || env.Now().Sub(start) > time.Hour+2*time.Minute {
		t.Errorf("%d tries, done after %v: want retries about a minute apart through the outage", calls, env.Now().Sub(start))
	}
	env.AssertExpectations(t)
}

func TestEventIDIsStable(t *testing.T) {
	tenant := uuid.MustParse("11111111-1111-1111-1111-111111111111")
	if contract.EventID(tenant, "k") == contract.EventID(uuid.New(), "k") || contract.EventID(tenant, "k") == contract.EventID(tenant, "k2") {
		t.Fatal("different tenants or keys collide")
	}
	// Pinned: changing the derivation would let a repeated post start a second workflow.
	if got := contract.EventID(tenant, "evt-42").String(); got != "067bf6e7-76f4-5f9f-aaf1-61eb8462c64b" {
		t.Errorf("EventID(tenant, evt-42) = %s; the derivation changed", got)
	}
}

func TestNotifyEventSmallEventSendsOnceOnTheFastPath(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(activities.PageResult{Delivered: 1, Batches: emails(1)}, nil)
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(activities.DeliverResult{Delivered: 1}, nil).Once()
	env.OnActivity(a.CloseEvent, mock.Anything, closing(delivery.EventDelivered)).Return(nil).Once()
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	res := runOK(t, env, input)
	if res != (contract.NotifyResult{Status: delivery.EventDelivered, Delivered: 2}) {
		t.Errorf("result = %+v", res)
	}
	env.AssertExpectations(t)
}

func TestNotifyEventStartedWithoutSearchAttributesSetsThem(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(activities.PageResult{Delivered: 1}, nil)
	env.OnActivity(a.CloseEvent, mock.Anything, closing(delivery.EventDelivered)).Return(nil)
	env.OnUpsertTypedSearchAttributes(temporal.NewSearchAttributes(contract.AttrTenant.ValueSet(input.TenantID.String()),
		contract.AttrEventType.ValueSet(input.Type), contract.AttrStatus.ValueSet(string(delivery.EventPending)))).Return(nil).Once()
	env.OnUpsertTypedSearchAttributes(temporal.NewSearchAttributes(contract.AttrStatus.ValueSet(string(delivery.EventDelivered)))).Return(nil).Once()
	runOK(t, env, input)
	env.AssertExpectations(t)
}

func TestNotifyEventSettlesSentPagesWhenALaterPageFails(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PageInput) (activities.PageResult, error) {
			if in.After == "" {
				return activities.PageResult{Next: "u500", Delivered: 500, Batches: emails(500)}, nil
			}
			return activities.PageResult{}, temporal.NewNonRetryableApplicationError("broken", "Broken", nil)
		})
	sent := false
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).After(time.Minute).Return(
		func(context.Context, activities.DeliverInput) (activities.DeliverResult, error) {
			sent = true
			return activities.DeliverResult{Delivered: 500}, nil
		}).Once()
	sentBeforeFinish := false
	env.OnActivity(a.CloseEvent, mock.Anything, closing(delivery.EventFailed)).Return(
		func(context.Context, activities.CloseInput) error { sentBeforeFinish = sent; return nil }).Once()
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	env.ExecuteWorkflow(NotifyEvent, input)
	if env.GetWorkflowError() == nil {
		t.Fatal("workflow succeeded with a broken page")
	}
	if !sentBeforeFinish {
		t.Error("the event was closed before the first page's batches settled")
	}
	env.AssertExpectations(t)
}

// continued runs NotifyEvent with endless pages and returns the input of the
// run it continued as.
func continued(t *testing.T, env *testsuite.TestWorkflowEnvironment, in contract.NotifyInput) contract.NotifyInput {
	t.Helper()
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PageInput) (activities.PageResult, error) {
			n := 0
			if in.After != "" {
				_, _ = fmt.Sscanf(in.After, "u%d", &n)
			}
			return activities.PageResult{Next: fmt.Sprintf("u%d", n+1), Delivered: 1}, nil
		})
	env.ExecuteWorkflow(NotifyEvent, in)
	next := continuedAs(t, env)
	if next.EventID != in.EventID || next.TenantID != in.TenantID {
		t.Errorf("continued run lost the event: %+v", next)
	}
	return next
}

// continuedAs returns the input a finished run continued as new with,
// failing the test if it ended any other way.
func continuedAs(t *testing.T, env *testsuite.TestWorkflowEnvironment) contract.NotifyInput {
	t.Helper()
	var cont *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &cont) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	var next contract.NotifyInput
	if err := converter.GetDefaultDataConverter().FromPayloads(cont.Input, &next); err != nil {
		t.Fatal(err)
	}
	return next
}

func TestNotifyEventContinuesAsNewAfterMaxPages(t *testing.T) {
	env := newEnv(t)
	carried := contract.NotifyResult{Delivered: 7}
	in := input
	in.After, in.Carried = "u1000", &carried
	next := continued(t, env, in)
	if next.After != fmt.Sprintf("u%d", 1000+maxPagesPerRun) || next.Carried == nil || next.Carried.Delivered != 7+maxPagesPerRun {
		t.Errorf("continued with after %q, carried %+v", next.After, next.Carried)
	}
}

func TestNotifyEventContinuesAsNewWhenTemporalSuggests(t *testing.T) {
	env := newEnv(t)
	env.SetContinueAsNewSuggested(true)
	next := continued(t, env, input)
	// The first page is handled, then the run hands over at once.
	if next.After != "u1" || next.Carried == nil || next.Carried.Delivered != 1 {
		t.Errorf("continued with after %q, carried %+v; want after the first page", next.After, next.Carried)
	}
}

func TestNotifyEventStartedForBatchesSkipsTheVersionMarker(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(activities.PageResult{Delivered: 1, Batches: emails(1)}, nil)
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(activities.DeliverResult{Delivered: 1}, nil).Once()
	env.OnActivity(a.CloseEvent, mock.Anything, closing(delivery.EventDelivered)).Return(nil).Once()
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	env.OnGetVersion(versionBatches, workflow.DefaultVersion, 1).Return(func(string, workflow.Version, workflow.Version) workflow.Version {
		t.Error("a run started for the batches engine asked for the version")
		return 1
	})
	in := input
	in.Engine = contract.EngineBatches
	res := runOK(t, env, in)
	if res.Delivered != 2 {
		t.Errorf("result = %+v", res)
	}
}

// A batch whose retries ran out while an overrunning attempt still holds
// some of its deliveries waits for that attempt's lease before failing them,
// so a message still being sent is not called failed.
func TestNotifyEventWaitsOutLiveClaimsBeforeFailing(t *testing.T) {
	env := newEnv(t)
	batch := emails(2)
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(activities.PageResult{Batches: batch}, nil)
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(activities.DeliverResult{},
		temporal.NewApplicationError("the mail server deferred the message (SMTP 451)", activities.ErrTypeTemporary))
	start := env.Now()
	held := start.Add(3 * time.Hour) // well after the retries give up
	var calls []time.Time
	env.OnActivity(a.MarkFailed, mock.Anything, mock.Anything, mock.Anything).Return(
		func(context.Context, []uuid.UUID, string) (activities.DeliverResult, error) {
			calls = append(calls, env.Now())
			if len(calls) == 1 {
				// One failed; the other is still claimed by a live attempt.
				return activities.DeliverResult{Failed: 1, HeldUntil: &held}, nil
			}
			// The attempt recorded it delivered before its lease ran out.
			return activities.DeliverResult{Failed: 1, Delivered: 1}, nil
		})
	env.OnActivity(a.CloseEvent, mock.Anything, closing(delivery.EventPartial)).Return(nil).Once()
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	res := runOK(t, env, input)
	if len(calls) != 2 || calls[1].Before(held) {
		t.Errorf("MarkFailed at %v; want a second call after the lease at %v", calls, held)
	}
	if res.Delivered != 1 || res.Failed != 1 {
		t.Errorf("result = %+v, want the held delivery counted once, as delivered", res)
	}
	env.AssertExpectations(t)
}

// A webhook batch waiting for its next try does not hold a large fan-out
// at a continue-as-new: it goes with the next run.
func TestParkedWebhookRetriesGoWithTheNextRun(t *testing.T) {
	env := newEnv(t)
	env.SetContinueAsNewSuggested(true)
	hook := delivery.Batch{Channel: channel.Webhook, DeliveryIDs: ids(1)}
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(
		activities.PageResult{Next: "u1", Delivered: 1, EventSends: []delivery.Batch{hook}}, nil).Once()
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(activities.DeliverResult{},
		temporal.NewApplicationError("the endpoint answered HTTP 503", activities.ErrTypeTemporary)).Once()
	env.ExecuteWorkflow(NotifyEvent, input)
	next := continuedAs(t, env)
	if len(next.Parked) != 1 || next.Parked[0].Round != 1 || next.Parked[0].Batch.DeliveryIDs[0] != hook.DeliveryIDs[0] {
		t.Fatalf("continued with parked %+v, want the webhook batch's second try", next.Parked)
	}
	if wait := next.Parked[0].At.Sub(env.Now()); wait <= 0 || wait > webhookSchedule[1] {
		t.Errorf("the second try is due in %v, want within %v", wait, webhookSchedule[1])
	}
}

func TestContinuedRunTriesItsParkedWebhooks(t *testing.T) {
	env := newEnv(t)
	hook := delivery.Batch{Channel: channel.Webhook, DeliveryIDs: ids(1)}
	in := input
	in.After, in.Carried = "u500", &contract.NotifyResult{Delivered: 500}
	due := env.Now().Add(5 * time.Minute)
	in.Parked = []contract.ParkedBatch{{Batch: hook, Round: 2, At: due}}
	env.OnActivity(a.PreparePage, mock.Anything, mock.Anything).Return(activities.PageResult{Delivered: 3}, nil).Once()
	var triedAt time.Time
	env.OnActivity(a.Deliver, mock.Anything, mock.Anything).Return(
		func(_ context.Context, d activities.DeliverInput) (activities.DeliverResult, error) {
			triedAt = env.Now()
			if d.Channel != channel.Webhook || d.DeliveryIDs[0] != hook.DeliveryIDs[0] {
				return activities.DeliverResult{}, fmt.Errorf("unexpected batch %+v", d)
			}
			return activities.DeliverResult{Delivered: 1}, nil
		}).Once()
	env.OnActivity(a.CloseEvent, mock.Anything, closing(delivery.EventDelivered)).Return(nil).Once()
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	res := runOK(t, env, in)
	if res.Delivered != 504 || triedAt.Before(due) {
		t.Errorf("result %+v, tried at %v (due %v)", res, triedAt, due)
	}
}
