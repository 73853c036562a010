package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/contract"
)

// fakeBatch is a stored batch and its jobs, as the batch activities see them.
type fakeBatch struct {
	mu        sync.Mutex
	defined   bool
	expected  int
	jobs      map[string]bool
	status    contract.BatchStatus
	expiresAt time.Time
	completed int // CompleteBatch calls that closed it
	expired   int // ExpireBatch calls that closed it
}

func (f *fakeBatch) register(env *testsuite.TestWorkflowEnvironment) {
	env.RegisterActivityWithOptions(func(context.Context, uuid.UUID, string) (contract.BatchState, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.defined {
			return contract.BatchState{}, nil
		}
		return contract.BatchState{Defined: true, Status: f.status, Expected: f.expected, Completed: len(f.jobs), ExpiresAt: f.expiresAt}, nil
	}, activity.RegisterOptions{Name: "LoadBatch"})
	env.RegisterActivityWithOptions(func(context.Context, uuid.UUID, string) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.status == contract.BatchOpen {
			f.status, f.completed = contract.BatchCompleted, f.completed+1
		}
		return nil
	}, activity.RegisterOptions{Name: "CompleteBatch"})
	env.RegisterActivityWithOptions(func(context.Context, uuid.UUID, string) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.status == contract.BatchOpen {
			f.status, f.expired = contract.BatchExpired, f.expired+1
		}
		return nil
	}, activity.RegisterOptions{Name: "ExpireBatch"})
}

// complete records a job (as the API does) and signals, after d.
func (f *fakeBatch) complete(env *testsuite.TestWorkflowEnvironment, d time.Duration, job string) {
	env.RegisterDelayedCallback(func() {
		f.mu.Lock()
		f.jobs[job] = true
		f.mu.Unlock()
		env.SignalWorkflow(contract.SignalBatchJob, nil)
	}, d)
}

func newFakeBatch(expected int, defined bool) *fakeBatch {
	return &fakeBatch{defined: defined, expected: expected, jobs: map[string]bool{}, status: contract.BatchOpen,
		expiresAt: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)}
}

func batchEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	env.RegisterWorkflowWithOptions(Batch, workflow.RegisterOptions{Name: contract.BatchWorkflowName})
	return env
}

var batchIn = contract.BatchInput{TenantID: uuid.New(), BatchID: "drafts-1"}

// Three jobs, one completed twice: the batch emits once, after the third.
func TestBatchEmitsOnceWhenEveryJobIsDone(t *testing.T) {
	env := batchEnv(t)
	f := newFakeBatch(3, true)
	f.register(env)
	f.complete(env, time.Minute, "a")
	f.complete(env, 2*time.Minute, "a")
	f.complete(env, 3*time.Minute, "b")
	var doneAt time.Time
	env.RegisterDelayedCallback(func() {
		if f.completed != 0 {
			t.Error("the batch emitted with two of three jobs")
		}
	}, 4*time.Minute)
	f.complete(env, 5*time.Minute, "c")
	env.ExecuteWorkflow(Batch, batchIn)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	doneAt = env.Now()
	if f.completed != 1 || f.expired != 0 {
		t.Fatalf("completed %d, expired %d; want one completion", f.completed, f.expired)
	}
	if want := time.Date(2026, 11, 23, 9, 5, 0, 0, time.UTC); !doneAt.Equal(want) {
		t.Errorf("done at %v, want %v: at the third job", doneAt, want)
	}
}

// Completions that come before the batch is posted are counted once it is.
func TestBatchCountsCompletionsThatCameFirst(t *testing.T) {
	env := batchEnv(t)
	f := newFakeBatch(2, false)
	f.register(env)
	f.complete(env, time.Minute, "a")
	f.complete(env, 2*time.Minute, "b")
	env.RegisterDelayedCallback(func() {
		f.mu.Lock()
		f.defined = true
		f.mu.Unlock()
		env.SignalWorkflow(contract.SignalBatchDefined, nil)
	}, time.Hour)
	env.ExecuteWorkflow(Batch, batchIn)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if f.completed != 1 {
		t.Fatalf("completed %d times, want once, when the batch was posted", f.completed)
	}
	if got := env.Now().Sub(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)); got != time.Hour {
		t.Errorf("completed after %v, want 1h", got)
	}
}

// A batch whose jobs do not all complete expires at its time, once.
func TestBatchExpires(t *testing.T) {
	env := batchEnv(t)
	f := newFakeBatch(3, true)
	f.register(env)
	f.complete(env, time.Hour, "a")
	env.ExecuteWorkflow(Batch, batchIn)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if f.expired != 1 || f.completed != 0 {
		t.Fatalf("expired %d, completed %d", f.expired, f.completed)
	}
	if !env.Now().Equal(f.expiresAt) {
		t.Errorf("expired at %v, want %v", env.Now(), f.expiresAt)
	}
}

// Completions for a batch that is never posted wait a week, then the run
// gives up without recording anything.
func TestBatchNeverPostedGivesUp(t *testing.T) {
	env := batchEnv(t)
	f := newFakeBatch(1, false)
	f.register(env)
	f.complete(env, time.Minute, "a")
	env.ExecuteWorkflow(Batch, batchIn)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if f.expired+f.completed != 0 {
		t.Fatalf("an unposted batch was closed: %+v", f)
	}
	if got := env.Now().Sub(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)); got != contract.DefaultBatchExpiry {
		t.Errorf("gave up after %v, want %v", got, contract.DefaultBatchExpiry)
	}
}

// A batch with many completions continues as new instead of growing one
// history without bound.
func TestBatchContinuesAsNewAfterManyWakes(t *testing.T) {
	env := batchEnv(t)
	f := newFakeBatch(maxBatchWakes+10, true)
	f.register(env)
	// Ten bursts of a hundred: each burst's signals may land in one wake,
	// so the bursts are apart, and the run must still continue as new
	// after at most maxBatchWakes signals.
	for burst := range 10 {
		env.RegisterDelayedCallback(func() {
			f.mu.Lock()
			for range maxBatchWakes / 10 {
				f.jobs[uuid.NewString()] = true
			}
			f.mu.Unlock()
			for range maxBatchWakes / 10 {
				env.SignalWorkflow(contract.SignalBatchJob, nil)
			}
		}, time.Duration(burst+1)*time.Minute)
	}
	env.ExecuteWorkflow(Batch, batchIn)
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("after %d wakes: %v, want continue-as-new", maxBatchWakes, err)
	}
	if f.completed+f.expired != 0 {
		t.Errorf("the batch closed early: %+v", f)
	}
}
