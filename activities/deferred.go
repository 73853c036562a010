package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/integrations"
	"github.com/heraldhq/herald/prefs"
)

// NextRelease returns when the first of an event's deliveries waiting out
// quiet hours is due, or nil when none waits.
func (a *Activities) NextRelease(ctx context.Context, eventID uuid.UUID) (*time.Time, error) {
	t, err := a.q().NextRelease(ctx, eventID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the next release: %w", err)
	}
	return &t, nil
}

// ReleaseInput names a page of an event's deferred deliveries, those with
// IDs after After: the ones due by AsOf, or, with UserID, every one of that
// user's (they changed their preferences while they waited).
type ReleaseInput struct {
	EventID uuid.UUID `json:"event_id"`
	AsOf    time.Time `json:"as_of"`
	UserID  string    `json:"user_id,omitempty"`
	After   uuid.UUID `json:"after"`
	Limit   int       `json:"limit"`
	// InDueOrder pages by due time and ID, after (AfterAt, After): a page
	// is a range of the deferred index. Runs before EngineLanes page by ID.
	InDueOrder bool       `json:"in_due_order,omitempty"`
	AfterAt    *time.Time `json:"after_at,omitempty"`
}

// endOfTime stands for "whenever due" in the query of one user's deliveries.
var endOfTime = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// ReleaseResult is what a page of due deliveries came to.
type ReleaseResult struct {
	// Batches hold the deliveries to send now, per channel in channel order.
	Batches []delivery.Batch `json:"batches,omitempty"`
	Skipped int              `json:"skipped,omitempty"`
	Failed  int              `json:"failed,omitempty"`
	// Redeferred counts deliveries whose recipient is in quiet hours again
	// (their window changed): they wait on.
	Redeferred int `json:"redeferred,omitempty"`
	// Last is the page's last delivery, the next page's After (and LastAt
	// its due time, the next AfterAt); nil after the last page.
	Last   *uuid.UUID `json:"last,omitempty"`
	LastAt *time.Time `json:"last_at,omitempty"`
}

// waitingPage reads a page of an event's waiting deliveries, in the order
// the input asks for.
// Both queries answer the same row: a deferred delivery and what deciding
// it again needs.
func waitingPage(ctx context.Context, q *dbq.Queries, in ReleaseInput, dueBy time.Time) ([]dbq.DeferredDeliveriesRow, error) {
	if !in.InDueOrder {
		return q.DeferredDeliveries(ctx, dbq.DeferredDeliveriesParams{
			EventID: in.EventID, DueBy: dueBy, UserID: in.UserID, After: in.After, PageSize: int32(in.Limit),
		})
	}
	afterAt := time.Unix(0, 0).UTC() // before any due time
	if in.AfterAt != nil {
		afterAt = *in.AfterAt
	}
	rows, err := q.DueDeliveries(ctx, dbq.DueDeliveriesParams{
		EventID: in.EventID, DueBy: dueBy, UserID: in.UserID, AfterAt: afterAt, After: in.After, PageSize: int32(in.Limit),
	})
	out := make([]dbq.DeferredDeliveriesRow, len(rows))
	for i, r := range rows {
		out[i] = dbq.DeferredDeliveriesRow(r)
	}
	return out, err
}

