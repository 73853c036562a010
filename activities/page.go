package activities

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/audience"
	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/prefs"
)

// PageInput names one page of an event's recipients: those with IDs after After.
type PageInput struct {
	TenantID uuid.UUID `json:"tenant_id"`
	EventID  uuid.UUID `json:"event_id"`
	After    string    `json:"after"`
	Limit    int       `json:"limit"`
	// Batched asks for Batches. Runs from before batches were added read
	// Emails instead; they leave it false.
	Batched bool `json:"batched,omitempty"`
}

// Batch is one channel's pending deliveries of a page.
type Batch struct {
	Channel     channel.Channel `json:"channel"`
	DeliveryIDs []uuid.UUID     `json:"delivery_ids"`
}

// PageResult reports what a page did and what is left to send.
type PageResult struct {
	Next      string `json:"next"` // "" when this was the last page
	Delivered int    `json:"delivered"`
	Skipped   int    `json:"skipped"`
	Failed    int    `json:"failed,omitempty"`
	// Batches hold the pending deliveries per channel, in channel order.
	Batches []Batch `json:"batches,omitempty"`
	// Emails is the email batch for runs from before Batches (see Batched).
	Emails []uuid.UUID `json:"emails,omitempty"`
}

// Errors recorded on deliveries that fail for one recipient alone.
const (
	errUnreadablePrefs = "this recipient's stored preferences could not be read"
	errRenderInApp     = "the notification could not be rendered for this recipient"
)

// PreparePage resolves one page of recipients, records a delivery row per
// recipient and channel (pending, skipped with a reason, or failed when
// something is wrong with that recipient alone), stores the in-app items and
// returns the pending deliveries of every other channel. Run again, it
// changes nothing: rows are keyed by (event, user, channel) and inbox items
// by delivery.
func (a *Activities) PreparePage(ctx context.Context, in PageInput) (PageResult, error) {
	var res PageResult
	q := a.q()
	ev, err := a.loadEvent(ctx, q, in.EventID)
	if err != nil {
		return res, err
	}
	if ev.Row.TenantID != in.TenantID {
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("event %s belongs to another tenant", in.EventID), ErrTypeWrongTenant, nil)
	}
	spec, err := audience.Parse(ev.Row.Recipients)
	if err != nil {
		return res, temporal.NewNonRetryableApplicationError("recipients", ErrTypeUndecodable, err)
	}
	users, err := recipientsPage(ctx, q, in.TenantID, spec, in.After, in.Limit)
	if err != nil {
		return res, fmt.Errorf("resolving recipients: %w", err)
	}
	if len(users) == in.Limit {
		res.Next = users[len(users)-1].ID
	}
	if len(users) == 0 {
		return res, nil
	}

	rows, byID, ids := a.plan(ctx, ev, in, users)
	err = pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error {
		qtx := q.WithTx(tx)
		if err := qtx.InsertDeliveries(ctx, rows); err != nil {
			return fmt.Errorf("recording deliveries: %w", err)
		}
		deliveries, err := qtx.DeliveriesForUsers(ctx, dbq.DeliveriesForUsersParams{EventID: in.EventID, UserIds: ids})
		if err != nil {
			return fmt.Errorf("reading deliveries back: %w", err)
		}
		return a.settleInApp(ctx, qtx, ev, in, deliveries, byID, &res)
	})
	if err != nil {
		return PageResult{}, err
	}
	if !in.Batched {
		for _, b := range res.Batches {
			if b.Channel == channel.Email {
				res.Emails = b.DeliveryIDs
			}
		}
		res.Batches = nil
	}
	return res, nil
}

