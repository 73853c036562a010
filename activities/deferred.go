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
}

// endOfTime stands for "whenever due" in the query of one user's deliveries.
var endOfTime = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// ReleaseResult is what a page of due deliveries came to.
type ReleaseResult struct {
	// Batches hold the deliveries to send now, per channel in channel order.
	Batches []Batch `json:"batches,omitempty"`
	Skipped int     `json:"skipped,omitempty"`
	Failed  int     `json:"failed,omitempty"`
	// Redeferred counts deliveries whose recipient is in quiet hours again
	// (their window changed): they wait on.
	Redeferred int `json:"redeferred,omitempty"`
	// Last is the page's last delivery, the next page's After; nil after
	// the last page.
	Last *uuid.UUID `json:"last,omitempty"`
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
	rows, err := q.DeferredDeliveries(ctx, dbq.DeferredDeliveriesParams{
		EventID: in.EventID, DueBy: dueBy, UserID: in.UserID, After: in.After, PageSize: int32(in.Limit),
	})
	if err != nil {
		return res, fmt.Errorf("reading due deliveries: %w", err)
	}
	if len(rows) == 0 {
		return res, nil
	}
	if len(rows) == in.Limit {
		last := rows[len(rows)-1].ID
		res.Last = &last
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
		for _, id := range unreadable {
			if err := qtx.MarkPermanentFailure(ctx, dbq.MarkPermanentFailureParams{ID: id, Error: errUnreadablePrefs}); err != nil {
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
			res.Batches = append(res.Batches, Batch{Channel: ch, DeliveryIDs: ids})
		}
	}
	return res, nil
}
