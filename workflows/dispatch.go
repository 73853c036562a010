package workflows

import (
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/delivery"
)

// laneWindow is how many batches of one channel send at once: a large
// fan-out overlaps database work with sending without flooding a server.
const laneWindow = 4

// laneBacklog is how many batches a lane may queue beyond its window before
// the fan-out waits for it: a lane that keeps up paces the planning, so the
// queue (kept in memory, and handed to the database when the run continues
// as new) stays short.
const laneBacklog = 8

// stallAfter is how long the fan-out waits for a crowded lane to finish a
// batch: a lane that does not (an endpoint that hangs) stalls, and the
// fan-out goes on without it, so a slow channel never holds up the others.
const stallAfter = 10 * time.Second

// dbRetryAfter is how long a loop waits to read the database again when a
// database step failed even after its own retries (hours of them).
const dbRetryAfter = 10 * time.Minute

// dispatcher delivers an event's batches. Each channel is a lane with its
// own window, so a slow or dead endpoint costs only its own channel's
// deliveries; whichever batch finishes first is settled first. Batches
// beyond a lane's window queue in the lane, in memory; a run plans at most
// maxPagesPerRun pages, so a lane holds at most that many. A delivery
// its channel defers waits in the database for its next try (pending, with
// not_before, as a delivery waiting out quiet hours does); the dispatcher
// knows when the first is due and releases what is due, so no activity
// holds a dead endpoint for hours. NotifyEvent and Digest deliver through it.
type dispatcher struct {
	tenantID, eventID uuid.UUID
	log               sdklog.Logger
	// lctx runs database steps, actx deliveries, fastctx the one-shot fast
	// path.
	lctx, actx, fastctx workflow.Context
	// lanes in channel order, made as channels appear.
	lanes []*lane
	// next is when the event's first waiting delivery is due, as far as
	// known; stale says it must be read from the database again.
	next  *time.Time
	stale bool
	// timer is the durable timer of the current wait, kept across waits
	// while its deadline holds (a timer cancelled and set again for every
	// settled batch would only grow the history).
	timer       workflow.Future
	timerAt     time.Time
	cancelTimer workflow.CancelFunc
}

// lane is one channel's batches: in flight, and waiting for the window.
type lane struct {
	ch       channel.Channel
	inFlight []*flight
	backlog  []queued
	// settled counts the lane's finished batches: its progress.
	settled int
	// stalled: the lane finished no batch for stallAfter while the fan-out
	// waited for it; the fan-out goes on without it until it does.
	stalled bool
}

// flight is a batch being delivered by a regular activity.
type flight struct {
	batch  delivery.Batch
	round  int
	future workflow.Future
}

type queued struct {
	batch delivery.Batch
	round int
}

func newDispatcher(ctx workflow.Context, tenantID, eventID uuid.UUID, log sdklog.Logger) *dispatcher {
	d := &dispatcher{tenantID: tenantID, eventID: eventID, log: log, lctx: dbSteps(ctx)}
	// A Deliver attempt makes one try of each delivery (a deferred one waits
	// in the database), so it is bounded by its channel's own timeouts; an
	// SMTP relay may take 10 minutes to answer one message. It fails only
	// when it could not do its work (the database is down, its worker died:
	// the heartbeat tells within 30 s), and then it is retried without end,
	// never more than 15 s apart, so no accepted delivery is abandoned to an
	// outage; errors no retry can heal are non-retryable.
	d.actx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 15 * time.Second,
		},
	})
	// One attempt, bounded well inside the workflow task timeout.
	d.fastctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 5 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	return d
}

// dbSteps runs database steps. They are short and idempotent: local
// activities keep them off the server's critical path. They retry for two
// hours, never more than 10 s apart, so work resumes within seconds of a
// database outage's end; a step that still fails is tried again later by
// the loop that called it.
func dbSteps(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 2 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Second,
		},
	})
}

