package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/approval"
	"github.com/heraldhq/herald/audience"
	"github.com/heraldhq/herald/contract"
)

// approvalRecordOptions retry the database steps for a day, like an
// emission: an outage delays an outcome, it never loses it.
var approvalRecordOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    30 * time.Second,
	ScheduleToCloseTimeout: 24 * time.Hour,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
	},
}

// approvalCallbackOptions retry the callback for a day with backoff; a
// refusal the receiver cannot heal (a 4xx, a forbidden address) fails at
// once and is recorded in the history.
var approvalCallbackOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    30 * time.Second,
	ScheduleToCloseTimeout: 24 * time.Hour,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Minute,
	},
}

// Approval asks each level of approvers in turn until one decides: level 1
// is asked, reminded every RemindEvery, and when its timeout passes the
// next level is asked (urgently) while earlier approvers may still decide.
// When the top level is asked, executives are alerted, each with a link of
// their own, and may decide too. When the top level times out the approval
// expires. The first decision, or a withdrawal, ends it; the outcome is
// stored, the requester told, and the callback posted.
func Approval(ctx workflow.Context, in contract.ApprovalInput) (contract.ApprovalState, error) {
	f := &approvalFlow{ctx: ctx, in: in, st: contract.ApprovalState{Status: approval.Pending, Asked: []contract.ApprovalAsked{}}}
	if err := f.handle(); err != nil {
		return f.st, err
	}
	return f.run()
}

type approvalFlow struct {
	ctx workflow.Context
	in  contract.ApprovalInput
	st  contract.ApprovalState
	// expires is when the last level times out.
	expires time.Time
	// stored: the outcome is in the database, so an update answering it
	// cannot be contradicted by a read that follows.
	stored bool
	// alerted: executives were alerted at the top level.
	alerted bool
}

// versionExecutivesAtTop: executives are alerted, with links of their own,
// when the top level is asked. Runs from before alerted them, without
// links, when the approval expired.
const versionExecutivesAtTop = "approval-executives-at-top"

func (f *approvalFlow) run() (contract.ApprovalState, error) {
	f.expires = workflow.Now(f.ctx)
	for _, lv := range f.in.Levels {
		f.expires = f.expires.Add(lv.Timeout)
	}
	for i, lv := range f.in.Levels {
		if f.st.Status.Closed() {
			break
		}
		f.ask(i+1, lv)
		if i+1 == len(f.in.Levels) && !f.st.Status.Closed() {
			f.alertExecutives(i + 1)
		}
		f.waitLevel(i+1, lv)
	}
	if !f.st.Status.Closed() {
		// Expired first: a decision arriving while executives are alerted
		// is refused, not taken and then overwritten.
		now := workflow.Now(f.ctx)
		f.st.Status, f.st.ClosedAt = approval.Expired, &now
		if !f.alerted {
			f.notice(contract.ApprovalNotice{Kind: approval.ExecutiveAlert, Level: len(f.in.Levels), Roles: []string{string(audience.Executive)}})
		}
	}
	if err := f.settle(); err != nil {
		return f.st, err
	}
	// An update still answering must see its answer out before the run ends.
	if err := workflow.Await(f.ctx, func() bool { return workflow.AllHandlersFinished(f.ctx) }); err != nil {
		return f.st, err
	}
	return f.st, nil
}

