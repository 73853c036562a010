package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/internal/metrics"
)

// DeliverInput names one channel's pending deliveries of one page.
type DeliverInput struct {
	TenantID    uuid.UUID       `json:"tenant_id"`
	EventID     uuid.UUID       `json:"event_id"`
	Channel     channel.Channel `json:"channel"`
	DeliveryIDs []uuid.UUID     `json:"delivery_ids"`
}

// DeliverResult tallies a batch's deliveries once they have settled.
type DeliverResult struct {
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	Skipped   int `json:"skipped"`
	// Unrecorded were accepted by the channel, but marking them delivered
	// failed even after retries. They must never be sent again: the workflow
	// keeps their IDs in its history and records them with MarkAccepted.
	Unrecorded []uuid.UUID `json:"unrecorded,omitempty"`
	// Retry were deferred by the channel in a batch that also has Unrecorded
	// deliveries (which a failed attempt could not report): send them again.
	Retry []uuid.UUID `json:"retry,omitempty"`
	// HeldUntil (MarkFailed only) is when the last claim on a delivery it
	// could not fail yet runs out.
	HeldUntil *time.Time `json:"held_until,omitempty"`
}

// heldPoll is how often a batch looks again at deliveries another attempt
// holds.
const heldPoll = time.Second

// Deliver sends a batch through its channel's Sender. Each delivery is
// claimed before it is sent, under a lease that outlasts anything the
// claiming attempt can still transmit, so two attempts never send the same
// delivery: not a local activity that timed out while its send went on, not
// an attempt that overran its timeout and overlaps its retry. Each outcome is
// recorded as soon as it is known. A temporary failure fails the activity so
// Temporal retries it with backoff; the retry sends only what is still
// pending.
func (a *Activities) Deliver(ctx context.Context, in DeliverInput) (DeliverResult, error) {
	sender, ok := a.senders[in.Channel]
	if !ok {
		return DeliverResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("this worker has no sender for channel %s", in.Channel), ErrTypeNoSender, nil)
	}
	q := a.q()
	ev, err := a.loadEvent(ctx, q, in.EventID)
	if err != nil {
		return DeliverResult{}, err
	}
	if ev.Row.TenantID != in.TenantID {
		return DeliverResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("event %s belongs to another tenant", in.EventID), ErrTypeWrongTenant, nil)
	}
	b := &batch{q: q, sender: sender, token: uuid.New(), log: eventLogger(ctx, ev, "channel", string(in.Channel)), accepted: ev.Row.CreatedAt}
	if deadline, ok := ctx.Deadline(); ok {
		b.answerBy = deadline.Add(-time.Second)
	}
	lease := leaseUntil(ctx, sender.Linger())
	remaining := in.DeliveryIDs
	claimedAll := true
	for {
		rows, err := q.ClaimDeliveries(ctx, dbq.ClaimDeliveriesParams{
			ClaimID: b.token, ClaimedUntil: lease, Ids: remaining, Channel: string(in.Channel),
		})
		if err != nil {
			return DeliverResult{}, fmt.Errorf("claiming deliveries: %w", err)
		}
		if len(rows) != len(remaining) {
			claimedAll = false
		}
		b.send(ctx, ev, rows)
		if len(rows) == len(remaining) {
			break // every delivery was ours to send
		}
		// What another attempt holds is waited for; what it let go since
		// (released, or its lease ran out) is claimed again. What this
		// attempt released itself is left for the next attempt.
		unsettled, err := q.UnsettledDeliveries(ctx, dbq.UnsettledDeliveriesParams{Ids: remaining, ClaimID: b.token})
		if err != nil {
			return DeliverResult{}, fmt.Errorf("checking claims: %w", err)
		}
		var held bool
		remaining, held = b.notMine(unsettled)
		if len(remaining) == 0 {
			break
		}
		if held {
			// Wait for the other attempt to settle them, or for its lease to
			// run out, rather than send a second copy.
			if ctx.Err() == nil {
				activity.RecordHeartbeat(ctx)
			}
			select {
			case <-ctx.Done():
				b.mu.Lock()
				b.retry = append(b.retry, remaining...)
				b.mu.Unlock()
				return b.finish(ctx, a, in, false)
			case <-time.After(heldPoll):
			}
		}
	}
	return b.finish(ctx, a, in, claimedAll)
}

