package activities

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/prefs"
)

// PageInput names one page of an event's recipients: those with IDs after After.
type PageInput struct {
	TenantID uuid.UUID `json:"tenant_id"`
	EventID  uuid.UUID `json:"event_id"`
	After    string    `json:"after"`
	Limit    int       `json:"limit"`
}

// PageResult reports what a page did and what is left for the email activity.
type PageResult struct {
	Next      string      `json:"next"` // "" when this was the last page
	Delivered int         `json:"delivered"`
	Skipped   int         `json:"skipped"`
	Failed    int         `json:"failed,omitempty"` // only when a re-run finds failures already recorded
	Emails    []uuid.UUID `json:"emails"`           // pending email deliveries
}

// recipientChannels are the channels this release delivers per recipient.
// Slack DMs and user webhooks join them when they are built.
var recipientChannels = []string{catalog.ChannelInApp, catalog.ChannelEmail}

// PreparePage resolves one page of recipients, records a delivery row per
// recipient and channel (pending or skipped with a reason), stores the in-app
// items and returns the pending emails. Run again, it changes nothing: rows are
// keyed by (event, user, channel) and inbox items by delivery.
func (a *Activities) PreparePage(ctx context.Context, in PageInput) (PageResult, error) {
	var res PageResult
	q := a.q()
	ec, err := a.loadEvent(ctx, q, in.EventID)
	if err != nil {
		return res, err
	}
	if ec.event.TenantID != in.TenantID {
		return res, fmt.Errorf("event %s belongs to another tenant", in.EventID)
	}
	spec, err := ParseRecipients(ec.event.Recipients)
	if err != nil {
		return res, err
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

	byID := make(map[string]dbq.User, len(users))
	ids := make([]string, 0, len(users))
	var rows dbq.InsertDeliveriesParams
	rows.TenantID, rows.EventID = in.TenantID, in.EventID
	for _, u := range users {
		byID[u.ID] = u
		ids = append(ids, u.ID)
		userPrefs, err := prefs.Parse(u.Preferences)
		if err != nil {
			return res, fmt.Errorf("preferences of %s: %w", u.ID, err)
		}
		for _, ch := range recipientChannels {
			if !ec.typ.Has(ch) {
				continue
			}
			d := prefs.Decide(userPrefs, ec.defaults, prefs.Subject{
				EventType: ec.typ.Key, Category: ec.typ.Category, Channel: ch,
				Urgent: ec.typ.Urgent || ec.event.Urgent, HasAddress: ch != catalog.ChannelEmail || u.Email != "",
			})
			status := "pending"
			if !d.Send {
				status = "skipped"
			}
			rows.UserIds = append(rows.UserIds, u.ID)
			rows.Channels = append(rows.Channels, ch)
			rows.Statuses = append(rows.Statuses, status)
			rows.Reasons = append(rows.Reasons, d.Reason)
		}
	}

	err = pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error {
		qtx := q.WithTx(tx)
		if err := qtx.InsertDeliveries(ctx, rows); err != nil {
			return fmt.Errorf("recording deliveries: %w", err)
		}
		deliveries, err := qtx.DeliveriesForUsers(ctx, dbq.DeliveriesForUsersParams{EventID: in.EventID, UserIds: ids})
		if err != nil {
			return err
		}
		var inbox dbq.InsertInboxItemsParams
		var marks dbq.MarkDeliveredParams
		for _, d := range deliveries {
			switch {
			case d.Status == "skipped":
				res.Skipped++
			case d.Channel == catalog.ChannelEmail && d.Status == "pending":
				res.Emails = append(res.Emails, d.ID)
			case d.Channel == catalog.ChannelInApp && d.Status == "pending":
				u := byID[d.UserID]
				c, err := ec.render.Notice(ec.data, catalog.Recipient{ID: u.ID, Name: u.Name, Email: u.Email}, ec.event.Link)
				if err != nil {
					return fmt.Errorf("rendering in-app item: %w", err)
				}
				inbox.UserIds = append(inbox.UserIds, d.UserID)
				inbox.DeliveryIds = append(inbox.DeliveryIds, d.ID)
				inbox.Titles = append(inbox.Titles, c.Subject)
				inbox.Bodies = append(inbox.Bodies, c.Body)
				marks.Ids = append(marks.Ids, d.ID)
				marks.ContentHashes = append(marks.ContentHashes, c.Hash())
			case d.Status == "delivered":
				res.Delivered++
			case d.Status == "failed":
				res.Failed++
			}
		}
		if len(inbox.DeliveryIds) == 0 {
			return nil
		}
		inbox.TenantID, inbox.EventID, inbox.Type, inbox.Link = in.TenantID, in.EventID, ec.typ.Key, ec.event.Link
		if err := qtx.InsertInboxItems(ctx, inbox); err != nil {
			return fmt.Errorf("storing in-app items: %w", err)
		}
		if err := qtx.MarkDelivered(ctx, marks); err != nil {
			return err
		}
		res.Delivered += len(marks.Ids)
		return nil
	})
	return res, err
}