// plan decides each recipient's delivery on each channel.
func (a *Activities) plan(ctx context.Context, ev *Event, in PageInput, users []dbq.User) (dbq.InsertDeliveriesParams, map[string]dbq.User, []string) {
	rows := dbq.InsertDeliveriesParams{TenantID: in.TenantID, EventID: in.EventID}
	byID := make(map[string]dbq.User, len(users))
	ids := make([]string, 0, len(users))
	add := func(u dbq.User, ch channel.Channel, st delivery.Status, reason delivery.Reason, msg string) {
		rows.UserIds = append(rows.UserIds, u.ID)
		rows.Channels = append(rows.Channels, string(ch))
		rows.Statuses = append(rows.Statuses, string(st))
		rows.Reasons = append(rows.Reasons, string(reason))
		rows.Errors = append(rows.Errors, msg)
	}
	urgent := ev.Type.Urgent || ev.Row.Urgent
	for _, u := range users {
		byID[u.ID] = u
		ids = append(ids, u.ID)
		userPrefs, perr := prefs.Parse(u.Preferences)
		if perr != nil {
			activity.GetLogger(ctx).Warn("unreadable preferences", "user_id", u.ID, "error", perr)
		}
		for _, ch := range a.channels() {
			if !ev.Type.Has(string(ch)) {
				continue
			}
			if perr != nil {
				// Guessing could send what the user turned off: fail this
				// recipient's deliveries with a reason, not the event.
				add(u, ch, delivery.Failed, delivery.None, errUnreadablePrefs)
				continue
			}
			d := prefs.Decide(userPrefs, ev.Defaults, prefs.Subject{
				EventType: ev.Type.Key, Category: ev.Type.Category, Channel: string(ch),
				Urgent: urgent, HasAddress: reachable(u, ch),
			})
			if d.Send {
				add(u, ch, delivery.Pending, delivery.None, "")
			} else {
				add(u, ch, delivery.Skipped, d.Reason, "")
			}
		}
	}
	return rows, byID, ids
}

// reachable reports whether the user has an address on ch at all.
func reachable(u dbq.User, ch channel.Channel) bool {
	switch ch {
	case channel.Email:
		return u.Email != ""
	case channel.Slack:
		return u.SlackUserID != ""
	}
	return true
}

// settleInApp stores the in-app items of the page's pending in-app
// deliveries, tallies what is already settled, and gathers every other
// channel's pending deliveries into batches.
func (a *Activities) settleInApp(ctx context.Context, q *dbq.Queries, ev *Event, in PageInput,
	deliveries []dbq.Delivery, byID map[string]dbq.User, res *PageResult) error {
	var inbox dbq.InsertInboxItemsParams
	var marks dbq.MarkDeliveredParams
	pending := map[channel.Channel][]uuid.UUID{}
	for _, d := range deliveries {
		switch {
		case d.Status == delivery.Skipped || d.Status == delivery.Cancelled:
			res.Skipped++
		case d.Status == delivery.Delivered:
			res.Delivered++
		case d.Status == delivery.Failed:
			res.Failed++
		case d.Channel == channel.InApp:
			u := byID[d.UserID]
			c, err := ev.Render.Notice(ev.Data, catalog.Recipient{ID: u.ID, Name: u.Name, Email: u.Email}, ev.Row.Link)
			if err != nil {
				activity.GetLogger(ctx).Warn("rendering in-app item", "delivery_id", d.ID, "error", err)
				if err := q.MarkPermanentFailure(ctx, dbq.MarkPermanentFailureParams{ID: d.ID, Error: errRenderInApp}); err != nil {
					return err
				}
				res.Failed++
				continue
			}
			inbox.UserIds = append(inbox.UserIds, d.UserID)
			inbox.DeliveryIds = append(inbox.DeliveryIds, d.ID)
			inbox.Titles = append(inbox.Titles, c.Subject)
			inbox.Bodies = append(inbox.Bodies, c.Body)
			marks.Ids = append(marks.Ids, d.ID)
			marks.ContentHashes = append(marks.ContentHashes, c.Hash())
		default:
			pending[d.Channel] = append(pending[d.Channel], d.ID)
		}
	}
	// Batches in channel order: the workflow must see the same order on replay.
	for _, ch := range channel.All {
		if ids := pending[ch]; len(ids) > 0 {
			res.Batches = append(res.Batches, Batch{Channel: ch, DeliveryIDs: ids})
		}
	}
	if len(inbox.DeliveryIds) == 0 {
		return nil
	}
	inbox.TenantID, inbox.EventID, inbox.Type, inbox.Link = in.TenantID, in.EventID, ev.Type.Key, ev.Row.Link
	if err := q.InsertInboxItems(ctx, inbox); err != nil {
		return fmt.Errorf("storing in-app items: %w", err)
	}
	if err := q.MarkDelivered(ctx, marks); err != nil {
		return fmt.Errorf("marking in-app items delivered: %w", err)
	}
	res.Delivered += len(marks.Ids)
	return nil
}