// notMine returns the unsettled deliveries this attempt did not release
// itself, and whether any of them is held under another attempt's lease.
func (b *batch) notMine(rows []dbq.UnsettledDeliveriesRow) ([]uuid.UUID, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	released := make(map[uuid.UUID]bool, len(b.retry))
	for _, id := range b.retry {
		released[id] = true
	}
	var ids []uuid.UUID
	held := false
	for _, r := range rows {
		if released[r.ID] {
			continue
		}
		ids = append(ids, r.ID)
		held = held || r.Held
	}
	return ids, held
}

// finish answers for the batch. Deliveries the channel accepted but that
// could not be recorded are answered with (never as an error, which would
// lose them), together with what to retry; otherwise deferrals and failed
// writes fail the attempt, so Temporal retries it with backoff. The tally is
// read back unless this attempt settled every delivery itself, and a batch
// whose tally misses a delivery is never answered as settled.
func (b *batch) finish(ctx context.Context, a *Activities, in DeliverInput, settledHere bool) (DeliverResult, error) {
	b.mu.Lock()
	unrecorded, retry, stuck := b.unrecorded, b.retry, b.stuck
	local := DeliverResult{Delivered: b.delivered, Failed: b.failed, Skipped: b.skipped}
	b.mu.Unlock()
	if len(unrecorded) > 0 {
		res, err := a.tally(context.WithoutCancel(ctx), b.q, in.DeliveryIDs)
		if err != nil {
			// The workflow needs the unrecorded IDs more than the tally;
			// what this attempt settled is known.
			res = local
		}
		res.Unrecorded, res.Retry = unrecorded, append(append([]uuid.UUID(nil), retry...), stuck...)
		return res, nil
	}
	switch {
	case len(stuck) > 0:
		return DeliverResult{}, fmt.Errorf("recording %d outcomes: %w", len(stuck), b.dbErr)
	case len(retry) > 0:
		return DeliverResult{}, temporal.NewApplicationError(
			fmt.Sprintf("%d of %d messages not sent yet: %s", len(retry), len(in.DeliveryIDs), b.firstTempOr("held by another attempt")), ErrTypeTemporary)
	case settledHere && activity.GetInfo(ctx).Attempt == 1 && local.Delivered+local.Failed+local.Skipped == len(in.DeliveryIDs):
		return local, nil
	}
	res, err := a.tally(ctx, b.q, in.DeliveryIDs)
	if err != nil {
		return DeliverResult{}, err
	}
	if n := res.Delivered + res.Failed + res.Skipped; n < len(in.DeliveryIDs) {
		return DeliverResult{}, temporal.NewApplicationError(
			fmt.Sprintf("%d of %d deliveries are not settled yet", len(in.DeliveryIDs)-n, len(in.DeliveryIDs)), ErrTypeHeldElsewhere)
	}
	return res, nil
}

func (b *batch) firstTempOr(s string) string {
	if b.firstTemp != "" {
		return b.firstTemp
	}
	return s
}

// leaseUntil is how long a claim must hold: past the attempt's deadline by
// as long as a send in transmission may linger, plus a margin for clocks.
func leaseUntil(ctx context.Context, linger time.Duration) time.Time {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Minute)
	}
	return deadline.Add(linger + markWait + markRetryBudget + 10*time.Second)
}

// batch records the outcomes of one attempt's sends.
type batch struct {
	q      *dbq.Queries
	sender Sender
	token  uuid.UUID
	log    warner
	// answerBy is when retries of a write give up, so the attempt answers
	// before its deadline; zero for none.
	answerBy time.Time
	// stopWatch ends the watch of the current send.
	stopWatch context.CancelFunc

	mu                         sync.Mutex
	delivered, failed, skipped int
	unrecorded, retry, stuck   []uuid.UUID
	firstTemp                  string
	dbErr                      error
	// accepted is when the event was accepted: delivery latency runs from it.
	accepted time.Time
}

func (b *batch) send(ctx context.Context, ev *Event, rows []dbq.ClaimDeliveriesRow) {
	if len(rows) == 0 {
		return
	}
	jobs := make([]Job, len(rows))
	for i, r := range rows {
		jobs[i] = Job{DeliveryID: r.ID, SlackUserID: r.SlackUserID, WebhookURL: r.WebhookUrl,
			Recipient: catalog.Recipient{ID: r.UserID, Name: r.Name, Email: r.Email}}
	}
	marks := make(chan accepted, 2*markBatch)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.markAccepted(context.WithoutCancel(ctx), marks)
	}()
	sendCtx := b.watch(ctx)
	b.sender.Send(sendCtx, ev, jobs, func(i int, hash []byte, err error) {
		if err == nil {
			marks <- accepted{id: jobs[i].DeliveryID, hash: hash}
		} else {
			b.record(ctx, jobs[i].DeliveryID, err)
		}
		if ctx.Err() == nil {
			activity.RecordHeartbeat(ctx)
		}
	})
	close(marks)
	<-done
	if b.stopWatch != nil {
		b.stopWatch()
	}
}