func (d *dispatcher) lane(ch channel.Channel) *lane {
	for _, l := range d.lanes {
		if l.ch == ch {
			return l
		}
	}
	l := &lane{ch: ch}
	d.lanes = append(d.lanes, l)
	slices.SortStableFunc(d.lanes, func(x, y *lane) int {
		return slices.Index(channel.All, x.ch) - slices.Index(channel.All, y.ch)
	})
	return l
}

// submit sends a batch when its channel's window has room, or queues it.
func (d *dispatcher) submit(ctx workflow.Context, b delivery.Batch, round int) {
	if len(b.DeliveryIDs) == 0 {
		return
	}
	l := d.lane(b.Channel)
	if len(l.inFlight) < laneWindow {
		d.start(ctx, l, b, round)
		return
	}
	l.backlog = append(l.backlog, queued{b, round})
}

func (d *dispatcher) start(ctx workflow.Context, l *lane, b delivery.Batch, round int) {
	f := workflow.ExecuteActivity(d.actx, a.Deliver, d.input(b))
	l.inFlight = append(l.inFlight, &flight{batch: b, round: round, future: f})
}

func (d *dispatcher) input(b delivery.Batch) activities.DeliverInput {
	return activities.DeliverInput{TenantID: d.tenantID, EventID: d.eventID, Channel: b.Channel, DeliveryIDs: b.DeliveryIDs, Paced: true}
}

// busy reports whether a batch is in flight or queued.
func (d *dispatcher) busy() bool {
	for _, l := range d.lanes {
		if len(l.inFlight) > 0 || len(l.backlog) > 0 {
			return true
		}
	}
	return false
}

// crowded is a lane that keeps up and has more batches queued than it may,
// or nil.
func (d *dispatcher) crowded() *lane {
	for _, l := range d.lanes {
		if !l.stalled && len(l.backlog) > laneBacklog {
			return l
		}
	}
	return nil
}

// sendFast tries the small batches of a single-page event once inside the
// workflow task, as a local activity: most events reach a handful of people,
// and sending without a round trip through the server's task queues makes
// an event cost less than a bare workflow with one activity. It returns
// what is left for the regular activity.
func (d *dispatcher) sendFast(ctx workflow.Context, batches []delivery.Batch) []delivery.Batch {
	var left []delivery.Batch
	for _, b := range batches {
		if len(b.DeliveryIDs) > fastPathSize {
			left = append(left, b)
			continue
		}
		var res activities.DeliverResult
		err := workflow.ExecuteLocalActivity(d.fastctx, a.Deliver, d.input(b)).Get(ctx, &res)
		if err != nil {
			// What it did is unknown: some deliveries may wait for their
			// next try already.
			d.log.Info("fast path incomplete; retrying as an activity", "channel", b.Channel, "error", err)
			d.stale = true
			left = append(left, b)
			continue
		}
		if retry := d.settled(ctx, res); len(retry) > 0 {
			left = append(left, delivery.Batch{Channel: b.Channel, DeliveryIDs: retry})
		}
	}
	return left
}

// settleReady settles every batch that has finished, and starts queued
// batches in the room they leave.
func (d *dispatcher) settleReady(ctx workflow.Context) {
	for _, l := range d.lanes {
		for i := 0; i < len(l.inFlight); {
			f := l.inFlight[i]
			if !f.future.IsReady() {
				i++
				continue
			}
			l.inFlight = slices.Delete(l.inFlight, i, i+1)
			l.settled++
			l.stalled = false
			d.settle(ctx, f)
		}
	}
	for _, l := range d.lanes {
		for len(l.inFlight) < laneWindow && len(l.backlog) > 0 {
			q := l.backlog[0]
			l.backlog = l.backlog[1:]
			d.start(ctx, l, q.batch, q.round)
		}
	}
}