// ReleaseDue decides a page of deferred deliveries again, against what holds
// at AsOf: the recipient may have turned the channel off while it waited (it
// is skipped, never sent) or moved their quiet hours (it waits on, until the
// new window ends). The rest is returned to be sent now.
func (a *Activities) ReleaseDue(ctx context.Context, in ReleaseInput) (ReleaseResult, error) {
	var res ReleaseResult
	q := a.q()
	dueBy := in.AsOf
	if in.UserID != "" {
		dueBy = endOfTime
	}
	rows, err := waitingPage(ctx, q, in, dueBy)
	if err != nil {
		return res, fmt.Errorf("reading due deliveries: %w", err)
	}
	if len(rows) == 0 {
		return res, nil
	}
	if len(rows) == in.Limit {
		last := rows[len(rows)-1]
		res.Last = &last.ID
		if in.InDueOrder {
			res.LastAt = &last.DueAt
		}
	}
	ev, err := a.loadEvent(ctx, q, in.EventID)
	if err != nil {
		return res, err
	}
	urgent := ev.Type.Urgent || ev.Row.Urgent
	send := map[channel.Channel][]uuid.UUID{}
	var skip dbq.SkipManyParams
	var redefer dbq.RedeferParams
	var unreadable []uuid.UUID
	for _, r := range rows {
		if r.EscalatedFrom != nil && r.DueAt.After(in.AsOf) {
			// Held for its escalation, reached early by its user's change
			// of preferences: it stays held, and is decided when due.
			continue
		}
		if !r.HasUser {
			if integrations.EventLevel(r.UserID) {
				// A Slack channel post or the tenant webhook waiting for its
				// next try: no one's preferences apply.
				send[r.Channel] = append(send[r.Channel], r.ID)
				continue
			}
			skip.Ids = append(skip.Ids, r.ID)
			skip.Reasons = append(skip.Reasons, string(delivery.UserDeleted))
			continue
		}
		if r.Acknowledged {
			// The recipient read (or saw, archived, snoozed) the item this
			// delivery escalates: the escalation is called off.
			skip.Ids = append(skip.Ids, r.ID)
			skip.Reasons = append(skip.Reasons, string(delivery.ReadInApp))
			continue
		}
		doc, err := prefs.Parse(r.Preferences)
		if err != nil {
			unreadable = append(unreadable, r.ID)
			continue
		}
		d := prefs.Decide(doc, ev.Settings, prefs.Subject{
			EventType: ev.Type.Key, Category: ev.Type.Category, Channel: r.Channel, Urgent: urgent,
			HasAddress:   (r.Channel != channel.Email || r.HasEmail) && (r.Channel != channel.Slack || r.HasSlack),
			UserTimezone: r.Timezone,
		})
		if !d.Send {
			skip.Ids = append(skip.Ids, r.ID)
			skip.Reasons = append(skip.Reasons, string(d.Reason))
			continue
		}
		if until, quiet := d.NotBefore(in.AsOf); quiet {
			redefer.Ids = append(redefer.Ids, r.ID)
			redefer.NotBefores = append(redefer.NotBefores, until.UTC())
			continue
		}
		send[r.Channel] = append(send[r.Channel], r.ID)
	}
	err = pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error {
		qtx := q.WithTx(tx)
		if len(skip.Ids) > 0 {
			if err := qtx.SkipMany(ctx, skip); err != nil {
				return fmt.Errorf("skipping deliveries: %w", err)
			}
		}
		if len(redefer.Ids) > 0 {
			if err := qtx.Redefer(ctx, redefer); err != nil {
				return fmt.Errorf("deferring deliveries again: %w", err)
			}
		}
		if ids := sendIDs(send); len(ids) > 0 {
			if err := qtx.ReleaseMany(ctx, ids); err != nil {
				return fmt.Errorf("releasing deliveries: %w", err)
			}
		}
		for _, id := range unreadable {
			if _, err := qtx.MarkPermanentFailure(ctx, dbq.MarkPermanentFailureParams{ID: id, Error: errUnreadablePrefs}); err != nil {
				return fmt.Errorf("failing deliveries: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return ReleaseResult{}, err
	}
	res.Skipped, res.Redeferred, res.Failed = len(skip.Ids), len(redefer.Ids), len(unreadable)
	for _, ch := range channel.All {
		if ids := send[ch]; len(ids) > 0 {
			res.Batches = append(res.Batches, delivery.Batch{Channel: ch, DeliveryIDs: ids})
		}
	}
	return res, nil
}

// sendIDs lists the deliveries of send, in channel order.
func sendIDs(send map[channel.Channel][]uuid.UUID) []uuid.UUID {
	var ids []uuid.UUID
	for _, ch := range channel.All {
		ids = append(ids, send[ch]...)
	}
	return ids
}

// ParkDeliveries hands deliveries a run had queued to the database, due
// now: the next run of the event releases them.
func (a *Activities) ParkDeliveries(ctx context.Context, ids []uuid.UUID) error {
	if err := a.q().ParkDeliveries(ctx, ids); err != nil {
		return fmt.Errorf("parking deliveries: %w", err)
	}
	return nil
}
