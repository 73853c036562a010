package workflows

import (
	"time"

	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/delivery"
)

// maxReplansPerRun bounds one window's history when preferences change
// over and over while it is open.
const maxReplansPerRun = 100

// Digest owns one user's digest window on one channel: it sleeps on a
// durable timer until the window closes (the next boundary of any cadence
// the user digests at on the channel, past their quiet hours), lists every
// item due then on one digest, sends it, and continues as new for the next
// window, or ends when nothing waits. Categories digested less often wait
// for a later close of the same window. A reschedule signal (the user
// changed their preferences) plans the close again: back on immediate, it
// is now. With a Group, it owns a collapse window instead: the same steps
// over the user's events of one type and group key, closing group_window
// after the first of them.
func Digest(ctx workflow.Context, in contract.DigestInput) error {
	w := activities.DigestWindow{TenantID: in.TenantID, UserID: in.UserID, Channel: in.Channel}
	if in.Group != nil {
		// A collapse window: the same steps over the items of one event
		// type and group key, closing on their own clock.
		w.GroupType, w.GroupKey = in.Group.Type, in.Group.Key
	}
	log := sdklog.With(workflow.GetLogger(ctx), "tenant", in.TenantID.String(), "user_id", in.UserID, "channel", string(in.Channel))
	opened := workflow.Now(ctx)
	if in.Opened != nil {
		opened = *in.Opened
	}
	lctx := dbSteps(ctx)
	arms := workflow.GetSignalChannel(ctx, contract.SignalDigestArm)
	replans := workflow.GetSignalChannel(ctx, contract.SignalReschedule)
	var plan activities.DigestPlan
	for round := 0; ; round++ {
		pin := activities.PlanDigestInput{DigestWindow: w, Opened: opened, AsOf: workflow.Now(ctx), Every: in.Every}
		if err := workflow.ExecuteLocalActivity(lctx, a.PlanDigest, pin).Get(ctx, &plan); err != nil {
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
	pin := activities.PrepareDigestInput{DigestWindow: w, CloseAt: plan.CloseAt, Frequency: plan.Frequency, Every: in.Every,
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID}
	if err := workflow.ExecuteLocalActivity(lctx, a.PrepareDigest, pin).Get(ctx, &prep); err != nil {
		return retryWindowLater(ctx, log, in, opened, err)
	}
	if prep.Items > 0 {
		if workflow.GetVersion(ctx, versionDigestLanes, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			sendDigestV4(ctx, newNotifyV4(ctx, contract.NotifyInput{TenantID: in.TenantID}), log, in.Channel, prep)
		} else {
			sendDigest(ctx, log, in, prep)
		}
	}
	var closed bool
	if err := workflow.ExecuteLocalActivity(lctx, a.CloseDigestWindow, w, prep.Seq).Get(ctx, &closed); err != nil {
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

// versionDigestLanes moves digests onto the dispatcher: a digest its channel
// defers waits in the database for its next try, as any delivery does.
const versionDigestLanes = "digest-lanes"

// sendDigest delivers a window's digest, and every next try its channel
// asks for, then records its outcome.
func sendDigest(ctx workflow.Context, log sdklog.Logger, in contract.DigestInput, prep activities.PreparedDigest) {
	log = sdklog.With(log, "event_id", prep.EventID.String())
	d := newDispatcher(ctx, in.TenantID, prep.EventID, log)
	d.submit(ctx, delivery.Batch{Channel: in.Channel, DeliveryIDs: prep.DeliveryIDs()}, 0)
	d.deliverAll(ctx)
	settle := activities.SettleInput{EventID: prep.EventID, RunID: workflow.GetInfo(ctx).WorkflowExecution.RunID}
	if err := workflow.ExecuteLocalActivity(d.lctx, a.SettleEvent, settle).Get(ctx, nil); err != nil {
		log.Error("recording the digest's outcome", "error", err)
	}
}

// sendDigestV4 is sendDigest as released before versionDigestLanes.
func sendDigestV4(ctx workflow.Context, n *notifyV4, log sdklog.Logger, ch channel.Channel, prep activities.PreparedDigest) {
	n.in.EventID = prep.EventID
	n.log = sdklog.With(log, "event_id", prep.EventID.String())
	n.dispatch(ctx, delivery.Batch{Channel: ch, DeliveryIDs: prep.DeliveryIDs()}, 0)
	n.settleAll(ctx)
	status := delivery.Outcome(n.result.Delivered, n.result.Failed)
	close := activities.CloseInput{EventID: prep.EventID, Status: status, RunID: workflow.GetInfo(ctx).WorkflowExecution.RunID}
	if err := workflow.ExecuteLocalActivity(n.lctx, a.CloseEvent, close).Get(ctx, nil); err != nil {
		log.Error("recording the digest's outcome", "status", status, "error", err)
	}
}

// windowRetryDelay is how long a window whose database steps failed (after
// their own two hours of retries) waits before it tries again.
const windowRetryDelay = 10 * time.Minute

// retryWindowLater keeps a window whose steps failed: its row stays armed,
// so no page would start another workflow for its items, and failing this
// one would strand them.
func retryWindowLater(ctx workflow.Context, log sdklog.Logger, in contract.DigestInput, opened time.Time, err error) error {
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
