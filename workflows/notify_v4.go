package workflows

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/delivery"
)

// This file and its _v4 siblings are NotifyEvent's engine as released before
// EngineLanes (runs with Engine 2 to 4, and the Engine-less runs of
// testdata/v1 and v2): runs begun by those releases replay and finish
// through it. Do not change its command sequence. It can go once a
// visibility query (HeraldStatus = 'pending' or 'failed' or 'partial', and
// started before the release of EngineLanes) finds no open run, which is at
// most RetryWindow after the last such run delivered.

// maxBatchesInFlight bounds how many batches send at once (v4: across
// channels, settled oldest first).
const maxBatchesInFlight = 4

// notifyV4Run runs an event started by an engine before EngineLanes.
func notifyV4Run(ctx workflow.Context, in contract.NotifyInput) (contract.NotifyResult, error) {
	n := newNotifyV4(ctx, in)
	if in.Engine < contract.EngineBatches && workflow.GetVersion(ctx, versionBatches, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return n.runV1(ctx)
	}
	if in.Repair {
		return n.awaitRetry(ctx)
	}
	var res contract.NotifyResult
	var err error
	if in.Waiting {
		res, err = n.awaitDeferred(ctx)
	} else {
		res, err = n.run(ctx)
	}
	// A run that failed deliveries waits for an operator's retry; one that
	// continues as new or failed outright does not.
	if err == nil && in.Engine >= contract.EngineRepair && n.result.Failed > 0 && n.result.Status != delivery.EventCancelled {
		return n.awaitRetry(ctx)
	}
	return res, err
}

type notifyV4 struct {
	in     contract.NotifyInput
	result contract.NotifyResult
	log    interface {
		Info(string, ...any)
		Warn(string, ...any)
		Error(string, ...any)
	}
	// lctx runs database steps, actx deliveries, fastctx the one-shot fast
	// path, hookctx webhook deliveries (one try each; the workflow paces
	// their retries).
	lctx, actx, fastctx, hookctx workflow.Context
	inFlight                     []inFlight
	// parked are webhook batches waiting for their next try.
	parked []contract.ParkedBatch
	// cancels receives SignalCancel; cancelSeen records that one came.
	cancels    workflow.ReceiveChannel
	cancelSeen bool
}

// webhookSchedule is when each try of a webhook is made, after the one
// before it: a schedule like Svix's, so a receiver that is down for most of
// a day still gets the message. A try answered with 408, 429 or 5xx (or
// not at all) waits for the next.
var webhookSchedule = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// inFlight is a batch being delivered by a regular activity.
type inFlight struct {
	batch  delivery.Batch
	round  int
	future workflow.Future
}

func newNotifyV4(ctx workflow.Context, in contract.NotifyInput) *notifyV4 {
	// Every line about the event carries its tenant and ID; the SDK adds
	// the workflow's.
	n := &notifyV4{in: in, log: sdklog.With(workflow.GetLogger(ctx), "tenant", in.TenantID.String(), "event_id", in.EventID.String()),
		cancels: workflow.GetSignalChannel(ctx, contract.SignalCancel)}
	if in.Carried != nil {
		n.result = *in.Carried
	}
	n.parked = in.Parked
	// Database steps are short and idempotent: local activities keep them
	// off the server's critical path. They retry with capped backoff for two
	// hours, so an event outlives a long database outage.
	n.lctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 2 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		},
	})
	// Sending is real I/O: a regular activity, retried with backoff for two
	// hours, each retry sending only what is still pending.
	n.actx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    5 * time.Minute,
		HeartbeatTimeout:       time.Minute,
		ScheduleToCloseTimeout: 2 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 2 * time.Minute,
		},
	})
	n.hookctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	// One attempt, bounded well inside the workflow task timeout.
	n.fastctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 5 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	return n
}

// run pages through the recipients, stores in-app items with each page and
// hands every other channel's batch to its sender, then records the outcome.
func (n *notifyV4) run(ctx workflow.Context) (contract.NotifyResult, error) {
	after := n.in.After
	if at := n.in.SendAt; at != nil && after == "" && n.in.Carried == nil {
		if wait := at.Sub(workflow.Now(ctx)); wait > 0 && n.sleepUnlessCancelled(ctx, wait) {
			return n.finish(ctx, delivery.EventCancelled, nil)
		}
	}
	for pages := 1; ; pages++ {
		if n.cancelled() {
			n.settleAll(ctx)
			return n.finish(ctx, delivery.EventCancelled, nil)
		}
		page, err := n.preparePage(ctx, after)
		if err != nil {
			// Earlier pages' batches still settle before the event closes.
			n.settleAll(ctx)
			return n.finish(ctx, delivery.EventFailed, fmt.Errorf("preparing recipients after %q: %w", after, err))
		}
		if page.Cancelled {
			// Cancelled while earlier pages were sent: what they started
			// settles, nothing more is planned.
			n.settleAll(ctx)
			return n.finish(ctx, delivery.EventCancelled, nil)
		}
		n.add(page.Delivered, page.Skipped, page.Failed)
		n.result.Deferred += page.Deferred
		n.sendEventLevel(ctx, page.EventSends)
		batches := page.Batches
		if after == "" && page.Next == "" {
			batches = n.sendFast(ctx, batches)
		}
		for _, b := range batches {
			n.dispatch(ctx, b, 0)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
		if pages >= maxPagesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			// Batches in flight settle here; parked webhook retries go
			// with the next run rather than hold the fan-out for hours.
			n.settleInFlight(ctx)
			return n.continueAsNew(ctx, after)
		}
	}
	n.settleAll(ctx)
	if n.result.Deferred > 0 {
		return n.awaitDeferred(ctx)
	}
	return n.finish(ctx, delivery.Outcome(n.result.Delivered, n.result.Failed), nil)
}

