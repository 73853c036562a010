package activities

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/db/dbq"
)

// inAppSender stores inbox items for in-app deliveries made after their
// page: a throttle's hold window's one notification, at its close. A page
// stores its own in-app items itself, in its transaction, and never hands
// them to a sender.
type inAppSender struct{ pool *pgxpool.Pool }

func (s inAppSender) Channel() channel.Channel { return channel.InApp }

// Send renders each job's item for its recipient and stores it. Storing is
// keyed by delivery, so a try after one whose answer was lost stores
// nothing twice.
func (s inAppSender) Send(ctx context.Context, ev *Event, jobs []Job, done func(i int, hash []byte, via string, err error)) {
	q := dbq.New(s.pool)
	for i, j := range jobs {
		if err := ctx.Err(); err != nil {
			done(i, nil, "", err)
			continue
		}
		c, err := ev.Render.Notice(ev.Data, j.Recipient, ev.Row.Link)
		if err != nil {
			done(i, nil, "", notRendered("rendering the in-app item", err))
			continue
		}
		done(i, c.Hash(), "", storeInboxItem(ctx, q, ev, j, c))
	}
}

func storeInboxItem(ctx context.Context, q *dbq.Queries, ev *Event, j Job, c catalog.Content) error {
	err := q.InsertInboxItems(ctx, dbq.InsertInboxItemsParams{TenantID: ev.Row.TenantID, EventID: ev.Row.ID, Type: ev.Type.Key,
		Link: ev.Row.Link, UserIds: []string{j.Recipient.ID}, DeliveryIds: []uuid.UUID{j.DeliveryID},
		Titles: []string{c.Subject}, Bodies: []string{c.Body}})
	if err != nil {
		return fmt.Errorf("storing the in-app item: %w", err)
	}
	return nil
}

func (s inAppSender) Permanent(err error) bool { return isPermanent(err) }

func (s inAppSender) Describe(err error) string {
	if isPermanent(err) {
		return errRenderInApp
	}
	return "the in-app item could not be stored; it is tried again"
}
