package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/delivery"
)

// maxPagesPerRun bounds one run's history (a page is a handful of events);
// a larger audience continues as a new run, so no recipient count reaches
// Temporal's history limits.
const maxPagesPerRun = 200

// fastPathSize is the largest batch first tried inside the workflow task
// (see dispatcher.sendFast).
const fastPathSize = 20

// maxRetryRounds bounds how often a batch whose outcome could only partly be
// recorded is sent again by the workflow itself.
const maxRetryRounds = 3

// maxLoopRounds bounds how many wakes one run's settling loop handles before
// it continues as new: an event deferred across many zones, retried again
// and again, or waiting for days must not grow its history with every wake.
const maxLoopRounds = 200

// versionBatches switches runs to channel batches (Deliver); runs begun
// before it replay through runV1.
const versionBatches = "channel-batches"

// a is the activities' method set; the worker registers the real instance.
var a *activities.Activities

// NotifyEvent delivers one event to its recipients on every channel they
// allow: it plans the recipients page by page, delivers each channel in its
// own lane, lets what a channel deferred wait in the database for its next
// try, and records the outcome. A run with failed deliveries then waits for
// an operator's retry. Retry, cancel and reschedule signals are acted on in
// every phase, within a workflow task of their arrival.
func NotifyEvent(ctx workflow.Context, in contract.NotifyInput) (contract.NotifyResult, error) {
	if err := tagSearchAttributes(ctx, in); err != nil {
		return contract.NotifyResult{}, err
	}
	if in.Engine < contract.EngineLanes {
		return notifyV4Run(ctx, in)
	}
	return newEventRun(ctx, in).run(ctx)
}

// tagSearchAttributes sets the search attributes on a run started without
// them (from the CLI or the UI; the API sets them at start), so operators
// can still filter on it.
func tagSearchAttributes(ctx workflow.Context, in contract.NotifyInput) error {
	if _, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(contract.AttrTenant); ok {
		return nil
	}
	return workflow.UpsertTypedSearchAttributes(ctx,
		contract.AttrTenant.ValueSet(in.TenantID.String()), contract.AttrEventType.ValueSet(in.Type),
		contract.AttrStatus.ValueSet(string(delivery.EventPending)))
}

// eventRun is one run of an event's NotifyEvent (EngineLanes).
type eventRun struct {
	in  contract.NotifyInput
	log sdklog.Logger
	d   *dispatcher

	retries, cancels, reschedules workflow.ReceiveChannel
	// Signals taken and not acted on yet.
	cancelled bool
	retryIDs  []uuid.UUID
	retryAll  bool
	moved     []string

	// closed: the outcome is recorded and the run waits, until repairBy,
	// only for retries.
	closed   bool
	repairBy time.Time
	// broken is a failure no retry heals (the event cannot be planned).
	broken error
	result contract.NotifyResult
}

func newEventRun(ctx workflow.Context, in contract.NotifyInput) *eventRun {
	// Every line about the event carries its tenant and ID; the SDK adds
	// the workflow's.
	log := sdklog.With(workflow.GetLogger(ctx), "tenant", in.TenantID.String(), "event_id", in.EventID.String())
	r := &eventRun{in: in, log: log, d: newDispatcher(ctx, in.TenantID, in.EventID, log),
		retries: workflow.GetSignalChannel(ctx, contract.SignalRetry), cancels: workflow.GetSignalChannel(ctx, contract.SignalCancel),
		reschedules: workflow.GetSignalChannel(ctx, contract.SignalReschedule),
		retryIDs:    in.RetryIDs, retryAll: in.RetryAll, moved: in.Moved, closed: in.Closed}
	if in.RepairBy != nil {
		r.repairBy = *in.RepairBy
	}
	if in.Carried != nil {
		r.result = *in.Carried
	}
	return r
}

// run is the event's process: wait for send_at, plan and send every page,
// then settle what waits and record the outcome.
func (r *eventRun) run(ctx workflow.Context) (contract.NotifyResult, error) {
	switch {
	case r.in.Repair:
		// Started (with its signal) for an event whose first run completed.
		r.closed = true
		r.repairBy = workflow.Now(ctx).Add(contract.RetryWindow)
	case r.in.Waiting:
		// Continued in the settling phase: what waits is in the database.
		r.d.stale = true
	default:
		if r.in.After == "" {
			r.awaitSendAt(ctx)
		}
		if !r.cancelled {
			if err := r.fanOut(ctx); err != nil {
				return r.result, err // continued as new
			}
		}
	}
	return r.settle(ctx)
}

