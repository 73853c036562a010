package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/audience"
	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/integrations"
	"github.com/heraldhq/herald/internal/metrics"
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
	// AsOf is the workflow's time: deliveries that fall in their
	// recipient's quiet hours then are deferred. Runs from before deferral
	// leave it zero and defer nothing.
	AsOf time.Time `json:"as_of,omitempty"`
}

// PageResult reports what a page did and what is left to send.
type PageResult struct {
	Next      string `json:"next"` // "" when this was the last page
	Delivered int    `json:"delivered"`
	Skipped   int    `json:"skipped"`
	Failed    int    `json:"failed,omitempty"`
	// Batches hold the pending deliveries per channel, in channel order.
	Batches []delivery.Batch `json:"batches,omitempty"`
	// EventSends are the event's event-level sends (Slack channel posts,
	// the tenant webhook), per channel: planned with the first page and
	// sent as their own step, never mixed with recipients' batches.
	EventSends []delivery.Batch `json:"event_sends,omitempty"`
	// Emails is the email batch for runs from before Batches (see Batched).
	Emails []uuid.UUID `json:"emails,omitempty"`
	// Deferred counts the page's deliveries waiting out quiet hours or
	// held for an escalation.
	Deferred int `json:"deferred,omitempty"`
	// Cancelled: the event was cancelled; the page wrote nothing and no
	// further page should be planned.
	Cancelled bool `json:"cancelled,omitempty"`
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
	var targets dbq.InsertEventTargetsParams
	if in.After == "" && in.Batched {
		targets = eventTargets(ev)
	}
	// An event that reaches nobody may still go to the tenant webhook and
	// routed Slack channels: those are the event's, not a recipient's.
	if len(users) == 0 && len(targets.Targets) == 0 {
		return res, nil
	}

	rows, notices, ids := a.plan(ctx, ev, in, users)
	ids = append(ids, targets.Targets...)
	err = pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error {
		qtx := q.WithTx(tx)
		status, err := qtx.EventStatusForPage(ctx, in.EventID)
		if err != nil {
			return fmt.Errorf("reading the event's status: %w", err)
		}
		if status == delivery.EventCancelled {
			res.Cancelled = true
			return nil
		}
		if err := throttle(ctx, qtx, ev, in.AsOf, &rows); err != nil {
			return err
		}
		if err := collapseInApp(ctx, qtx, ev, rows, notices); err != nil {
			return fmt.Errorf("collapsing in-app items: %w", err)
		}
		if err := qtx.InsertDeliveries(ctx, rows); err != nil {
			return fmt.Errorf("recording deliveries: %w", err)
		}
		if w := digestWindows(ctx, ev, rows); len(w.UserIds) > 0 {
			if err := qtx.TouchDigestWindows(ctx, w); err != nil {
				return fmt.Errorf("arming digest windows: %w", err)
			}
		}
		if len(targets.Targets) > 0 {
			if err := qtx.InsertEventTargets(ctx, targets); err != nil {
				return fmt.Errorf("recording the event's Slack posts and webhook: %w", err)
			}
		}
		deliveries, err := qtx.DeliveriesForUsers(ctx, dbq.DeliveriesForUsersParams{EventID: in.EventID, UserIds: ids})
		if err != nil {
			return fmt.Errorf("reading deliveries back: %w", err)
		}
		return storeInbox(ctx, qtx, ev, in, deliveries, notices, &res)
	})
	if err != nil {
		return PageResult{}, err
	}
	if res.Cancelled {
		return PageResult{Cancelled: true}, nil
	}
	countPlanned(rows, ev.Row.CreatedAt)
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