// handle registers the query and the updates.
func (f *approvalFlow) handle() error {
	if err := workflow.SetQueryHandler(f.ctx, contract.QueryApproval, func() (contract.ApprovalState, error) { return f.st, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(f.ctx, contract.UpdateDecide, f.decide,
		workflow.UpdateHandlerOptions{Validator: f.validateDecision}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(f.ctx, contract.UpdateWithdraw, f.withdraw,
		workflow.UpdateHandlerOptions{Validator: func() error { return f.refuseClosed() }})
}

func (f *approvalFlow) refuseClosed() error {
	if !f.st.Status.Closed() {
		return nil
	}
	what := string(f.st.Status)
	if f.st.DecidedBy != "" {
		what += " by " + f.st.DecidedBy
	}
	if f.st.ClosedAt != nil {
		what += " at " + f.st.ClosedAt.UTC().Format(time.RFC3339)
	}
	return temporal.NewApplicationError(fmt.Sprintf("approval %s is already %s", f.in.ID, what), contract.ErrTypeApprovalClosed, f.st)
}

func (f *approvalFlow) validateDecision(_ workflow.Context, req contract.DecideRequest) error {
	if err := f.refuseClosed(); err != nil {
		return err
	}
	if !req.Decision.Valid() {
		return temporal.NewApplicationError(fmt.Sprintf("decision %q is neither approve nor reject", req.Decision), contract.ErrTypeBadDecision)
	}
	if !slices.ContainsFunc(f.st.Asked, func(a contract.ApprovalAsked) bool { return a.User == req.Approver }) {
		return temporal.NewApplicationError(fmt.Sprintf("%q has not been asked to decide approval %s", req.Approver, f.in.ID), contract.ErrTypeNotApprover)
	}
	return nil
}

// decide records the first decision. Validators of updates delivered
// together all run before any handler, so the handler checks again: of
// any number of concurrent decisions exactly one is taken.
func (f *approvalFlow) decide(ctx workflow.Context, req contract.DecideRequest) (contract.ApprovalState, error) {
	if err := f.validateDecision(ctx, req); err != nil {
		return f.st, err
	}
	now := workflow.Now(ctx)
	f.st.Status, f.st.DecidedBy, f.st.Decision, f.st.Comment, f.st.ClosedAt = req.Decision.Status(), req.Approver, req.Decision, req.Comment, &now
	if err := workflow.Await(ctx, func() bool { return f.stored }); err != nil {
		return f.st, err
	}
	return f.st, nil
}

func (f *approvalFlow) withdraw(ctx workflow.Context) (contract.ApprovalState, error) {
	if err := f.refuseClosed(); err != nil {
		return f.st, err
	}
	now := workflow.Now(ctx)
	f.st.Status, f.st.ClosedAt = approval.Withdrawn, &now
	if err := workflow.Await(ctx, func() bool { return f.stored }); err != nil {
		return f.st, err
	}
	return f.st, nil
}

// ask tells a level's approvers: level 1 is requested, later levels are
// escalated to.
func (f *approvalFlow) ask(level int, lv contract.ApprovalLevel) {
	kind := approval.Asked
	if level > 1 {
		kind = approval.Escalated
	}
	f.st.Level = level
	for _, u := range lv.Approvers {
		if !slices.ContainsFunc(f.st.Asked, func(a contract.ApprovalAsked) bool { return a.User == u }) {
			f.st.Asked = append(f.st.Asked, contract.ApprovalAsked{User: u, Level: level})
		}
	}
	f.notice(contract.ApprovalNotice{Kind: kind, Level: level, Users: lv.Approvers})
}

// alertExecutives tells the executives, each with their own link, that the
// approval reached its top level, and lets those told decide.
func (f *approvalFlow) alertExecutives(level int) {
	if workflow.GetVersion(f.ctx, versionExecutivesAtTop, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return // alerted, without links, when it expires
	}
	f.alerted = true
	told := f.notice(contract.ApprovalNotice{Kind: approval.ExecutiveAlert, Level: level, Roles: []string{string(audience.Executive)}, Decide: true})
	for _, u := range told.Users {
		if !slices.ContainsFunc(f.st.Asked, func(a contract.ApprovalAsked) bool { return a.User == u }) {
			f.st.Asked = append(f.st.Asked, contract.ApprovalAsked{User: u, Level: level})
		}
	}
}

// waitLevel waits for a decision until the level's timeout, reminding its
// approvers every RemindEvery (counted from when the level was asked; a
// reminder due at the timeout gives way to the escalation).
func (f *approvalFlow) waitLevel(level int, lv contract.ApprovalLevel) {
	start := workflow.Now(f.ctx)
	deadline := start.Add(lv.Timeout)
	f.st.Deadline = &deadline
	for n := 1; ; n++ {
		now := workflow.Now(f.ctx)
		next := deadline
		if f.in.RemindEvery > 0 {
			// Reminders missed while a notice was retried are skipped, not
			// sent in a burst.
			n = max(n, int(now.Sub(start)/f.in.RemindEvery)+1)
			if r := start.Add(time.Duration(n) * f.in.RemindEvery); r.Before(deadline) {
				next = r
			}
		}
		closed, err := workflow.AwaitWithTimeout(f.ctx, max(next.Sub(now), 0), func() bool { return f.st.Status.Closed() })
		if err != nil || closed || !workflow.Now(f.ctx).Before(deadline) {
			return
		}
		f.notice(contract.ApprovalNotice{Kind: approval.Reminded, Level: level, N: n, Users: lv.Approvers})
	}
}

// notice emits and waits for it. A notice that fails for good (an
// approver deleted since) is logged: it must not stop the approval.
func (f *approvalFlow) notice(n contract.ApprovalNotice) contract.ApprovalNoticeResult {
	n.TenantID, n.ID, n.Expires = f.in.TenantID, f.in.ID, f.expires
	ctx := workflow.WithActivityOptions(f.ctx, emitOptions)
	var res contract.ApprovalNoticeResult
	if err := workflow.ExecuteActivity(ctx, em.ApprovalNotice, n).Get(ctx, &res); err != nil {
		workflow.GetLogger(f.ctx).Warn("approval notice failed", "kind", n.Kind, "level", n.Level, "error", err)
		return contract.ApprovalNoticeResult{}
	}
	return res
}

// settle stores the outcome, releases the updates waiting for it, tells
// the requester (or, on a withdrawal, the approvers) and posts the callback.
func (f *approvalFlow) settle() error {
	rctx := workflow.WithActivityOptions(f.ctx, approvalRecordOptions)
	if err := workflow.ExecuteActivity(rctx, em.CloseApproval,
		contract.ApprovalClose{TenantID: f.in.TenantID, ID: f.in.ID, State: f.st}).Get(rctx, nil); err != nil {
		return err
	}
	f.stored = true
	st := f.st
	if st.Status == approval.Withdrawn {
		users := make([]string, 0, len(st.Asked))
		for _, a := range st.Asked {
			users = append(users, a.User)
		}
		f.notice(contract.ApprovalNotice{Kind: approval.WithdrawnKind, Level: st.Level, Users: users, State: &st})
	} else {
		f.notice(contract.ApprovalNotice{Kind: outcomeKind(st.Status), Level: st.Level, Users: []string{f.in.Requester}, State: &st})
	}
	if !f.in.Callback {
		return nil
	}
	cctx := workflow.WithActivityOptions(f.ctx, approvalCallbackOptions)
	err := workflow.ExecuteActivity(cctx, em.ApprovalCallback, contract.ApprovalClose{TenantID: f.in.TenantID, ID: f.in.ID, State: st}).Get(cctx, nil)
	if err == nil {
		return nil
	}
	// The outcome stands; the failed callback is recorded for the client
	// to see in GET /v1/approvals/{id}.
	detail := "failed"
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		detail = "failed: " + ae.Message()
	}
	return workflow.ExecuteActivity(rctx, em.ApprovalHistory, contract.ApprovalEntry{TenantID: f.in.TenantID, ID: f.in.ID,
		Key: approval.Key(f.in.ID, approval.Callback, 0, 0, "failed"), Kind: approval.Callback, Detail: detail, At: workflow.Now(f.ctx)}).Get(rctx, nil)
}

func outcomeKind(s approval.Status) approval.Kind {
	if s == approval.Expired {
		return approval.ExpiredKind
	}
	return approval.Decided
}
