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
	// Paced deliveries the channel defers wait in the database for their
	// next try (pending, with not_before, on their channel's schedule) and
	// the attempt succeeds; the workflow wakes for them on a durable timer.
	// Runs of engines before EngineLanes leave it false: a deferral fails
	// the attempt and Temporal retries it.
	Paced bool `json:"paced,omitempty"`
}

// DeliverResult tallies a batch's deliveries once they have settled.
type DeliverResult struct {
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	Skipped   int `json:"skipped"`
	// Deferred (paced only) wait for their next try; NextTry is when the
	// first of them is due.
	Deferred int        `json:"deferred,omitempty"`
	NextTry  *time.Time `json:"next_try,omitempty"`
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

// Claims are leases on the database's clock, short and renewed while the
// attempt works: a worker that dies (or a process paused past its lease)
// frees its deliveries within leaseFor, and another attempt sends them.
// An attempt stops starting messages when its last renewal is older than
// leaseFor less leaseMargin, so it never sends what it may no longer hold.
const (
	leaseFor    = 45 * time.Second
	renewEvery  = 15 * time.Second
	leaseMargin = 10 * time.Second
)

// Deliver sends a batch through its channel's Sender. Each delivery is
// claimed before it is sent, under a lease the attempt renews for as long as
// it works on it, so two attempts never send the same delivery: not a local
// activity that timed out while its send went on, not an attempt that
// overran its timeout and overlaps its retry. Every write after the claim is
// conditional on it, so an attempt that lost its lease cannot release or
// overwrite another's. Each outcome is recorded as soon as it is known. A
// message whose data left and whose answer never came is uncertain: failed
// with that reason and never sent again by Herald itself. A temporary
// failure either waits in the database for its next try (Paced) or fails
// the attempt so Temporal retries it; either way a retry sends only what is
// still pending.
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
	b := &batch{q: q, sender: sender, token: uuid.New(), log: eventLogger(ctx, ev, "channel", string(in.Channel)),
		accepted: ev.Row.CreatedAt, paced: in.Paced, ids: in.DeliveryIDs, tries: map[uuid.UUID]int{}}
	if deadline, ok := ctx.Deadline(); ok {
		b.answerBy = deadline.Add(-time.Second)
	}
	sendCtx, stop := b.keepClaims(ctx)
	defer stop()
	sendCtx = withBreaker(sendCtx)
	remaining := in.DeliveryIDs
	claimedAll := true
	for {
		asked := time.Now()
		rows, err := q.ClaimDeliveries(ctx, dbq.ClaimDeliveriesParams{
			ClaimID: b.token, LeaseSeconds: leaseFor.Seconds(), Ids: remaining, Channel: string(in.Channel),
		})
		if err != nil {
			return DeliverResult{}, fmt.Errorf("claiming deliveries: %w", err)
		}
		b.claimed(rows, asked)
		if len(rows) != len(remaining) {
			claimedAll = false
		}
		b.send(sendCtx, ev, rows)
		if len(rows) == len(remaining) {
			break // every delivery was ours to send
		}
		// What another attempt holds is waited for; what it let go since
		// (released, or its lease ran out) is claimed again. What this
		// attempt released itself, and what waits for its next try, is left
		// for a later attempt.
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
	stop()
	return b.finish(ctx, a, in, claimedAll)
}

// notMine returns the unsettled deliveries this attempt did not release
// itself and that do not wait for a later try, and whether any of them is
// held under another attempt's lease.
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
		if released[r.ID] || r.Parked {
			continue
		}
		ids = append(ids, r.ID)
		held = held || r.Held
	}
	return ids, held
}

