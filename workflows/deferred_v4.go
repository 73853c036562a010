package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/delivery"
)

// maxWaitRounds bounds how many releases one run handles before it continues
// as new: an event deferred across many zones, or re-armed often, waits for
// days, and its history must not grow with every release.
const maxWaitRounds = 100

// awaitDeferred waits for the event's deferred deliveries, one durable timer
// at a time: on the earliest release time among them, however many
// recipients share it. When it fires, the due deliveries are decided again
// and sent. A reschedule signal names a recipient who changed their
// preferences while deliveries waited: the timer is cancelled, that
// recipient's deliveries are decided again (skipped if turned off, sent now
// if no longer quiet, moved to the new window's end otherwise), and the
// earliest time is read again, as the updatable-timer pattern does. The event
// closes when nothing waits.
func (n *notifyV4) awaitDeferred(ctx workflow.Context) (contract.NotifyResult, error) {
	signals := workflow.GetSignalChannel(ctx, contract.SignalReschedule)
	var moved []string
	for round := 0; ; round++ {
		moved = receiveAll(signals, moved)
		slices.Sort(moved)
		for _, user := range slices.Compact(moved) {
			if user == "" || n.cancelled() {
				continue // a cancel ended the wait, not a user's change
			}
			if err := n.release(ctx, user); err != nil {
				return n.finish(ctx, delivery.EventFailed, err)
			}
		}
		moved = moved[:0]
		var next *time.Time
		if err := workflow.ExecuteLocalActivity(n.lctx, a.NextRelease, n.in.EventID).Get(ctx, &next); err != nil {
			return n.finish(ctx, delivery.EventFailed, err)
		}
		if n.cancelled() {
			// The API cancelled what waited; what is left pending is held
			// by a send in progress, which settles on its own.
			return n.finish(ctx, delivery.EventCancelled, nil)
		}
		if next == nil {
			return n.finish(ctx, delivery.Outcome(n.result.Delivered, n.result.Failed), nil)
		}
		if round >= maxWaitRounds || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			// Signals not yet read are lost with this run; the next one
			// reads every waiting delivery's time again, and a recipient's
			// change is decided at release in any case.
			cont := n.in
			cont.Waiting, cont.After, cont.Carried, cont.Parked = true, "", &n.result, n.parked
			return n.result, workflow.NewContinueAsNewError(ctx, NotifyEvent, cont)
		}
		if wait := next.Sub(workflow.Now(ctx)); wait > 0 {
			if moved = n.sleep(ctx, wait, signals); len(moved) > 0 {
				continue
			}
		}
		if err := n.release(ctx, ""); err != nil {
			// The database steps retry for hours first; what is left
			// pending stays visible in the delivery log.
			return n.finish(ctx, delivery.EventFailed, err)
		}
	}
}

// sleep waits for d on a durable timer. A reschedule signal ends it early;
// it returns the users signalled (none when the timer ran out).
func (n *notifyV4) sleep(ctx workflow.Context, d time.Duration, signals workflow.ReceiveChannel) []string {
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	var moved []string
	workflow.NewSelector(ctx).
		AddFuture(workflow.NewTimer(tctx, d), func(workflow.Future) {}).
		AddReceive(signals, func(c workflow.ReceiveChannel, _ bool) {
			var user string
			c.Receive(ctx, &user)
			moved = append(moved, user)
		}).
		AddReceive(n.cancels, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			n.cancelSeen = true
			moved = append(moved, "") // end the wait; the loop sees the cancel
		}).
		Select(ctx)
	return moved
}

// release pages through the deliveries due now (or every one of user's),
// sends those still wanted and settles them before the next release time is
// read, so a delivery in flight is never released twice.
func (n *notifyV4) release(ctx workflow.Context, user string) error {
	in := activities.ReleaseInput{EventID: n.in.EventID, AsOf: workflow.Now(ctx), UserID: user, Limit: PageSize}
	for {
		var res activities.ReleaseResult
		if err := workflow.ExecuteLocalActivity(n.lctx, a.ReleaseDue, in).Get(ctx, &res); err != nil {
			n.settleAll(ctx)
			return err
		}
		n.add(0, res.Skipped, res.Failed)
		for _, b := range res.Batches {
			n.dispatch(ctx, b, 0)
		}
		if res.Last == nil {
			break
		}
		in.After = *res.Last
	}
	n.settleAll(ctx)
	return nil
}

// receiveAll appends every signal already delivered to moved.
func receiveAll(c workflow.ReceiveChannel, moved []string) []string {
	var user string
	for c.ReceiveAsync(&user) {
		moved = append(moved, user)
	}
	return moved
}
