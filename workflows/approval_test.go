package workflows

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/approval"
	"github.com/heraldhq/herald/contract"
)

// approvalFake stands in for the approval's activities: it records every
// notice with the workflow time it went out at, and the stored outcome.
type approvalFake struct {
	env *testsuite.TestWorkflowEnvironment
	mu  sync.Mutex
	log []string
	// closed is the outcome CloseApproval stored; history the other rows.
	closed  *contract.ApprovalState
	history []contract.ApprovalEntry
	// callbackErr fails the callback for good.
	callbackErr error
	callbacks   int
}

func (f *approvalFake) register(env *testsuite.TestWorkflowEnvironment) {
	f.env = env
	env.RegisterActivityWithOptions(func(_ context.Context, n contract.ApprovalNotice) (contract.ApprovalNoticeResult, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		who := fmt.Sprint(n.Users)
		if len(n.Roles) > 0 {
			who = fmt.Sprint(n.Roles)
		}
		if n.Decide {
			who += " deciding"
		}
		f.log = append(f.log, fmt.Sprintf("%s %s L%d %s", f.env.Now().Sub(approvalT0), n.Kind, n.Level, who))
		if n.Kind == approval.ExecutiveAlert && n.Decide {
			return contract.ApprovalNoticeResult{Users: []string{"exe"}}, nil
		}
		return contract.ApprovalNoticeResult{}, nil
	}, activity.RegisterOptions{Name: "ApprovalNotice"})
	env.RegisterActivityWithOptions(func(_ context.Context, c contract.ApprovalClose) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.closed == nil {
			st := c.State
			f.closed = &st
		}
		return nil
	}, activity.RegisterOptions{Name: "CloseApproval"})
	env.RegisterActivityWithOptions(func(_ context.Context, c contract.ApprovalClose) error {
		f.mu.Lock()
		f.callbacks++
		f.mu.Unlock()
		if f.callbackErr != nil {
			return temporal.NewNonRetryableApplicationError(f.callbackErr.Error(), "CallbackRefused", nil)
		}
		return nil
	}, activity.RegisterOptions{Name: "ApprovalCallback"})
	env.RegisterActivityWithOptions(func(_ context.Context, e contract.ApprovalEntry) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.history = append(f.history, e)
		return nil
	}, activity.RegisterOptions{Name: "ApprovalHistory"})
}

var approvalT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func approvalEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *approvalFake) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(approvalT0)
	env.RegisterWorkflowWithOptions(Approval, workflow.RegisterOptions{Name: contract.ApprovalWorkflowName})
	f := &approvalFake{}
	f.register(env)
	return env, f
}

func approvalInput(remind time.Duration, levels ...contract.ApprovalLevel) contract.ApprovalInput {
	return contract.ApprovalInput{TenantID: uuid.New(), ID: "po-7", Requester: "req", Levels: levels, RemindEvery: remind, Callback: true}
}

// decideAt sends a decision at d after the start and keeps what it got.
type updateOutcome struct {
	rejected error
	state    contract.ApprovalState
	err      error
	done     bool
}

func decideAt(env *testsuite.TestWorkflowEnvironment, d time.Duration, name string, args ...any) *updateOutcome {
	out := &updateOutcome{}
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(name, uuid.NewString(), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { out.rejected, out.done = err, true },
			OnComplete: func(v any, err error) {
				out.err, out.done = err, true
				if st, ok := v.(contract.ApprovalState); ok {
					out.state = st
				}
			},
		}, args...)
	}, d)
	return out
}