// plan decides each recipient's delivery on each channel, and renders the
// in-app notices, which are delivered with the page.
func (a *Activities) plan(ctx context.Context, ev *Event, in PageInput, users []dbq.User) (dbq.InsertDeliveriesParams, map[string]catalog.Content, []string) {
	rows := dbq.InsertDeliveriesParams{TenantID: in.TenantID, EventID: in.EventID}
	notices := make(map[string]catalog.Content, len(users))
	ids := make([]string, 0, len(users))
	var notBefore time.Time // zero: now
	var escalatedFrom channel.Channel
	add := func(u dbq.User, ch channel.Channel, st delivery.Status, reason delivery.Reason, msg string, hash []byte) {
		rows.NotBefores = append(rows.NotBefores, notBefore)
		rows.EscalatedFroms = append(rows.EscalatedFroms, string(escalatedFrom))
		notBefore, escalatedFrom = time.Time{}, ""
		rows.UserIds = append(rows.UserIds, u.ID)
		rows.Channels = append(rows.Channels, string(ch))
		rows.Statuses = append(rows.Statuses, string(st))
		rows.Reasons = append(rows.Reasons, string(reason))
		rows.Errors = append(rows.Errors, msg)
		rows.ContentHashes = append(rows.ContentHashes, hash)
	}
	log := eventLogger(ctx, ev)
	urgent := ev.Type.Urgent || ev.Row.Urgent
	escalateAt := escalation(ev.Type, in.AsOf)
	collapse := collapses(ev)
	for _, u := range users {
		ids = append(ids, u.ID)
		// Whether the user got an in-app item to escalate from: a.channels
		// lists in_app first.
		inbox := false
		userPrefs, perr := prefs.Parse(u.Preferences)
		if perr != nil {
			log.Warn("unreadable preferences", "user_id", u.ID, "error", perr)
		}
		for _, ch := range a.channels() {
			if !plans(ev, userPrefs, ch) {
				continue
			}
			if perr != nil {
				// Guessing could send what the user turned off: fail this
				// recipient's deliveries with a reason, not the event.
				add(u, ch, delivery.Failed, delivery.None, errUnreadablePrefs, nil)
				continue
			}
			d := prefs.Decide(userPrefs, ev.Settings, prefs.Subject{
				EventType: ev.Type.Key, Category: ev.Type.Category, Channel: ch,
				Urgent: urgent, HasAddress: reachable(u, ch), UserTimezone: u.Timezone,
			})
			switch {
			case !d.Send:
				add(u, ch, delivery.Skipped, d.Reason, "", nil)
			case d.Digested(ch, ev.Type.Key):
				// The user's digest lists it when their window closes.
				add(u, ch, delivery.Skipped, delivery.Digested, "", nil)
			case collapse && ch != channel.InApp:
				// It goes out with the others of its type and group key
				// when their collapse window closes.
				add(u, ch, delivery.Skipped, delivery.Collapsed, "", nil)
			case ch == channel.InApp:
				c, err := ev.Render.Notice(ev.Data, recipient(u), ev.Row.Link)
				if err != nil {
					log.Warn("rendering in-app item", "user_id", u.ID, "error", err)
					add(u, ch, delivery.Failed, delivery.None, renderFailure(err), nil)
					continue
				}
				notices[u.ID] = c
				inbox = true
				add(u, ch, delivery.Delivered, delivery.None, "", c.Hash())
			case inbox && !escalateAt.IsZero() && ev.Type.EscalatesTo(ch):
				// Held until the item has gone unread long enough; the
				// release decides it again (read? quiet hours?) then. A user
				// without an item (in-app off) has nothing to read first:
				// their channels go as usual.
				notBefore, escalatedFrom = escalateAt, channel.InApp
				add(u, ch, delivery.Pending, delivery.None, "", nil)
			default:
				if !in.AsOf.IsZero() {
					if until, quiet := d.NotBefore(in.AsOf); quiet {
						notBefore = until.UTC()
					}
				}
				add(u, ch, delivery.Pending, delivery.None, "", nil)
			}
		}
	}
	return rows, notices, ids
}

// escalation returns when a type's escalated channels are released for an
// event planned at asOf, or the zero time when the type does not escalate
// (or the run, from before deferral, passes no time).
func escalation(t catalog.EventType, asOf time.Time) time.Time {
	if t.Escalate == nil || asOf.IsZero() {
		return time.Time{}
	}
	wait, err := t.Escalate.Wait()
	if err != nil {
		// The API stores only escalations that pass; one that does not
		// (a bound tightened since) holds nothing rather than guess.
		return time.Time{}
	}
	return asOf.Add(wait).UTC()
}

// collapses reports whether an event's deliveries collapse with others of
// its type and group key. An urgent event is never held back.
func collapses(ev *Event) bool {
	return ev.Row.GroupKey != nil && ev.Row.GroupWindowSeconds != nil && !(ev.Type.Urgent || ev.Row.Urgent)
}