// awaitSendAt waits for the event's send_at on a durable timer, unless the
// event is cancelled first.
func (r *eventRun) awaitSendAt(ctx workflow.Context) {
	at := r.in.SendAt
	for at != nil && at.After(workflow.Now(ctx)) && !r.cancelled {
		r.d.wait(ctx, at, r.signalCases(ctx))
	}
}

// fanOut plans the recipients page by page: each page stores its in-app
// items and hands every other channel's batch to its lane. Between pages it
// tends to what came meanwhile, and keeps pace with lanes that keep up. It
// returns a continue-as-new error when the audience needs another run.
func (r *eventRun) fanOut(ctx workflow.Context) error {
	after := r.in.After
	if after != "" {
		// A continued fan-out: what the last run handed to the database
		// is due now.
		r.d.stale = true
		r.d.nextDue(ctx)
	}
	for pages := 1; ; pages++ {
		r.tend(ctx)
		if r.cancelled {
			return nil
		}
		page, err := r.preparePage(ctx, after)
		if err != nil {
			if temporal.IsApplicationError(err) && !isRetryable(err) {
				r.broken = fmt.Errorf("preparing recipients after %q: %w", after, err)
				return nil
			}
			// The database has been out for hours: plan this page again
			// later, in a fresh run, rather than abandon the audience.
			r.log.Error("preparing recipients failed after retries; trying again later", "after", after, "error", err)
			return r.redrive(ctx, after)
		}
		if page.Cancelled {
			// Cancelled while earlier pages were sent: what they started
			// settles, nothing more is planned.
			r.cancelled = true
			return nil
		}
		if page.Deferred > 0 {
			r.result.Deferred += page.Deferred
			r.d.stale = true
		}
		for _, b := range page.EventSends {
			r.d.submit(ctx, b, 0)
		}
		batches := page.Batches
		if after == "" && page.Next == "" {
			batches = r.d.sendFast(ctx, batches)
		}
		for _, b := range batches {
			r.d.submit(ctx, b, 0)
		}
		r.keepPace(ctx)
		if page.Next == "" {
			return nil
		}
		after = page.Next
		if pages >= maxPagesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return r.continueAsNew(ctx, after)
		}
	}
}

// keepPace waits while a lane has more batches queued than it may, as long
// as the lane finishes batches: planning far ahead of the sending only
// grows the queue. A lane that finishes none for stallAfter stalls (an
// endpoint that hangs), and planning goes on without it.
func (r *eventRun) keepPace(ctx workflow.Context) {
	for l := r.d.crowded(); l != nil && !r.cancelled; l = r.d.crowded() {
		progress, deadline := l.settled, workflow.Now(ctx).Add(stallAfter)
		for l.settled == progress && !r.cancelled && workflow.Now(ctx).Before(deadline) {
			r.d.wait(ctx, &deadline, r.signalCases(ctx))
			r.tend(ctx)
		}
		if l.settled == progress {
			r.log.Warn("a channel keeps no pace; planning goes on without it", "channel", l.ch)
			l.stalled = true
		}
	}
}

func (r *eventRun) preparePage(ctx workflow.Context, after string) (activities.PageResult, error) {
	var page activities.PageResult
	in := activities.PageInput{TenantID: r.in.TenantID, EventID: r.in.EventID, After: after, Limit: PageSize,
		Batched: true, AsOf: workflow.Now(ctx)}
	err := workflow.ExecuteLocalActivity(r.d.lctx, a.PreparePage, in).Get(ctx, &page)
	return page, err
}

