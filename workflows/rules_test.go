package workflows

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/delivery"
)

// An input event's run records what its rules decided and closes the event
// as evaluated.
func TestEvaluateRulesClosesTheEvent(t *testing.T) {
	env := newEnv(t)
	fired := contract.RulesResult{Fired: 1, Held: 1, Emitted: []uuid.UUID{uuid.New()}}
	env.RegisterActivityWithOptions(func(context.Context, contract.RulesInput) (contract.RulesResult, error) { return fired, nil },
		activity.RegisterOptions{Name: "EvaluateRules"})
	env.OnActivity(a.CloseEvent, mock.Anything, closing(delivery.EventEvaluated)).Return(nil).Once()
	env.ExecuteWorkflow(EvaluateRules, contract.RulesInput{TenantID: uuid.New(), EventID: uuid.New(), Type: "lead.scored"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res contract.RulesResult
	if err := env.GetWorkflowResult(&res); err != nil || res.Fired != 1 || len(res.Emitted) != 1 {
		t.Fatalf("result %+v, %v", res, err)
	}
	env.AssertExpectations(t)
}

// A transient failure is retried; a refusal (an emitted event the catalog
// rejects) is not, and the input event is closed as failed.
func TestEvaluateRulesRetriesThenFails(t *testing.T) {
	env := newEnv(t)
	calls := 0
	env.RegisterActivityWithOptions(func(context.Context, contract.RulesInput) (contract.RulesResult, error) {
		calls++
		if calls < 3 {
			return contract.RulesResult{}, errors.New("database restarting")
		}
		return contract.RulesResult{}, temporal.NewNonRetryableApplicationError("unknown_event_type: gone", contract.ErrTypeEmitRefused, nil)
	}, activity.RegisterOptions{Name: "EvaluateRules"})
	env.OnActivity(a.CloseEvent, mock.Anything, closing(delivery.EventFailed)).Return(nil).Once()
	env.ExecuteWorkflow(EvaluateRules, contract.RulesInput{TenantID: uuid.New(), EventID: uuid.New(), Type: "lead.scored"})
	if err := env.GetWorkflowError(); err == nil {
		t.Fatal("a refused emission did not fail the run")
	}
	if calls != 3 {
		t.Errorf("the activity ran %d times, want 3 (two retries, then the refusal)", calls)
	}
	env.AssertExpectations(t)
}