func (n *notifyV4) preparePage(ctx workflow.Context, after string) (activities.PageResult, error) {
	var page activities.PageResult
	in := activities.PageInput{TenantID: n.in.TenantID, EventID: n.in.EventID, After: after, Limit: PageSize, Batched: true}
	if n.in.Engine >= contract.EngineDeferral {
		in.AsOf = workflow.Now(ctx)
	}
	err := workflow.ExecuteLocalActivity(n.lctx, a.PreparePage, in).Get(ctx, &page)
	return page, err
}

// sleepUnlessCancelled waits for d on a durable timer and reports whether
// a cancel signal ended the wait.
func (n *notifyV4) sleepUnlessCancelled(ctx workflow.Context, d time.Duration) bool {
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	workflow.NewSelector(ctx).
		AddFuture(workflow.NewTimer(tctx, d), func(workflow.Future) {}).
		AddReceive(n.cancels, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); n.cancelSeen = true }).
		Select(ctx)
	return n.cancelSeen
}

// cancelled reports whether the event was cancelled (a signal came).
func (n *notifyV4) cancelled() bool {
	if !n.cancelSeen && n.cancels.ReceiveAsync(nil) {
		n.cancelSeen = true
	}
	return n.cancelSeen
}

// sendEventLevel starts the event's own sends (a post per routed Slack
// channel, the tenant webhook): one call each, however many recipients the
// event has, through the regular activity with its retries.
func (n *notifyV4) sendEventLevel(ctx workflow.Context, sends []delivery.Batch) {
	for _, b := range sends {
		n.dispatch(ctx, b, 0)
	}
}

// sendFast tries the small batches of a single-page event once inside the
// workflow task and returns what is left for the regular activity.
func (n *notifyV4) sendFast(ctx workflow.Context, batches []delivery.Batch) []delivery.Batch {
	var left []delivery.Batch
	for _, b := range batches {
		if len(b.DeliveryIDs) > fastPathSize {
			left = append(left, b)
			continue
		}
		var res activities.DeliverResult
		err := workflow.ExecuteLocalActivity(n.fastctx, a.Deliver, n.deliverInput(b)).Get(ctx, &res)
		if err != nil {
			n.log.Info("fast path incomplete; retrying as an activity", "channel", b.Channel, "error", err)
			left = append(left, b)
			continue
		}
		if retry := n.settled(ctx, res); len(retry) > 0 {
			left = append(left, delivery.Batch{Channel: b.Channel, DeliveryIDs: retry})
		}
	}
	return left
}

// dispatch starts a batch's Deliver activity, first settling the oldest
// batch when the window is full.
func (n *notifyV4) dispatch(ctx workflow.Context, b delivery.Batch, round int) {
	if len(n.inFlight) == maxBatchesInFlight {
		oldest := n.inFlight[0]
		n.inFlight = n.inFlight[1:]
		n.settle(ctx, oldest)
	}
	actx := n.actx
	if b.Channel == channel.Webhook {
		actx = n.hookctx
	}
	f := workflow.ExecuteActivity(actx, a.Deliver, n.deliverInput(b))
	n.inFlight = append(n.inFlight, inFlight{batch: b, round: round, future: f})
}

func (n *notifyV4) deliverInput(b delivery.Batch) activities.DeliverInput {
	return activities.DeliverInput{TenantID: n.in.TenantID, EventID: n.in.EventID, Channel: b.Channel, DeliveryIDs: b.DeliveryIDs}
}

// settle waits for a batch. One whose retries ran out is marked failed; one
// that answered with deliveries to retry is sent again, a few rounds at most.
func (n *notifyV4) settle(ctx workflow.Context, f inFlight) {
	var res activities.DeliverResult
	if err := f.future.Get(ctx, &res); err != nil {
		if f.batch.Channel == channel.Webhook {
			n.retryLater(ctx, f.batch, f.round, lastError(err))
			return
		}
		n.log.Warn("batch failed after retries", "channel", f.batch.Channel, "deliveries", len(f.batch.DeliveryIDs), "error", err)
		n.markFailed(ctx, f.batch.DeliveryIDs, "retries ran out: "+lastError(err))
		return
	}
	retry := n.settled(ctx, res)
	if len(retry) == 0 {
		return
	}
	if f.batch.Channel == channel.Webhook {
		n.retryLater(ctx, delivery.Batch{Channel: f.batch.Channel, DeliveryIDs: retry}, f.round, "retries ran out")
		return
	}
	if f.round+1 >= maxRetryRounds {
		n.markFailed(ctx, retry, "retries ran out")
		return
	}
	n.dispatch(ctx, delivery.Batch{Channel: f.batch.Channel, DeliveryIDs: retry}, f.round+1)
}