// settle delivers what is in flight and everything that waits (quiet hours,
// a channel's next try) as it comes due, records the outcome when nothing
// is left, and then waits for retries while any delivery failed.
func (r *eventRun) settle(ctx workflow.Context) (contract.NotifyResult, error) {
	for rounds := 0; ; rounds++ {
		r.tend(ctx)
		if r.cancelled && !r.closed {
			// The API cancelled what had not been made; what is being sent
			// finishes.
			r.d.drain(ctx, nil)
			return r.finish(ctx, delivery.EventCancelled)
		}
		next := r.d.nextDue(ctx)
		if next != nil && !next.After(workflow.Now(ctx)) {
			r.d.releaseDue(ctx, "")
			continue
		}
		if !r.d.busy() && next == nil {
			if r.broken != nil {
				_, _ = r.finish(ctx, delivery.EventFailed)
				return r.result, r.broken
			}
			if !r.closed {
				if _, err := r.finish(ctx, ""); err != nil {
					return r.result, err
				}
				r.closed, r.repairBy = true, workflow.Now(ctx).Add(contract.RetryWindow)
			}
			if r.result.Failed == 0 || !workflow.Now(ctx).Before(r.repairBy) {
				r.d.stopTimer()
				return r.result, nil
			}
			next = &r.repairBy
		}
		if rounds >= maxLoopRounds || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			if err := r.continueAsNew(ctx, ""); err != nil {
				return r.result, err
			}
			continue // cancelled meanwhile
		}
		r.d.wait(ctx, next, r.signalCases(ctx))
	}
}

// signalCases adds the run's signals to a wait.
func (r *eventRun) signalCases(ctx workflow.Context) func(workflow.Selector) {
	return func(sel workflow.Selector) {
		sel.AddReceive(r.retries, func(c workflow.ReceiveChannel, _ bool) { r.takeRetry(ctx, c, true) })
		sel.AddReceive(r.cancels, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); r.cancelled = true })
		sel.AddReceive(r.reschedules, func(c workflow.ReceiveChannel, _ bool) {
			var user string
			c.Receive(ctx, &user)
			r.moved = append(r.moved, user)
		})
	}
}

// takeRetry takes one retry signal: a list of delivery IDs, or none for
// every failed delivery of the event.
func (r *eventRun) takeRetry(ctx workflow.Context, c workflow.ReceiveChannel, block bool) bool {
	var ids []uuid.UUID
	if block {
		c.Receive(ctx, &ids)
	} else if !c.ReceiveAsync(&ids) {
		return false
	}
	if len(ids) == 0 {
		r.retryAll = true
	}
	r.retryIDs = append(r.retryIDs, ids...)
	return true
}

// tend does what is due without waiting: it takes the signals already
// delivered, settles finished batches, sends what an operator asked to
// retry, decides again the deliveries of users who changed their
// preferences, and releases what has come due. Signals that arrive
// together are acted on together, so a delivery is sent again once.
func (r *eventRun) tend(ctx workflow.Context) {
	for r.takeRetry(ctx, r.retries, false) {
	}
	if r.cancels.ReceiveAsync(nil) {
		r.cancelled = true
	}
	var user string
	for r.reschedules.ReceiveAsync(&user) {
		r.moved = append(r.moved, user)
	}
	r.d.settleReady(ctx)
	if r.cancelled {
		// A cancel ended the wait; what was waiting is cancelled.
		r.moved, r.retryIDs, r.retryAll = nil, nil, false
		return
	}
	if len(r.moved) > 0 {
		slices.Sort(r.moved)
		for _, u := range slices.Compact(r.moved) {
			if u != "" {
				r.d.releaseDue(ctx, u)
			}
		}
		r.moved = nil
	}
	if r.retryAll || len(r.retryIDs) > 0 {
		r.requeue(ctx)
	}
	if next := r.d.knownDue(); next != nil && !next.After(workflow.Now(ctx)) {
		r.d.releaseDue(ctx, "")
	}
}

// requeue makes the failed deliveries an operator asked for pending again
// (and those waiting for their next try due now) and sends them through
// the same lanes, claims and leases as any batch.
func (r *eventRun) requeue(ctx workflow.Context) {
	ids := r.retryIDs
	if r.retryAll {
		ids = nil
	}
	slices.SortFunc(ids, func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) })
	var requeued activities.RequeueResult
	in := activities.RequeueInput{EventID: r.in.EventID, IDs: slices.Compact(ids)}
	if err := workflow.ExecuteLocalActivity(r.d.lctx, a.RequeueFailed, in).Get(ctx, &requeued); err != nil {
		r.log.Error("requeueing failed deliveries; the retry stays asked", "error", err)
		return
	}
	r.retryIDs, r.retryAll = nil, false
	if len(requeued.Batches) == 0 {
		return
	}
	r.d.stale = true // deliveries brought forward no longer wait
	if r.closed {
		r.closed = false
		r.setStatus(ctx, delivery.EventPending)
	}
	for _, b := range requeued.Batches {
		r.d.submit(ctx, b, 0)
	}
}