// watch returns the context a regular activity's sends run on. It heartbeats
// every few seconds, so a batch waiting for a pooled connection or a slow
// relay is not taken for a dead one, and it ends when the worker is told to
// stop: nothing more is started, what is in transmission finishes and is
// recorded (the worker waits for that), and the rest is released at once.
func (b *batch) watch(ctx context.Context) context.Context {
	if !activity.IsActivity(ctx) || activity.GetInfo(ctx).IsLocalActivity {
		return ctx
	}
	sendCtx, cancel := context.WithCancel(ctx)
	stop := activity.GetWorkerStopChannel(ctx)
	go func() {
		defer cancel()
		t := time.NewTicker(heartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-sendCtx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	b.stopWatch = cancel
	return sendCtx
}

// heartbeatEvery is well inside the activities' one-minute heartbeat timeout.
const heartbeatEvery = 10 * time.Second

// accepted is a message the channel accepted, to be marked delivered.
type accepted struct {
	id   uuid.UUID
	hash []byte
}

// Accepted messages are marked delivered in groups of up to markBatch, each
// group written at most markWait after its first message was accepted: one
// statement per message was the largest database cost of a fan-out.
const (
	markBatch = 64
	markWait  = 20 * time.Millisecond
)

// markAccepted marks the accepted messages from in delivered until in is
// closed. It runs on a context that is not cancelled with the attempt: an
// accepted message that is not recorded would be sent again. A group the
// database refuses even after retries is reported as unrecorded, for the
// workflow to record.
func (b *batch) markAccepted(ctx context.Context, in <-chan accepted) {
	var group []accepted
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() {
		timer.Stop()
		if len(group) == 0 {
			return
		}
		p := dbq.MarkManyDeliveredParams{Ids: make([]uuid.UUID, len(group)), ContentHashes: make([][]byte, len(group))}
		for i, m := range group {
			p.Ids[i], p.ContentHashes[i] = m.id, m.hash
		}
		err := b.retryDB(ctx, func(c context.Context) error { return b.q.MarkManyDelivered(c, p) })
		b.mu.Lock()
		if err != nil {
			b.log.Warn("accepted but not recorded; the workflow will record them", "deliveries", len(group), "error", err)
			b.unrecorded = append(b.unrecorded, p.Ids...)
		} else {
			b.delivered += len(group)
			ch := string(b.sender.Channel())
			metrics.Deliveries.WithLabelValues(ch, string(delivery.Delivered), "").Add(float64(len(group)))
			if !b.accepted.IsZero() {
				for range group {
					metrics.DeliveryLatency.WithLabelValues(ch).Observe(time.Since(b.accepted).Seconds())
				}
			}
		}
		b.mu.Unlock()
		group = group[:0]
	}
	for {
		select {
		case m, ok := <-in:
			if !ok {
				flush()
				return
			}
			group = append(group, m)
			if len(group) == 1 {
				timer.Reset(markWait)
			}
			if len(group) == markBatch {
				flush()
			}
		case <-timer.C:
			flush()
		}
	}
}

// record writes the outcome of a message the channel did not accept. It
// runs even when the attempt is being cancelled, so claims are released.
func (b *batch) record(ctx context.Context, id uuid.UUID, sendErr error) {
	rctx := context.WithoutCancel(ctx)
	var dbErr error
	outcome := ""
	switch {
	case errors.Is(sendErr, ErrNoAddress):
		dbErr = b.retryDB(rctx, func(c context.Context) error {
			return b.q.MarkSkipped(c, dbq.MarkSkippedParams{ID: id, Reason: delivery.NoAddress})
		})
		outcome = "skipped"
	case notStarted(sendErr):
		dbErr = b.retryDB(rctx, func(c context.Context) error {
			return b.q.ReleaseClaim(c, dbq.ReleaseClaimParams{ID: id, ClaimID: uuid.NullUUID{UUID: b.token, Valid: true}})
		})
		outcome = "retry"
	case isPermanent(sendErr) || b.sender.Permanent(sendErr):
		b.log.Warn("delivery refused for good", "delivery_id", id, "error", sendErr)
		dbErr = b.retryDB(rctx, func(c context.Context) error {
			return b.q.MarkPermanentFailure(c, dbq.MarkPermanentFailureParams{ID: id, Error: b.sender.Describe(sendErr)})
		})
		outcome = "failed"
	default:
		b.log.Warn("delivery deferred", "delivery_id", id, "error", sendErr)
		dbErr = b.retryDB(rctx, func(c context.Context) error {
			return b.q.RecordAttemptFailure(c, dbq.RecordAttemptFailureParams{ID: id, Error: b.sender.Describe(sendErr)})
		})
		outcome = "retry"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if dbErr != nil {
		// Still claimed by this attempt: the next one claims it once the
		// lease runs out.
		b.log.Warn("recording a delivery's outcome", "delivery_id", id, "error", dbErr)
		b.stuck = append(b.stuck, id)
		if b.dbErr == nil {
			b.dbErr = dbErr
		}
		return
	}
	switch outcome {
	case "skipped":
		b.skipped++
		metrics.Deliveries.WithLabelValues(string(b.sender.Channel()), string(delivery.Skipped), string(delivery.NoAddress)).Inc()
	case "failed":
		b.failed++
		metrics.Deliveries.WithLabelValues(string(b.sender.Channel()), string(delivery.Failed), "").Inc()
	case "retry":
		b.retry = append(b.retry, id)
		if b.firstTemp == "" {
			b.firstTemp = b.sender.Describe(sendErr)
		}
	}
}

// notStarted reports a job the Sender never began because its context ended.
func notStarted(err error) bool {
	return err == context.Canceled || err == context.DeadlineExceeded
}

// markRetryBudget bounds retryDB: six tries of at most 5 s, 6.2 s apart in
// all. Claims are leased for it, so a write still being retried holds its
// delivery.
const markRetryBudget = 40 * time.Second

// retryDB runs a short write a few times: a database blip must not cost an
// accepted message its record. It stops retrying in time for the attempt to
// answer before its deadline (a local activity has 5 s), so deliveries it
// could not record reach the workflow as unrecorded rather than being lost
// with a timed-out attempt.
func (b *batch) retryDB(ctx context.Context, f func(context.Context) error) error {
	var err error
	wait := 200 * time.Millisecond
	for try := 0; try < 6; try++ {
		if try > 0 {
			if !b.answerBy.IsZero() && time.Now().Add(wait).After(b.answerBy) {
				return err
			}
			time.Sleep(wait)
			wait *= 2
		}
		timeout := 5 * time.Second
		if !b.answerBy.IsZero() {
			timeout = min(timeout, max(time.Until(b.answerBy), 500*time.Millisecond))
		}
		c, cancel := context.WithTimeout(ctx, timeout)
		err = f(c)
		cancel()
		if err == nil {
			return nil
		}
	}
	return err
}

// MarkAccepted records deliveries the channel accepted whose marking failed
// at the time.
func (a *Activities) MarkAccepted(ctx context.Context, ids []uuid.UUID) error {
	return a.q().MarkAccepted(ctx, ids)
}

// MarkFailed fails the deliveries of ids that are still pending, after their
// activity ran out of retries, and tallies the batch.
// Deliveries still claimed by an attempt that may be sending them are left
// pending, and HeldUntil says when to try again.
func (a *Activities) MarkFailed(ctx context.Context, ids []uuid.UUID, reason string) (DeliverResult, error) {
	q := a.q()
	if err := q.MarkFailed(ctx, dbq.MarkFailedParams{Ids: ids, Error: reason}); err != nil {
		return DeliverResult{}, err
	}
	res, err := a.tally(ctx, q, ids)
	if err != nil {
		return res, err
	}
	if res.Delivered+res.Failed+res.Skipped < len(ids) {
		until, err := q.LatestLiveClaim(ctx, ids)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return res, fmt.Errorf("checking claims: %w", err)
		default:
			res.HeldUntil = until
		}
	}
	return res, nil
}

func (a *Activities) tally(ctx context.Context, q *dbq.Queries, ids []uuid.UUID) (DeliverResult, error) {
	rows, err := q.TallyDeliveries(ctx, ids)
	if err != nil {
		return DeliverResult{}, fmt.Errorf("tallying deliveries: %w", err)
	}
	var r DeliverResult
	for _, row := range rows {
		switch row.Status {
		case delivery.Delivered:
			r.Delivered = int(row.N)
		case delivery.Failed:
			r.Failed = int(row.N)
		case delivery.Skipped, delivery.Cancelled:
			r.Skipped += int(row.N)
		}
	}
	return r, nil
}