// finish answers for the batch. Deliveries the channel accepted but that
// could not be recorded are answered with (never as an error, which would
// lose them), together with what to retry; otherwise deferrals that are not
// paced and failed writes fail the attempt, so Temporal retries it with
// backoff. The tally is read back unless this attempt settled every delivery
// itself, and a batch whose tally misses a delivery is never answered as
// settled: a delivery waiting for its next try counts as settled for now.
func (b *batch) finish(ctx context.Context, a *Activities, in DeliverInput, settledHere bool) (DeliverResult, error) {
	b.mu.Lock()
	unrecorded, retry, stuck := b.unrecorded, b.retry, b.stuck
	local := DeliverResult{Delivered: b.delivered, Failed: b.failed, Skipped: b.skipped, Deferred: b.deferred, NextTry: b.nextTry}
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
	case settledHere && activity.GetInfo(ctx).Attempt == 1 && local.Delivered+local.Failed+local.Skipped+local.Deferred == len(in.DeliveryIDs):
		return local, nil
	}
	res, err := a.tally(ctx, b.q, in.DeliveryIDs)
	if err != nil {
		return DeliverResult{}, err
	}
	if n := res.Delivered + res.Failed + res.Skipped + res.Deferred; n < len(in.DeliveryIDs) {
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

// batch records the outcomes of one attempt's sends.
type batch struct {
	q      *dbq.Queries
	sender Sender
	token  uuid.UUID
	log    warner
	paced  bool
	// ids are the batch's deliveries: their claims are renewed together.
	ids []uuid.UUID
	// answerBy is when retries of a write give up, so the attempt answers
	// before its deadline; zero for none.
	answerBy time.Time

	mu                                         sync.Mutex
	delivered, failed, skipped, deferred, lost int
	nextTry                                    *time.Time
	unrecorded, retry, stuck                   []uuid.UUID
	firstTemp                                  string
	dbErr                                      error
	// tries counts each claimed delivery's tries of its schedule so far.
	tries map[uuid.UUID]int
	// leaseUntil is when, by this process's clock, the attempt's claims may
	// have run out: the start of the last claim or renewal plus leaseFor.
	leaseUntil time.Time
	// accepted is when the event was accepted: delivery latency runs from it.
	accepted time.Time
}

// claimed notes newly claimed deliveries and the claim's lease, asked at
// asked: the database's now() is later, so the lease is at least this long.
func (b *batch) claimed(rows []dbq.ClaimDeliveriesRow, asked time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range rows {
		b.tries[r.ID] = int(r.Tries)
	}
	if len(rows) > 0 {
		b.leaseUntil = asked.Add(leaseFor)
	}
}

func (b *batch) send(ctx context.Context, ev *Event, rows []dbq.ClaimDeliveriesRow) {
	if len(rows) == 0 {
		return
	}
	jobs := make([]Job, 0, len(rows))
	for _, r := range rows {
		j := Job{DeliveryID: r.ID, SlackUserID: r.SlackUserID, WebhookURL: r.WebhookUrl, WebhookSecrets: r.WebhookSecrets,
			Recipient: catalog.Recipient{ID: r.UserID, Name: r.Name, Email: r.Email, Locale: r.Locale, Timezone: r.Timezone}}
		if r.Suppressed {
			b.record(ctx, j, errSuppressed)
			continue
		}
		jobs = append(jobs, j)
	}
	if len(jobs) == 0 {
		return
	}
	marks := make(chan accepted, 2*markBatch)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.markAccepted(context.WithoutCancel(ctx), marks)
	}()
	b.sender.Send(ctx, ev, jobs, func(i int, hash []byte, via string, err error) {
		if err == nil {
			marks <- accepted{id: jobs[i].DeliveryID, hash: hash, via: via}
		} else {
			b.record(ctx, jobs[i], err)
		}
	})
	close(marks)
	<-done
}