// redrive plans the page after after again in a fresh run, later: a
// database outage longer than the steps' own retries must not abandon the
// rest of the audience. What is in flight settles first.
func (r *eventRun) redrive(ctx workflow.Context, after string) error {
	wake := workflow.Now(ctx).Add(dbRetryAfter)
	for workflow.Now(ctx).Before(wake) && !r.cancelled {
		r.d.wait(ctx, &wake, r.signalCases(ctx))
	}
	if r.cancelled {
		return nil
	}
	return r.continueAsNew(ctx, after)
}

// continueAsNew carries the run on in a new one: the fan-out from after, or
// (after "") the settling phase. What is in flight settles first; signals
// taken and not yet acted on, and those still buffered, go with it; batches
// still queued are handed to the database, due at once. A run cancelled
// meanwhile does not continue: it returns nil, to settle.
func (r *eventRun) continueAsNew(ctx workflow.Context, after string) error {
	r.d.park(ctx, func(sel workflow.Selector) {
		sel.AddReceive(r.cancels, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); r.cancelled = true })
	})
	r.d.stopTimer()
	for r.takeRetry(ctx, r.retries, false) {
	}
	var user string
	for r.reschedules.ReceiveAsync(&user) {
		r.moved = append(r.moved, user)
	}
	if r.cancels.ReceiveAsync(nil) {
		r.cancelled = true
	}
	if r.cancelled {
		return nil
	}
	next := r.in
	next.After, next.Carried, next.Parked = after, &r.result, nil
	next.Waiting = after == ""
	next.Repair = false
	next.Closed, next.RetryIDs, next.RetryAll, next.Moved = r.closed, r.retryIDs, r.retryAll, r.moved
	next.RepairBy = nil
	if r.closed {
		next.RepairBy = &r.repairBy
	}
	return workflow.NewContinueAsNewError(ctx, NotifyEvent, next)
}

// finish records the event's outcome from its delivery rows (or status, when
// given) and sets the status search attribute.
func (r *eventRun) finish(ctx workflow.Context, status delivery.EventStatus) (contract.NotifyResult, error) {
	var settled activities.SettledEvent
	in := activities.SettleInput{EventID: r.in.EventID, Status: status, RunID: workflow.GetInfo(ctx).FirstRunID}
	for {
		err := workflow.ExecuteLocalActivity(r.d.lctx, a.SettleEvent, in).Get(ctx, &settled)
		if err == nil {
			break
		}
		// The deliveries are settled; the row is what the API answers
		// from, so it is recorded however long the database takes.
		r.log.Error("recording the event's outcome; trying again later", "status", status, "error", err)
		if workflow.Sleep(ctx, dbRetryAfter) != nil {
			return r.result, err
		}
	}
	r.result = contract.NotifyResult{Status: settled.Status, Delivered: settled.Delivered, Skipped: settled.Skipped, Failed: settled.Failed,
		Deferred: r.result.Deferred}
	if err := workflow.UpsertTypedSearchAttributes(ctx, contract.AttrStatus.ValueSet(string(settled.Status))); err != nil {
		r.log.Warn("setting the status search attribute", "status", settled.Status, "error", err)
	}
	return r.result, nil
}

// setStatus records the event's status without settling it (a retry made
// it pending again).
func (r *eventRun) setStatus(ctx workflow.Context, status delivery.EventStatus) {
	r.result.Status = status
	if err := workflow.UpsertTypedSearchAttributes(ctx, contract.AttrStatus.ValueSet(string(status))); err != nil {
		r.log.Warn("setting the status search attribute", "status", status, "error", err)
	}
	close := activities.CloseInput{EventID: r.in.EventID, Status: status}
	if err := workflow.ExecuteLocalActivity(r.d.lctx, a.CloseEvent, close).Get(ctx, nil); err != nil {
		r.log.Error("recording the event's status", "status", status, "error", err)
	}
}

// isRetryable reports whether an activity error may heal with time.
func isRetryable(err error) bool {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return !app.NonRetryable()
	}
	return true
}