// collapseInApp shows a collapsing event's in-app item only to the users
// for whom it opens the window of its type and key: for the others, an
// item of the window is in their inbox already, and this one is skipped as
// collapsed (rows is changed in place, before it is inserted, in the page's
// transaction, so the claim and the rows commit together).
func collapseInApp(ctx context.Context, q *dbq.Queries, ev *Event, rows dbq.InsertDeliveriesParams, notices map[string]catalog.Content) error {
	if !collapses(ev) {
		return nil
	}
	claim := dbq.ClaimCollapseHeadsParams{TenantID: ev.Row.TenantID, GroupType: ev.Type.Key, GroupKey: *ev.Row.GroupKey,
		EventID: ev.Row.ID, WindowSeconds: float64(*ev.Row.GroupWindowSeconds)}
	for i, ch := range rows.Channels {
		if ch == string(channel.InApp) && rows.Statuses[i] == string(delivery.Delivered) {
			claim.UserIds = append(claim.UserIds, rows.UserIds[i])
		}
	}
	if len(claim.UserIds) == 0 {
		return nil
	}
	won, err := q.ClaimCollapseHeads(ctx, claim)
	if err != nil {
		return err
	}
	first := make(map[string]bool, len(won))
	for _, u := range won {
		first[u] = true
	}
	for i, ch := range rows.Channels {
		if ch == string(channel.InApp) && rows.Statuses[i] == string(delivery.Delivered) && !first[rows.UserIds[i]] {
			rows.Statuses[i], rows.Reasons[i], rows.ContentHashes[i] = string(delivery.Skipped), string(delivery.Collapsed), nil
			delete(notices, rows.UserIds[i])
		}
	}
	return nil
}

// digestWindows are the windows a page's digested rows wait in, per (user,
// channel), its collapsed rows, per (user, channel, type, group key), and
// the rows its throttle held, per (user, channel, type). Their workflows
// run on the page's task queue.
func digestWindows(ctx context.Context, ev *Event, rows dbq.InsertDeliveriesParams) dbq.TouchDigestWindowsParams {
	w := dbq.TouchDigestWindowsParams{TenantID: ev.Row.TenantID}
	if activity.IsActivity(ctx) {
		w.TaskQueue = activity.GetInfo(ctx).TaskQueue
	}
	for i, r := range rows.Reasons {
		var typ, key string
		switch delivery.Reason(r) {
		case delivery.Digested:
		case delivery.Collapsed:
			if rows.Channels[i] == string(channel.InApp) {
				continue // the window's first item is in the inbox already
			}
			typ, key = ev.Type.Key, *ev.Row.GroupKey
		case delivery.ThrottledHeld:
			typ, key = ev.Type.Key, contract.HoldKey
		default:
			continue
		}
		w.UserIds = append(w.UserIds, rows.UserIds[i])
		w.Channels = append(w.Channels, rows.Channels[i])
		w.GroupTypes = append(w.GroupTypes, typ)
		w.GroupKeys = append(w.GroupKeys, key)
	}
	return w
}

// countPlanned counts the outcomes a page decided itself: in-app items
// delivered, skips by reason, recipients' failures, and deferrals.
func countPlanned(rows dbq.InsertDeliveriesParams, accepted time.Time) {
	for i, st := range rows.Statuses {
		ch := rows.Channels[i]
		switch {
		case st == string(delivery.Delivered):
			metrics.Deliveries.WithLabelValues(ch, st, "").Inc()
			metrics.DeliveryLatency.WithLabelValues(ch).Observe(time.Since(accepted).Seconds())
		case st == string(delivery.Skipped), st == string(delivery.Failed):
			metrics.Deliveries.WithLabelValues(ch, st, rows.Reasons[i]).Inc()
		case !rows.NotBefores[i].IsZero():
			metrics.Deliveries.WithLabelValues(ch, delivery.Deferred, "").Inc()
		}
	}
}