// keepClaims keeps the attempt's claims while it works and returns the
// context its sends run on, and the function that ends the keeping (safe to
// call twice). Every few seconds it heartbeats a regular activity, on the
// activity's own context (the SDK sends batched heartbeats on the context of
// the call, and the send context may end first), so a batch waiting for a
// pooled connection, a slow relay or the database is not taken for a dead
// one: an attempt superseded while it holds messages it sent but could not
// record would lose them to a second copy. It renews the claims on a
// context not cancelled with the attempt: a message in transmission when the attempt ends still holds its
// delivery until it is recorded. The send context ends when the worker is
// told to stop (nothing more is started, what is in transmission finishes
// and is recorded, the rest is released at once) and when the claims may
// have run out (a renewal that failed for too long, or found the claims
// taken): from then on, another attempt may be sending them.
func (b *batch) keepClaims(ctx context.Context) (context.Context, func()) {
	sendCtx, cancel := context.WithCancel(ctx)
	regular := activity.IsActivity(ctx) && !activity.GetInfo(ctx).IsLocalActivity
	var stopWorker <-chan struct{}
	if regular {
		stopWorker = activity.GetWorkerStopChannel(ctx)
	}
	quit := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(keepEvery)
		defer t.Stop()
		lastRenew := time.Now()
		for {
			select {
			case <-quit:
				return
			case <-stopWorker:
				cancel()
				stopWorker = nil
			case <-t.C:
				if regular && ctx.Err() == nil {
					activity.RecordHeartbeat(ctx)
				}
				if time.Since(lastRenew) >= renewEvery {
					lastRenew = time.Now()
					b.renew(context.WithoutCancel(ctx), cancel)
				}
				b.mu.Lock()
				lapsed := !b.leaseUntil.IsZero() && time.Now().After(b.leaseUntil.Add(-leaseMargin))
				b.mu.Unlock()
				if lapsed {
					cancel()
				}
			}
		}
	})
	return sendCtx, func() {
		once.Do(func() {
			close(quit)
			wg.Wait()
			cancel()
		})
	}
}

// keepEvery paces keepClaims: well inside the activities' heartbeat timeout
// and a fraction of renewEvery.
const keepEvery = 5 * time.Second

