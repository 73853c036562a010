package activities

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/internal/mailer"
	"github.com/heraldhq/herald/prefs"
)

// SendInput names the email deliveries of one page.
type SendInput struct {
	TenantID    uuid.UUID   `json:"tenant_id"`
	EventID     uuid.UUID   `json:"event_id"`
	DeliveryIDs []uuid.UUID `json:"delivery_ids"`
}

// SendResult tallies a batch's deliveries once it has settled.
type SendResult struct {
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	Skipped   int `json:"skipped"`
}

// ErrTypeTemporary marks an email batch with messages the server deferred.
const ErrTypeTemporary = "EmailTemporaryFailure"

// MessageID is the Message-ID of a delivery's email: the same on every retry,
// so a message sent twice after a crash is recognisable as one.
func MessageID(deliveryID uuid.UUID, domain string) string {
	return deliveryID.String() + "@" + domain
}

// SendEmails sends the still-pending emails of a batch. Each accepted message
// is marked delivered at once, so a retry of the activity sends only what the
// server has not accepted yet. A permanent rejection fails that delivery; a
// temporary one fails the activity so Temporal retries it with backoff.
func (a *Activities) SendEmails(ctx context.Context, in SendInput) (SendResult, error) {
	q := a.q()
	ec, err := a.loadEvent(ctx, q, in.EventID)
	if err != nil {
		return SendResult{}, err
	}
	jobs, err := q.PendingEmailJobs(ctx, in.DeliveryIDs)
	if err != nil {
		return SendResult{}, fmt.Errorf("loading email deliveries: %w", err)
	}
	msgs := make([]mailer.Message, 0, len(jobs))
	hashes := make([][]byte, 0, len(jobs))
	sendable := make([]dbq.PendingEmailJobsRow, 0, len(jobs))
	for _, j := range jobs {
		if j.Email == "" {
			// The user was deleted or lost their address since the page was planned.
			if err := q.MarkSkipped(ctx, dbq.MarkSkippedParams{ID: j.ID, Reason: prefs.ReasonNoAddress}); err != nil {
				return SendResult{}, err
			}
			continue
		}
		c, err := ec.render.Email(ec.data, catalog.Recipient{ID: j.UserID, Name: j.Name, Email: j.Email}, ec.event.Link)
		if err != nil {
			return SendResult{}, temporal.NewNonRetryableApplicationError("rendering email", "TemplateError", err)
		}
		sendable = append(sendable, j)
		hashes = append(hashes, c.Hash())
		msgs = append(msgs, mailer.Message{
			ID: MessageID(j.ID, a.MailDomain), To: j.Email, ToName: j.Name,
			Subject: c.Subject, Text: c.Text, HTML: c.HTML,
			Headers: map[string]string{
				"X-Herald-Event-ID":    in.EventID.String(),
				"X-Herald-Delivery-ID": j.ID.String(),
				"X-Herald-Event-Type":  ec.typ.Key,
			},
		})
	}

	var (
		mu                   sync.Mutex
		delivered, permanent int
		temporary            int
		firstErr             error
		dbErr                error
	)
	// An accepted message must be recorded even if the activity is being
	// cancelled or timed out, or its retry would send it again.
	record := context.WithoutCancel(ctx)
	a.Mail.SendAll(ctx, msgs, func(i int, sendErr error) {
		activity.RecordHeartbeat(ctx)
		id := sendable[i].ID
		perm := sendErr != nil && mailer.Permanent(sendErr)
		rctx, cancel := context.WithTimeout(record, 10*time.Second)
		defer cancel()
		var err error
		switch {
		case sendErr == nil:
			err = q.MarkOneDelivered(rctx, dbq.MarkOneDeliveredParams{ID: id, ContentHash: hashes[i]})
		case perm:
			err = q.MarkPermanentFailure(rctx, dbq.MarkPermanentFailureParams{ID: id, Error: sendErr.Error()})
		default:
			err = q.RecordAttemptFailure(rctx, dbq.RecordAttemptFailureParams{ID: id, Error: sendErr.Error()})
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case sendErr == nil:
			delivered++
		case perm:
			permanent++
		default:
			temporary++
			if firstErr == nil {
				firstErr = sendErr
			}
		}
		if err != nil && dbErr == nil {
			dbErr = err
		}
	})
	if dbErr != nil {
		return SendResult{}, fmt.Errorf("recording email outcome: %w", dbErr)
	}
	if temporary > 0 {
		return SendResult{}, temporal.NewApplicationError(
			fmt.Sprintf("%d of %d emails not accepted: %v", temporary, len(msgs), firstErr), ErrTypeTemporary)
	}
	if activity.GetInfo(ctx).Attempt == 1 && len(jobs) == len(in.DeliveryIDs) {
		// Every delivery was pending and its outcome is known: no need to
		// read the tally back.
		return SendResult{Delivered: delivered, Failed: permanent, Skipped: len(jobs) - len(msgs)}, nil
	}
	return a.tally(ctx, q, in.DeliveryIDs)
}

// MarkFailed fails the deliveries of ids that are still pending, after their
// activity ran out of retries, and tallies the batch.
func (a *Activities) MarkFailed(ctx context.Context, ids []uuid.UUID, reason string) (SendResult, error) {
	q := a.q()
	if err := q.MarkFailed(ctx, dbq.MarkFailedParams{Ids: ids, Error: reason}); err != nil {
		return SendResult{}, err
	}
	return a.tally(ctx, q, ids)
}

func (a *Activities) tally(ctx context.Context, q *dbq.Queries, ids []uuid.UUID) (SendResult, error) {
	rows, err := q.TallyDeliveries(ctx, ids)
	if err != nil {
		return SendResult{}, err
	}
	var r SendResult
	for _, row := range rows {
		switch row.Status {
		case "delivered":
			r.Delivered = int(row.N)
		case "failed":
			r.Failed = int(row.N)
		case "skipped", "cancelled":
			r.Skipped += int(row.N)
		}
	}
	return r, nil
}