func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) contract.ApprovalState {
	t.Helper()
	if !env.IsWorkflowCompleted() {
		t.Fatal("the approval did not finish")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var st contract.ApprovalState
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func sameLog(t *testing.T, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("notices:\n got  %q\n want %q", got, want)
	}
}

func TestApprovalRemindsThenAlertsExecutivesAndExpires(t *testing.T) {
	env, f := approvalEnv(t)
	env.ExecuteWorkflow(Approval, approvalInput(4*time.Hour, contract.ApprovalLevel{Approvers: []string{"ada", "bob"}, Timeout: 18 * time.Hour}))
	st := result(t, env)
	// One level is the top level: executives are alerted when it is asked.
	sameLog(t, f.log, []string{
		"0s asked L1 [ada bob]",
		"0s executive_alert L1 [executive] deciding",
		"4h0m0s reminded L1 [ada bob]", "8h0m0s reminded L1 [ada bob]",
		"12h0m0s reminded L1 [ada bob]", "16h0m0s reminded L1 [ada bob]",
		"18h0m0s expired L1 [req]",
	})
	if st.Status != approval.Expired || f.closed == nil || f.closed.Status != approval.Expired {
		t.Fatalf("status %s, stored %+v; want expired", st.Status, f.closed)
	}
	if want := approvalT0.Add(18 * time.Hour); !st.ClosedAt.Equal(want) {
		t.Fatalf("expired at %s, want %s", st.ClosedAt, want)
	}
	if f.callbacks != 1 {
		t.Fatalf("%d callbacks, want 1", f.callbacks)
	}
}

func TestApprovalEscalatesEachLevelThenExpires(t *testing.T) {
	env, f := approvalEnv(t)
	env.ExecuteWorkflow(Approval, approvalInput(0,
		contract.ApprovalLevel{Approvers: []string{"ada"}, Timeout: time.Hour},
		contract.ApprovalLevel{Approvers: []string{"bob", "cy"}, Timeout: 2 * time.Hour},
		contract.ApprovalLevel{Approvers: []string{"dee"}, Timeout: 24 * time.Hour}))
	st := result(t, env)
	sameLog(t, f.log, []string{
		"0s asked L1 [ada]",
		"1h0m0s escalated L2 [bob cy]",
		"3h0m0s escalated L3 [dee]",
		"3h0m0s executive_alert L3 [executive] deciding",
		"27h0m0s expired L3 [req]",
	})
	if st.Status != approval.Expired || st.Level != 3 || len(st.Asked) != 5 || st.Asked[4] != (contract.ApprovalAsked{User: "exe", Level: 3}) {
		t.Fatalf("state %+v", st)
	}
}

func TestApprovalDecisionBetweenRemindersEndsIt(t *testing.T) {
	env, f := approvalEnv(t)
	out := decideAt(env, 5*time.Hour, contract.UpdateDecide, contract.DecideRequest{Approver: "bob", Decision: approval.Reject, Comment: "over budget"})
	env.ExecuteWorkflow(Approval, approvalInput(4*time.Hour, contract.ApprovalLevel{Approvers: []string{"ada", "bob"}, Timeout: 24 * time.Hour}))
	st := result(t, env)
	sameLog(t, f.log, []string{"0s asked L1 [ada bob]", "0s executive_alert L1 [executive] deciding", "4h0m0s reminded L1 [ada bob]", "5h0m0s decided L1 [req]"})
	if !out.done || out.err != nil || out.rejected != nil {
		t.Fatalf("update: %+v", out)
	}
	if out.state.Status != approval.Rejected || out.state.DecidedBy != "bob" || out.state.Comment != "over budget" {
		t.Fatalf("the update answered %+v, want rejected by bob with the comment", out.state)
	}
	if st.Status != approval.Rejected || f.closed.DecidedBy != "bob" || !f.closed.ClosedAt.Equal(approvalT0.Add(5*time.Hour)) {
		t.Fatalf("state %+v, stored %+v", st, f.closed)
	}
}

func TestApprovalEarlierLevelDecidesAfterEscalation(t *testing.T) {
	env, f := approvalEnv(t)
	early := decideAt(env, 30*time.Minute, contract.UpdateDecide, contract.DecideRequest{Approver: "bob", Decision: approval.Approve})
	out := decideAt(env, 90*time.Minute, contract.UpdateDecide, contract.DecideRequest{Approver: "ada", Decision: approval.Approve})
	env.ExecuteWorkflow(Approval, approvalInput(0,
		contract.ApprovalLevel{Approvers: []string{"ada"}, Timeout: time.Hour},
		contract.ApprovalLevel{Approvers: []string{"bob"}, Timeout: time.Hour}))
	st := result(t, env)
	var ae *temporal.ApplicationError
	if !errors.As(early.rejected, &ae) || ae.Type() != contract.ErrTypeNotApprover {
		t.Fatalf("a level-2 approver deciding before level 2 was asked: %v, want %s", early.rejected, contract.ErrTypeNotApprover)
	}
	if out.err != nil || out.rejected != nil || out.state.Status != approval.Approved || out.state.DecidedBy != "ada" {
		t.Fatalf("level 1 deciding during level 2: %+v", out)
	}
	if st.Status != approval.Approved || st.Level != 2 {
		t.Fatalf("state %+v", st)
	}
	sameLog(t, f.log, []string{"0s asked L1 [ada]", "1h0m0s escalated L2 [bob]", "1h0m0s executive_alert L2 [executive] deciding", "1h30m0s decided L2 [req]"})
}

func TestApprovalSecondDecisionIsRefusedNamingTheFirst(t *testing.T) {
	env, _ := approvalEnv(t)
	first := decideAt(env, time.Hour, contract.UpdateDecide, contract.DecideRequest{Approver: "ada", Decision: approval.Approve})
	second := decideAt(env, time.Hour, contract.UpdateDecide, contract.DecideRequest{Approver: "bob", Decision: approval.Reject})
	env.ExecuteWorkflow(Approval, approvalInput(0, contract.ApprovalLevel{Approvers: []string{"ada", "bob"}, Timeout: 24 * time.Hour}))
	st := result(t, env)
	if first.err != nil || first.rejected != nil {
		t.Fatalf("first decision: %+v", first)
	}
	err := second.rejected
	if err == nil {
		err = second.err
	}
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != contract.ErrTypeApprovalClosed {
		t.Fatalf("second decision: %v, want %s", err, contract.ErrTypeApprovalClosed)
	}
	var shown contract.ApprovalState
	if derr := ae.Details(&shown); derr != nil || shown.DecidedBy != "ada" || shown.ClosedAt == nil {
		t.Fatalf("the refusal's details %+v (%v) do not name who decided and when", shown, derr)
	}
	if st.DecidedBy != "ada" || st.Status != approval.Approved {
		t.Fatalf("state %+v", st)
	}
}

func TestApprovalWithdrawalTellsTheApprovers(t *testing.T) {
	env, f := approvalEnv(t)
	out := decideAt(env, 2*time.Hour, contract.UpdateWithdraw)
	env.ExecuteWorkflow(Approval, approvalInput(0,
		contract.ApprovalLevel{Approvers: []string{"ada"}, Timeout: time.Hour},
		contract.ApprovalLevel{Approvers: []string{"bob"}, Timeout: 4 * time.Hour}))
	st := result(t, env)
	if out.err != nil || out.rejected != nil || out.state.Status != approval.Withdrawn {
		t.Fatalf("withdraw: %+v", out)
	}
	// The executives alerted are told too: they held a link.
	sameLog(t, f.log, []string{"0s asked L1 [ada]", "1h0m0s escalated L2 [bob]", "1h0m0s executive_alert L2 [executive] deciding", "2h0m0s withdrawn L2 [ada bob exe]"})
	if st.Status != approval.Withdrawn || f.closed.Status != approval.Withdrawn {
		t.Fatalf("state %+v", st)
	}
}

func TestApprovalFailedCallbackIsRecorded(t *testing.T) {
	env, f := approvalEnv(t)
	f.callbackErr = errors.New("the callback URL answered HTTP 400")
	decideAt(env, time.Minute, contract.UpdateDecide, contract.DecideRequest{Approver: "ada", Decision: approval.Approve})
	env.ExecuteWorkflow(Approval, approvalInput(0, contract.ApprovalLevel{Approvers: []string{"ada"}, Timeout: time.Hour}))
	st := result(t, env)
	if st.Status != approval.Approved {
		t.Fatalf("a failed callback changed the outcome: %+v", st)
	}
	if len(f.history) != 1 || f.history[0].Kind != approval.Callback || f.history[0].Detail != "failed: the callback URL answered HTTP 400" {
		t.Fatalf("history %+v", f.history)
	}
}

// A reminder whose notice takes longer than remind_every (retried through
// an outage) does not make the missed ones go out in a burst.
func TestApprovalSkipsRemindersMissedWhileANoticeRetried(t *testing.T) {
	env, _ := approvalEnv(t)
	var sent []string
	record := func(n contract.ApprovalNotice) {
		sent = append(sent, fmt.Sprintf("%s %s %d", env.Now().Sub(approvalT0), n.Kind, n.N))
	}
	env.OnActivity(em.ApprovalNotice, mock.Anything, mock.MatchedBy(func(n contract.ApprovalNotice) bool {
		return n.Kind == approval.Reminded && n.N == 1
	})).After(9*time.Hour).Run(func(args mock.Arguments) { record(args.Get(1).(contract.ApprovalNotice)) }).Return(contract.ApprovalNoticeResult{}, nil)
	env.OnActivity(em.ApprovalNotice, mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) { record(args.Get(1).(contract.ApprovalNotice)) }).Return(contract.ApprovalNoticeResult{}, nil)
	env.ExecuteWorkflow(Approval, approvalInput(4*time.Hour, contract.ApprovalLevel{Approvers: []string{"ada"}, Timeout: 24 * time.Hour}))
	result(t, env)
	// The first reminder, due at 4h, is recorded when its notice returns (13h).
	sameLog(t, sent, []string{"0s asked 0", "0s executive_alert 0", "13h0m0s reminded 1", "16h0m0s reminded 4", "20h0m0s reminded 5",
		"24h0m0s expired 0"})
}