// plans reports whether a user (with document doc, as parsed once for the
// page) gets a delivery row on ch for this event: on
// the type's channels, Slack DMs only where the tenant has a bot token, and
// the user's own webhook (for every event) only where they set a URL. A
// tenant without Slack gets no Slack rows at all, rather than a skipped row
// per recipient.
func plans(ev *Event, doc prefs.Document, ch channel.Channel) bool {
	switch ch {
	case channel.Webhook:
		c := doc.Channels[string(channel.Webhook)]
		return c.URL != nil && *c.URL != ""
	case channel.Slack:
		return ev.Type.Plans(ch) && ev.Slack != nil && ev.Slack.BotTokenSet
	}
	return ev.Type.Plans(ch)
}

// eventTargets are the event's event-level sends: a post per routed Slack
// channel and the tenant webhook, planned once, with the first page.
func eventTargets(ev *Event) dbq.InsertEventTargetsParams {
	p := dbq.InsertEventTargetsParams{TenantID: ev.Row.TenantID, EventID: ev.Row.ID}
	if !ev.Type.Notifies() {
		return p
	}
	t := integrations.Plan(ev.Slack, ev.Webhook, ev.Type.Key, ev.Type.Category, ev.Type.Has(channel.Slack))
	if ev.Type.Key == catalog.TestNotification {
		t = integrations.PlanAll(ev.Slack, ev.Webhook)
	}
	for _, ch := range t.SlackChannels {
		p.Targets = append(p.Targets, integrations.TargetSlack(ch))
		p.Channels = append(p.Channels, string(channel.Slack))
	}
	if t.Webhook {
		p.Targets = append(p.Targets, integrations.TargetWebhook)
		p.Channels = append(p.Channels, string(channel.Webhook))
	}
	return p
}

// reachable reports whether the user has an address on ch at all. A
// user's own webhook needs its own signing secret too: endpoints set before
// users' endpoints had one get nothing until the user sets the URL again.
func reachable(u dbq.User, ch channel.Channel) bool {
	switch ch {
	case channel.Email:
		return u.Email != ""
	case channel.Slack:
		return u.SlackUserID != ""
	case channel.Webhook:
		return u.WebhookSecrets != ""
	}
	return true
}

// storeInbox stores the inbox items of the page's in-app deliveries (again,
// harmlessly, on a re-run), tallies the page, and gathers every other
// channel's pending deliveries into batches.
func storeInbox(ctx context.Context, q *dbq.Queries, ev *Event, in PageInput,
	deliveries []dbq.Delivery, notices map[string]catalog.Content, res *PageResult) error {
	var inbox dbq.InsertInboxItemsParams
	pending := map[channel.Channel][]uuid.UUID{}
	eventLevel := map[channel.Channel][]uuid.UUID{}
	for _, d := range deliveries {
		switch d.Status {
		case delivery.Skipped, delivery.Cancelled:
			res.Skipped++
		case delivery.Failed:
			res.Failed++
		case delivery.Delivered:
			res.Delivered++
			if c, ok := notices[d.UserID]; ok && d.Channel == channel.InApp {
				inbox.UserIds = append(inbox.UserIds, d.UserID)
				inbox.DeliveryIds = append(inbox.DeliveryIds, d.ID)
				inbox.Titles = append(inbox.Titles, c.Subject)
				inbox.Bodies = append(inbox.Bodies, c.Body)
			}
		case delivery.Pending:
			switch {
			case d.NotBefore != nil:
				res.Deferred++ // its workflow releases it when its quiet hours end, or its escalation is due
			case integrations.EventLevel(d.UserID):
				eventLevel[d.Channel] = append(eventLevel[d.Channel], d.ID)
			default:
				pending[d.Channel] = append(pending[d.Channel], d.ID)
			}
		}
	}
	// Batches in channel order: the workflow must see the same order on replay.
	for _, ch := range channel.All {
		if ids := pending[ch]; len(ids) > 0 {
			res.Batches = append(res.Batches, delivery.Batch{Channel: ch, DeliveryIDs: ids})
		}
		if ids := eventLevel[ch]; len(ids) > 0 {
			res.EventSends = append(res.EventSends, delivery.Batch{Channel: ch, DeliveryIDs: ids})
		}
	}
	if len(inbox.DeliveryIds) == 0 {
		return nil
	}
	inbox.TenantID, inbox.EventID, inbox.Type, inbox.Link = in.TenantID, in.EventID, ev.Type.Key, ev.Row.Link
	if err := q.InsertInboxItems(ctx, inbox); err != nil {
		return fmt.Errorf("storing in-app items: %w", err)
	}
	return nil
}