// renew extends the attempt's live claims. Finding none while deliveries
// are claimed and unsettled means another attempt took them after the
// lease ran out: this one must start nothing more.
func (b *batch) renew(ctx context.Context, lost context.CancelFunc) {
	asked := time.Now()
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	n, err := b.q.RenewClaims(c, dbq.RenewClaimsParams{Ids: b.ids, ClaimID: b.token, LeaseSeconds: leaseFor.Seconds()})
	cancel()
	if err != nil {
		b.log.Warn("renewing claims", "error", err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > 0 {
		b.leaseUntil = asked.Add(leaseFor)
		return
	}
	if !b.leaseUntil.IsZero() && b.open() {
		b.log.Warn("claims lost to another attempt; starting nothing more")
		lost()
	}
}

// open reports whether some claimed delivery has no outcome yet (b.mu held).
func (b *batch) open() bool {
	return len(b.tries) > b.delivered+b.failed+b.skipped+b.deferred+b.lost+len(b.retry)+len(b.stuck)+len(b.unrecorded)
}

// accepted is a message the channel accepted, to be marked delivered.
type accepted struct {
	id   uuid.UUID
	hash []byte
	via  string
}

// Accepted messages are marked delivered in groups of up to markBatch, each
// group written at most markWait after its first message was accepted: one
// statement per message was the largest database cost of a fan-out. A
// message accepted after a quiet spell is written at once.
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
	var flushed time.Time
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() {
		timer.Stop()
		if len(group) == 0 {
			return
		}
		defer func() { flushed = time.Now() }()
		p := dbq.MarkManyDeliveredParams{Ids: make([]uuid.UUID, len(group)), ContentHashes: make([][]byte, len(group)),
			Relays: make([]string, len(group)), ClaimID: b.token}
		for i, m := range group {
			p.Ids[i], p.ContentHashes[i], p.Relays[i] = m.id, m.hash, m.via
		}
		var marked int64
		err := b.retryDB(ctx, func(c context.Context) (err error) { marked, err = b.q.MarkManyDelivered(c, p); return err })
		b.mu.Lock()
		switch {
		case err != nil:
			b.log.Warn("accepted but not recorded; the workflow will record them", "deliveries", len(group), "error", err)
			b.unrecorded = append(b.unrecorded, p.Ids...)
		default:
			if lost := len(group) - int(marked); lost > 0 {
				// Another attempt holds them under a live lease (this one's
				// ran out): it records what it does with them.
				b.log.Warn("accepted after the claim was lost; left to the attempt that holds them", "deliveries", lost)
				metrics.LostClaims.Add(float64(lost))
			}
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
			switch {
			case len(group) == markBatch:
				flush()
			case len(group) == 1 && time.Since(flushed) >= markWait:
				// Sending slowly: record it at once. A crash between a
				// relay's acceptance and its record repeats the message,
				// so the gap is kept as short as the rate allows.
				flush()
			case len(group) == 1:
				timer.Reset(markWait)
			}
		case <-timer.C:
			flush()
		}
	}
}

// outcome is what record made of a message the channel did not accept.
type outcome int

const (
	outSkipped outcome = iota
	outFailed
	outRetry    // released for another attempt
	outDeferred // waits in the database for its next try
	outLost     // another attempt holds it now
)

// record writes the outcome of a message the channel did not accept. It
// runs even when the attempt is being cancelled, so claims are released.
// Every write is conditional on this attempt's claim.
func (b *batch) record(ctx context.Context, j Job, sendErr error) {
	id := j.DeliveryID
	rctx := context.WithoutCancel(ctx)
	skipped := delivery.NoAddress
	claim := uuid.NullUUID{UUID: b.token, Valid: true}
	var dbErr error
	var out outcome
	var next *time.Time
	// changed turns a conditional write's row count into an outcome: no row
	// means the claim was lost.
	changed := func(want outcome) func(int64, error) error {
		return func(n int64, err error) error {
			out = want
			if err == nil && n == 0 {
				out = outLost
			}
			return err
		}
	}
	sup, listable := b.sender.(suppressor)
	detail, rejected := "", false
	if listable && j.Recipient.Email != "" {
		detail, rejected = sup.Suppresses(sendErr)
	}
	switch {
	case errors.Is(sendErr, errSuppressed):
		skipped = delivery.Suppressed
		dbErr = b.retryDB(rctx, func(c context.Context) error {
			return changed(outSkipped)(b.q.MarkSkipped(c, dbq.MarkSkippedParams{ID: id, Reason: delivery.Suppressed, ClaimID: b.token}))
		})
	case rejected:
		// Refused for the address: failed, and the address listed in the
		// same statement, so the next email to it is skipped.
		b.log.Warn("delivery refused for its address; suppressing the address", "delivery_id", id, "error", sendErr)
		dbErr = b.retryDB(rctx, func(c context.Context) error {
			n, err := b.q.MarkRejected(c, dbq.MarkRejectedParams{ID: id, Error: b.sender.Describe(sendErr), ClaimID: claim,
				Address: j.Recipient.Email, Detail: detail})
			return changed(outFailed)(int64(n), err)
		})
	case errors.Is(sendErr, ErrNoAddress):
		dbErr = b.retryDB(rctx, func(c context.Context) error {
			return changed(outSkipped)(b.q.MarkSkipped(c, dbq.MarkSkippedParams{ID: id, Reason: delivery.NoAddress, ClaimID: b.token}))
		})
	case notStarted(sendErr):
		out = outRetry
		dbErr = b.retryDB(rctx, func(c context.Context) error {
			return b.q.ReleaseClaim(c, dbq.ReleaseClaimParams{ID: id, ClaimID: claim})
		})
	case isUncertain(sendErr):
		b.log.Warn("delivery uncertain: sent, never answered; not sent again", "delivery_id", id, "error", sendErr)
		dbErr = b.retryDB(rctx, func(c context.Context) error {
			return changed(outFailed)(b.q.MarkUncertain(c, dbq.MarkUncertainParams{ID: id, Error: b.sender.Describe(sendErr), ClaimID: b.token}))
		})
	case isPermanent(sendErr) || b.sender.Permanent(sendErr):
		b.log.Warn("delivery refused for good", "delivery_id", id, "error", sendErr)
		dbErr = b.retryDB(rctx, func(c context.Context) error {
			return changed(outFailed)(b.q.MarkPermanentFailure(c, dbq.MarkPermanentFailureParams{ID: id, Error: b.sender.Describe(sendErr), ClaimID: claim}))
		})
	case b.paced:
		b.mu.Lock()
		tries := b.tries[id] + 1
		b.mu.Unlock()
		wait, ok := delivery.NextTry(b.sender.Channel(), tries)
		if !ok {
			b.log.Warn("delivery failed: retries ran out", "delivery_id", id, "error", sendErr)
			dbErr = b.retryDB(rctx, func(c context.Context) error {
				return changed(outFailed)(b.q.MarkPermanentFailure(c, dbq.MarkPermanentFailureParams{ID: id,
					Error: "retries ran out: " + b.sender.Describe(sendErr), ClaimID: claim}))
			})
			break
		}
		b.log.Warn("delivery deferred", "delivery_id", id, "next_try_in", wait, "error", sendErr)
		dbErr = b.retryDB(rctx, func(c context.Context) error {
			at, err := b.q.DeferAttempt(c, dbq.DeferAttemptParams{ID: id, Error: b.sender.Describe(sendErr), WaitSeconds: wait.Seconds(), ClaimID: b.token})
			out = outDeferred
			if errors.Is(err, pgx.ErrNoRows) {
				out, err = outLost, nil
			}
			next = &at
			return err
		})
	default:
		b.log.Warn("delivery deferred", "delivery_id", id, "error", sendErr)
		dbErr = b.retryDB(rctx, func(c context.Context) error {
			return changed(outRetry)(b.q.RecordAttemptFailure(c, dbq.RecordAttemptFailureParams{ID: id, Error: b.sender.Describe(sendErr), ClaimID: b.token}))
		})
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
	ch := string(b.sender.Channel())
	switch out {
	case outSkipped:
		b.skipped++
		metrics.Deliveries.WithLabelValues(ch, string(delivery.Skipped), string(skipped)).Inc()
	case outFailed:
		b.failed++
		metrics.Deliveries.WithLabelValues(ch, string(delivery.Failed), "").Inc()
	case outDeferred:
		b.deferred++
		if b.nextTry == nil || next.Before(*b.nextTry) {
			b.nextTry = next
		}
		metrics.Deliveries.WithLabelValues(ch, delivery.Deferred, "").Inc()
	case outRetry:
		b.retry = append(b.retry, id)
		if b.firstTemp == "" && !notStarted(sendErr) {
			b.firstTemp = b.sender.Describe(sendErr)
		}
	case outLost:
		// Another attempt holds it under a live lease and records it.
		b.log.Warn("outcome not recorded: the claim was lost to another attempt", "delivery_id", id)
		metrics.LostClaims.Inc()
		b.lost++
	}
}

// notStarted reports a job the Sender never began because its context ended.
func notStarted(err error) bool {
	return err == context.Canceled || err == context.DeadlineExceeded
}

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

// tally counts a batch's deliveries by outcome; those waiting for their next
// try count as Deferred.
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
	parked, err := q.ParkedDeliveries(ctx, ids)
	if err != nil {
		return DeliverResult{}, fmt.Errorf("tallying deliveries: %w", err)
	}
	if r.Deferred = int(parked.N); r.Deferred > 0 {
		r.NextTry = &parked.Next
	}
	return r, nil
}