// A decision that arrives while a reminder is going out is taken at once;
// its answer waits until the outcome is stored, and no reminder follows.
func TestApprovalDecisionWhileAReminderGoesOut(t *testing.T) {
	env, _ := approvalEnv(t)
	var sent []string
	record := func(args mock.Arguments) {
		n := args.Get(1).(contract.ApprovalNotice)
		sent = append(sent, fmt.Sprintf("%s %s %d", env.Now().Sub(approvalT0), n.Kind, n.N))
	}
	env.OnActivity(em.ApprovalNotice, mock.Anything, mock.MatchedBy(func(n contract.ApprovalNotice) bool {
		return n.Kind == approval.Reminded && n.N == 1
	})).After(time.Hour).Run(record).Return(contract.ApprovalNoticeResult{}, nil)
	env.OnActivity(em.ApprovalNotice, mock.Anything, mock.Anything).Run(record).Return(contract.ApprovalNoticeResult{}, nil)
	out := decideAt(env, 4*time.Hour+30*time.Minute, contract.UpdateDecide, contract.DecideRequest{Approver: "ada", Decision: approval.Approve})
	env.ExecuteWorkflow(Approval, approvalInput(4*time.Hour, contract.ApprovalLevel{Approvers: []string{"ada"}, Timeout: 24 * time.Hour}))
	st := result(t, env)
	if out.err != nil || out.rejected != nil || out.state.Status != approval.Approved {
		t.Fatalf("the decision during the reminder: %+v", out)
	}
	if want := approvalT0.Add(4*time.Hour + 30*time.Minute); !st.ClosedAt.Equal(want) {
		t.Fatalf("decided at %s, want %s (when it arrived)", st.ClosedAt, want)
	}
	sameLog(t, sent, []string{"0s asked 0", "0s executive_alert 0", "5h0m0s reminded 1", "5h0m0s decided 0"})
}