// settle takes a finished batch's result. One that could not be attempted
// at all (an error no retry heals) is failed with the reason; accepted but
// unrecorded deliveries are recorded; deliveries an attempt could not
// settle are sent again, a few rounds at most.
func (d *dispatcher) settle(ctx workflow.Context, f *flight) {
	var res activities.DeliverResult
	if err := f.future.Get(ctx, &res); err != nil {
		d.log.Warn("batch could not be delivered", "channel", f.batch.Channel, "deliveries", len(f.batch.DeliveryIDs), "error", err)
		d.markFailed(ctx, f.batch.DeliveryIDs, lastError(err))
		return
	}
	retry := d.settled(ctx, res)
	if len(retry) == 0 {
		return
	}
	if f.round+1 >= maxRetryRounds {
		d.markFailed(ctx, retry, "retries ran out")
		return
	}
	d.submit(ctx, delivery.Batch{Channel: f.batch.Channel, DeliveryIDs: retry}, f.round+1)
}

// settled records the deliveries a result reports as accepted but
// unrecorded, notes when its deferred ones are due, and returns those it
// asks to send again.
func (d *dispatcher) settled(ctx workflow.Context, res activities.DeliverResult) []uuid.UUID {
	// The history holds these IDs now; recording them takes as long as the
	// database needs, and they are never sent again.
	for len(res.Unrecorded) > 0 {
		err := workflow.ExecuteLocalActivity(d.lctx, a.MarkAccepted, res.Unrecorded).Get(ctx, nil)
		if err == nil {
			break
		}
		d.log.Error("recording accepted deliveries; trying again later", "deliveries", len(res.Unrecorded), "error", err)
		if workflow.Sleep(ctx, dbRetryAfter) != nil {
			break
		}
	}
	if res.NextTry != nil {
		d.due(*res.NextTry)
	} else if res.Deferred > 0 {
		d.stale = true
	}
	return res.Retry
}

// due notes that a delivery waits until at.
func (d *dispatcher) due(at time.Time) {
	if d.stale {
		return // the next read finds it
	}
	if d.next == nil || at.Before(*d.next) {
		d.next = &at
	}
}

// markFailed fails deliveries that could not be attempted. Deliveries an
// overrunning attempt still holds are waited for (on a timer, until its
// lease runs out), so a message it is still sending is not called failed.
func (d *dispatcher) markFailed(ctx workflow.Context, ids []uuid.UUID, reason string) {
	for round := 0; ; round++ {
		var res activities.DeliverResult
		if err := workflow.ExecuteLocalActivity(d.lctx, a.MarkFailed, ids, reason).Get(ctx, &res); err != nil {
			d.log.Error("marking deliveries failed", "error", err)
			return
		}
		if res.HeldUntil == nil || round == maxRetryRounds {
			return
		}
		if err := workflow.Sleep(ctx, res.HeldUntil.Sub(workflow.Now(ctx))+time.Second); err != nil {
			return
		}
	}
}

// nextDue is when the event's first waiting delivery is due, or nil when
// none waits; read from the database when stale. A read that fails even
// after its retries makes the loop look again later.
func (d *dispatcher) nextDue(ctx workflow.Context) *time.Time {
	if !d.stale {
		return d.next
	}
	var next *time.Time
	if err := workflow.ExecuteLocalActivity(d.lctx, a.NextRelease, d.eventID).Get(ctx, &next); err != nil {
		d.log.Error("reading when waiting deliveries are due; looking again later", "error", err)
		later := workflow.Now(ctx).Add(dbRetryAfter)
		next = &later
	}
	d.next, d.stale = next, false
	return next
}

// knownDue is nextDue without reading the database: nil when stale.
func (d *dispatcher) knownDue() *time.Time {
	if d.stale {
		return nil
	}
	return d.next
}

// releaseDue decides again the waiting deliveries due now (or every one of
// user's: they changed their preferences) and submits those still wanted.
// They no longer wait once released, so none is released twice.
func (d *dispatcher) releaseDue(ctx workflow.Context, user string) {
	in := activities.ReleaseInput{EventID: d.eventID, AsOf: workflow.Now(ctx), UserID: user, Limit: PageSize, InDueOrder: true}
	d.stale = true
	for {
		var res activities.ReleaseResult
		if err := workflow.ExecuteLocalActivity(d.lctx, a.ReleaseDue, in).Get(ctx, &res); err != nil {
			d.log.Error("releasing waiting deliveries; trying again later", "error", err)
			later := workflow.Now(ctx).Add(dbRetryAfter)
			d.next, d.stale = &later, false
			return
		}
		for _, b := range res.Batches {
			d.submit(ctx, b, 0)
		}
		if res.Last == nil {
			return
		}
		in.After, in.AfterAt = *res.Last, res.LastAt
	}
}

