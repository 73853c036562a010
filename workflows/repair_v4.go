package workflows

import (
	"slices"

	"github.com/google/uuid"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/delivery"
)

// maxRepairRounds bounds one run's retry rounds before it continues as new,
// so an event retried again and again keeps a small history.
const maxRepairRounds = 50

// awaitRetry waits, up to RetryWindow after each round, for a retry signal
// naming failed deliveries (or none: all of them). It sends them again
// through the same claim-and-send path, records the event's new outcome, and
// waits again while any delivery is still failed. Signals that arrive
// together are merged into one round, so a delivery is sent again once.
func (n *notifyV4) awaitRetry(ctx workflow.Context) (contract.NotifyResult, error) {
	signals := workflow.GetSignalChannel(ctx, contract.SignalRetry)
	for round := 0; ; round++ {
		ids, all, ok := n.waitRetry(ctx, signals)
		if !ok {
			return n.result, nil // nobody asked within the window
		}
		if all {
			ids = nil
		}
		var requeued activities.RequeueResult
		in := activities.RequeueInput{EventID: n.in.EventID, IDs: ids}
		if err := workflow.ExecuteLocalActivity(n.lctx, a.RequeueFailed, in).Get(ctx, &requeued); err != nil {
			n.log.Error("requeueing failed deliveries", "error", err)
			continue
		}
		if len(requeued.Batches) > 0 {
			n.setStatus(ctx, delivery.EventPending)
			for _, b := range requeued.Batches {
				n.dispatch(ctx, b, 0)
			}
			n.settleAll(ctx)
		}
		var tally activities.Tally
		if err := workflow.ExecuteLocalActivity(n.lctx, a.TallyEvent, n.in.EventID).Get(ctx, &tally); err != nil {
			n.log.Error("tallying the event", "error", err)
			continue
		}
		n.result.Delivered, n.result.Skipped, n.result.Failed = tally.Delivered, tally.Skipped, tally.Failed
		n.setStatus(ctx, delivery.Outcome(tally.Delivered, tally.Failed))
		if tally.Failed == 0 {
			return n.result, nil
		}
		if round+1 >= maxRepairRounds || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			cont := n.in
			cont.Repair, cont.Waiting, cont.After, cont.Carried, cont.Parked = true, false, "", &n.result, n.parked
			return n.result, workflow.NewContinueAsNewError(ctx, NotifyEvent, cont)
		}
	}
}

// waitRetry waits for the first retry signal and takes every other one
// already delivered. all reports that one of them asked for every failed
// delivery; ok is false when the window ran out first.
func (n *notifyV4) waitRetry(ctx workflow.Context, signals workflow.ReceiveChannel) (ids []uuid.UUID, all, ok bool) {
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	take := func(c workflow.ReceiveChannel) {
		var asked []uuid.UUID
		c.Receive(ctx, &asked)
		if len(asked) == 0 {
			all = true
		}
		ids = append(ids, asked...)
		ok = true
	}
	workflow.NewSelector(ctx).
		AddFuture(workflow.NewTimer(tctx, contract.RetryWindow), func(workflow.Future) {}).
		AddReceive(signals, func(c workflow.ReceiveChannel, _ bool) { take(c) }).
		Select(ctx)
	for ok {
		var asked []uuid.UUID
		if !signals.ReceiveAsync(&asked) {
			break
		}
		if len(asked) == 0 {
			all = true
		}
		ids = append(ids, asked...)
	}
	slices.SortFunc(ids, func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) })
	return slices.Compact(ids), all, ok
}

// setStatus records the event's status in its search attribute and on its
// row, as finish does, without ending the run.
func (n *notifyV4) setStatus(ctx workflow.Context, status delivery.EventStatus) {
	n.result.Status = status
	if err := workflow.UpsertTypedSearchAttributes(ctx, contract.AttrStatus.ValueSet(string(status))); err != nil {
		n.log.Warn("setting the status search attribute", "status", status, "error", err)
	}
	close := activities.CloseInput{EventID: n.in.EventID, Status: status}
	if err := workflow.ExecuteLocalActivity(n.lctx, a.CloseEvent, close).Get(ctx, nil); err != nil {
		n.log.Error("recording the event's status", "status", status, "error", err)
	}
}