// An executive alerted at the top level may decide with their own link;
// one not alerted (nor asked) may not.
func TestApprovalExecutiveAlertedAtTheTopDecides(t *testing.T) {
	env, f := approvalEnv(t)
	early := decideAt(env, 30*time.Minute, contract.UpdateDecide, contract.DecideRequest{Approver: "exe", Decision: approval.Approve})
	stranger := decideAt(env, 90*time.Minute, contract.UpdateDecide, contract.DecideRequest{Approver: "ceo2", Decision: approval.Approve})
	out := decideAt(env, 2*time.Hour, contract.UpdateDecide, contract.DecideRequest{Approver: "exe", Decision: approval.Reject, Comment: "no"})
	env.ExecuteWorkflow(Approval, approvalInput(0,
		contract.ApprovalLevel{Approvers: []string{"ada"}, Timeout: time.Hour},
		contract.ApprovalLevel{Approvers: []string{"bob"}, Timeout: 24 * time.Hour}))
	st := result(t, env)
	var ae *temporal.ApplicationError
	if !errors.As(early.rejected, &ae) || ae.Type() != contract.ErrTypeNotApprover {
		t.Fatalf("the executive deciding before the top level: %v, want %s", early.rejected, contract.ErrTypeNotApprover)
	}
	if !errors.As(stranger.rejected, &ae) || ae.Type() != contract.ErrTypeNotApprover {
		t.Fatalf("a user never alerted deciding: %v, want %s", stranger.rejected, contract.ErrTypeNotApprover)
	}
	if out.err != nil || out.rejected != nil || out.state.Status != approval.Rejected || out.state.DecidedBy != "exe" {
		t.Fatalf("the executive's decision: %+v", out)
	}
	if st.Status != approval.Rejected || st.DecidedBy != "exe" {
		t.Fatalf("state %+v", st)
	}
	sameLog(t, f.log, []string{"0s asked L1 [ada]", "1h0m0s escalated L2 [bob]", "1h0m0s executive_alert L2 [executive] deciding", "2h0m0s decided L2 [req]"})
}

// Runs begun before executives were alerted at the top level alert them,
// without links, when the approval expires, as they always did.
func TestApprovalBeforeExecutivesAtTopAlertsOnExpiry(t *testing.T) {
	env, f := approvalEnv(t)
	env.OnGetVersion(versionExecutivesAtTop, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	env.ExecuteWorkflow(Approval, approvalInput(0, contract.ApprovalLevel{Approvers: []string{"ada"}, Timeout: 18 * time.Hour}))
	st := result(t, env)
	sameLog(t, f.log, []string{"0s asked L1 [ada]", "18h0m0s executive_alert L1 [executive]", "18h0m0s expired L1 [req]"})
	if len(st.Asked) != 1 {
		t.Fatalf("asked %+v", st.Asked)
	}
}
