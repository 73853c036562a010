package workflows

import (
	"time"

	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/delivery"
)

// maxReplansPerRun bounds one window's history when preferences change
// over and over while it is open.
const maxReplansPerRun = 100

// Digest owns one user's digest window on one channel: it sleeps on a
// durable timer until the window closes (the next boundary of the user's
// cadence, past their quiet hours), lists every item the window collected
// on one digest, sends it, and continues as new for the next window, or
// ends when no item came since. A reschedule signal (the user changed
// their preferences) plans the close again: back on immediate, it is now.
func Digest(ctx workflow.Context, in DigestInput) error {
	w := activities.DigestWindow{TenantID: in.TenantID, UserID: in.UserID, Channel: in.Channel}
	log := sdklog.With(workflow.GetLogger(ctx), "tenant", in.TenantID.String(), "user_id", in.UserID, "channel", string(in.Channel))
	opened := workflow.Now(ctx)
	if in.Opened != nil {
		opened = *in.Opened
	}
	n := newNotify(ctx, NotifyInput{TenantID: in.TenantID})
	arms := workflow.GetSignalChannel(ctx, SignalDigestArm)
	replans := workflow.GetSignalChannel(ctx, SignalReschedule)
	var plan activities.DigestPlan
	for round := 0; ; round++ {
		pin := activities.PlanDigestInput{DigestWindow: w, Opened: opened, AsOf: workflow.Now(ctx), Every: in.Every}
		if err := workflow.ExecuteLocalActivity(n.lctx, a.PlanDigest, pin).Get(ctx, &plan); err != nil {
			return retryWindowLater(ctx, log, in, opened, err)
		}
		if !waitForClose(ctx, plan.CloseAt, arms, replans) {
			break
		}
		if round >= maxReplansPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			in.Opened = &opened
			return workflow.NewContinueAsNewError(ctx, Digest, in)
		}
	}
	var prep activities.PreparedDigest
	pin := activities.PrepareDigestInput{DigestWindow: w, CloseAt: plan.CloseAt, Frequency: plan.Frequency,
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID}
	if err := workflow.ExecuteLocalActivity(n.lctx, a.PrepareDigest, pin).Get(ctx, &prep); err != nil {
		return retryWindowLater(ctx, log, in, opened, err)
	}
	if prep.Items > 0 {
		n.in.EventID = prep.EventID
		n.log = sdklog.With(log, "event_id", prep.EventID.String())
		n.dispatch(ctx, activities.Batch{Channel: in.Channel, DeliveryIDs: prep.DeliveryIDs()}, 0)
		n.settleAll(ctx)
		status := delivery.Outcome(n.result.Delivered, n.result.Failed)
		close := activities.CloseInput{EventID: prep.EventID, Status: status, RunID: workflow.GetInfo(ctx).WorkflowExecution.RunID}
		if err := workflow.ExecuteLocalActivity(n.lctx, a.CloseEvent, close).Get(ctx, nil); err != nil {
			log.Error("recording the digest's outcome", "status", status, "error", err)
		}
	}
	var closed bool
	if err := workflow.ExecuteLocalActivity(n.lctx, a.CloseDigestWindow, w, prep.Seq).Get(ctx, &closed); err != nil {
		closed = false // the window stays armed, so this workflow must go on
		log.Error("closing the digest window", "error", err)
	}
	// A signal that came meanwhile is a page that found the window idle
	// after it closed and armed it again: its item needs another window.
	armed := arms.ReceiveAsync(nil) || replans.ReceiveAsync(nil)
	if closed && !armed {
		return nil
	}
	next := workflow.Now(ctx)
	in.Opened = &next
	return workflow.NewContinueAsNewError(ctx, Digest, in)
}

// windowRetryDelay is how long a window whose database steps failed (after
// their own two hours of retries) waits before it tries again.
const windowRetryDelay = 10 * time.Minute

// retryWindowLater keeps a window whose steps failed: its row stays armed,
// so no page would start another workflow for its items, and failing this
// one would strand them.
func retryWindowLater(ctx workflow.Context, log sdklog.Logger, in DigestInput, opened time.Time, err error) error {
	log.Error("digest window step failed; trying again later", "error", err)
	if err := workflow.Sleep(ctx, windowRetryDelay); err != nil {
		return err
	}
	in.Opened = &opened
	return workflow.NewContinueAsNewError(ctx, Digest, in)
}

// waitForClose sleeps until closeAt and reports whether a reschedule
// signal cut the wait short (the close must be planned again). Arm signals
// are taken as they come: the window is already open.
func waitForClose(ctx workflow.Context, closeAt time.Time, arms, replans workflow.ReceiveChannel) bool {
	wait := closeAt.Sub(workflow.Now(ctx))
	if wait <= 0 {
		return false
	}
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	fired, replan := false, false
	sel := workflow.NewSelector(ctx).
		AddFuture(workflow.NewTimer(tctx, wait), func(workflow.Future) { fired = true }).
		AddReceive(replans, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); replan = true }).
		AddReceive(arms, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	for !fired && !replan {
		sel.Select(ctx)
	}
	return replan
}