// settled tallies a batch's result, records the deliveries it reports as
// accepted but unrecorded, and returns those it asks to retry.
func (n *notifyV4) settled(ctx workflow.Context, res activities.DeliverResult) []uuid.UUID {
	n.add(res.Delivered, res.Skipped, res.Failed)
	if len(res.Unrecorded) > 0 {
		// The history holds these IDs now; recording them can take as long
		// as the database needs, and they are never sent again.
		if err := workflow.ExecuteLocalActivity(n.lctx, a.MarkAccepted, res.Unrecorded).Get(ctx, nil); err != nil {
			n.log.Error("recording accepted deliveries", "deliveries", len(res.Unrecorded), "error", err)
		}
		n.result.Delivered += len(res.Unrecorded)
	}
	return res.Retry
}

// retryLater parks a webhook batch for its next try on the schedule, or
// fails what is left of it when the schedule is spent.
func (n *notifyV4) retryLater(ctx workflow.Context, b delivery.Batch, round int, reason string) {
	if round+1 >= len(webhookSchedule) {
		n.markFailed(ctx, b.DeliveryIDs, "retries ran out: "+reason)
		return
	}
	n.parked = append(n.parked, contract.ParkedBatch{Batch: b, Round: round + 1, At: workflow.Now(ctx).Add(webhookSchedule[round+1])})
}

// settleAll waits for every batch in flight and every parked batch's tries.
func (n *notifyV4) settleAll(ctx workflow.Context) {
	for len(n.inFlight) > 0 || len(n.parked) > 0 {
		n.settleInFlight(ctx)
		if len(n.parked) == 0 {
			return
		}
		slices.SortStableFunc(n.parked, func(x, y contract.ParkedBatch) int { return x.At.Compare(y.At) })
		p := n.parked[0]
		n.parked = n.parked[1:]
		if wait := p.At.Sub(workflow.Now(ctx)); wait > 0 {
			_ = workflow.Sleep(ctx, wait)
		}
		n.dispatch(ctx, p.Batch, p.Round)
	}
}

// settleInFlight waits for the batches in flight (not the parked ones).
func (n *notifyV4) settleInFlight(ctx workflow.Context) {
	for len(n.inFlight) > 0 {
		f := n.inFlight[0]
		n.inFlight = n.inFlight[1:]
		n.settle(ctx, f)
	}
}

// markFailed fails a batch whose retries ran out. Deliveries an overrunning
// attempt still holds are waited for (on a timer, until its lease runs out),
// so a message it is still sending is not called failed.
func (n *notifyV4) markFailed(ctx workflow.Context, ids []uuid.UUID, reason string) {
	for round := 0; ; round++ {
		var res activities.DeliverResult
		if err := workflow.ExecuteLocalActivity(n.lctx, a.MarkFailed, ids, reason).Get(ctx, &res); err != nil {
			n.log.Error("marking deliveries failed", "error", err)
			n.result.Failed += len(ids)
			return
		}
		if res.HeldUntil == nil || round == maxRetryRounds {
			n.add(res.Delivered, res.Skipped, res.Failed)
			return
		}
		if err := workflow.Sleep(ctx, res.HeldUntil.Sub(workflow.Now(ctx))+time.Second); err != nil {
			n.add(res.Delivered, res.Skipped, res.Failed)
			return
		}
	}
}

func (n *notifyV4) continueAsNew(ctx workflow.Context, after string) (contract.NotifyResult, error) {
	next := n.in
	next.After, next.Carried, next.Parked = after, &n.result, n.parked
	return n.result, workflow.NewContinueAsNewError(ctx, NotifyEvent, next)
}

func (n *notifyV4) add(delivered, skipped, failed int) {
	n.result.Delivered += delivered
	n.result.Skipped += skipped
	n.result.Failed += failed
}

// finish records the outcome in the search attributes and on the event row.
// The deliveries are settled by now, so a failure to write the event row is
// logged, never turned into a failed event.
func (n *notifyV4) finish(ctx workflow.Context, status delivery.EventStatus, cause error) (contract.NotifyResult, error) {
	n.result.Status = status
	// The row is closed even if the search attribute cannot be set: it is
	// what the API answers from.
	saErr := workflow.UpsertTypedSearchAttributes(ctx, contract.AttrStatus.ValueSet(string(status)))
	close := activities.CloseInput{EventID: n.in.EventID, Status: status, RunID: workflow.GetInfo(ctx).FirstRunID}
	if err := workflow.ExecuteLocalActivity(n.lctx, a.CloseEvent, close).Get(ctx, nil); err != nil {
		n.log.Error("recording the event's outcome", "status", status, "error", err)
	}
	if cause == nil {
		cause = saErr
	}
	return n.result, cause
}