// wait blocks until a batch finishes, until (when not nil) comes, or a case
// the caller adds is ready, then settles what finished.
func (d *dispatcher) wait(ctx workflow.Context, until *time.Time, cases func(workflow.Selector)) {
	sel := workflow.NewSelector(ctx)
	for _, l := range d.lanes {
		for _, f := range l.inFlight {
			sel.AddFuture(f.future, func(workflow.Future) {})
		}
	}
	if until != nil {
		if !until.After(workflow.Now(ctx)) {
			d.settleReady(ctx)
			return
		}
		sel.AddFuture(d.timerUntil(ctx, *until), func(workflow.Future) {})
	} else {
		d.stopTimer()
	}
	if cases != nil {
		cases(sel)
	}
	sel.Select(ctx)
	d.settleReady(ctx)
}

// timerUntil is a durable timer firing at at, the current one when it
// still stands for that instant.
func (d *dispatcher) timerUntil(ctx workflow.Context, at time.Time) workflow.Future {
	if d.timer != nil && d.timerAt.Equal(at) && !d.timer.IsReady() {
		return d.timer
	}
	d.stopTimer()
	tctx, cancel := workflow.WithCancel(ctx)
	d.timer, d.timerAt, d.cancelTimer = workflow.NewTimer(tctx, at.Sub(workflow.Now(ctx))), at, cancel
	return d.timer
}

func (d *dispatcher) stopTimer() {
	if d.timer != nil && !d.timer.IsReady() {
		d.cancelTimer()
	}
	d.timer = nil
}

// drain waits until nothing is in flight or queued.
func (d *dispatcher) drain(ctx workflow.Context, cases func(workflow.Selector)) {
	for d.busy() {
		d.wait(ctx, nil, cases)
	}
}

// park hands the batches still queued to the database, due now, and waits
// for those in flight: a run that continues as new need not wait for a slow
// lane to work through its queue, and the next run releases them.
func (d *dispatcher) park(ctx workflow.Context, cases func(workflow.Selector)) {
	var ids []uuid.UUID
	for _, l := range d.lanes {
		for _, q := range l.backlog {
			ids = append(ids, q.batch.DeliveryIDs...)
		}
		l.backlog = nil
	}
	for len(ids) > 0 {
		err := workflow.ExecuteLocalActivity(d.lctx, a.ParkDeliveries, ids).Get(ctx, nil)
		if err == nil {
			break
		}
		d.log.Error("handing queued deliveries to the database; trying again later", "deliveries", len(ids), "error", err)
		if workflow.Sleep(ctx, dbRetryAfter) != nil {
			break
		}
	}
	d.drain(ctx, cases)
}

// deliverAll delivers what was submitted, and every delivery that waits for
// its next try, until nothing is pending: Digest's loop. NotifyEvent's adds
// its signals.
func (d *dispatcher) deliverAll(ctx workflow.Context) {
	for {
		next := d.nextDue(ctx)
		if next != nil && !next.After(workflow.Now(ctx)) {
			d.releaseDue(ctx, "")
			continue
		}
		if !d.busy() && next == nil {
			d.stopTimer()
			return
		}
		d.wait(ctx, next, nil)
	}
}

// lastError describes an activity's last failure for the delivery log. Only
// Herald's own failures, whose messages are sanitised sentences, pass
// through: anything else (a database error, say) may name hosts and users.
func lastError(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		switch app.Type() {
		case activities.ErrTypeTemporary, activities.ErrTypeHeldElsewhere:
			return app.Message()
		}
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return "the attempt timed out"
	}
	return "the delivery could not be attempted"
}

// PageSize is how many recipients one page activity handles. It bounds the
// history: 10,000 recipients are 20 pages of a handful of events each.
const PageSize = 500
