package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/digest"
)

// MaxCollapsed bounds the items a collapsed notification lists, newest
// first; the rest are only counted.
const MaxCollapsed = 5

// planCollapse decides when a collapse window closes: the first item that
// waits opened it, so it closes that item's group_window after it was
// collapsed, moved past the user's quiet hours. A throttle's hold window
// closes when the throttle's window its first item was held in ends. With
// nothing waiting (or the user gone) it closes now.
func (a *Activities) planCollapse(ctx context.Context, in PlanDigestInput) (DigestPlan, error) {
	plan := DigestPlan{Frequency: digest.Immediate, CloseAt: in.AsOf}
	items, err := a.q().WaitingCollapsedItems(ctx, a.collapsedParams(in.DigestWindow))
	if err != nil {
		return plan, fmt.Errorf("reading the window's items: %w", err)
	}
	if len(items) == 0 {
		return plan, nil
	}
	first := items[0]
	v, err := a.digestView(ctx, a.q(), in.DigestWindow)
	if errors.Is(err, pgx.ErrNoRows) {
		return plan, nil
	}
	if err != nil {
		return plan, err
	}
	plan.CloseAt = first.CreatedAt.Add(time.Duration(first.WindowSeconds) * time.Second).UTC()
	if in.Held() {
		plan.CloseAt = heldUntil(v.cat, in.GroupType, first.CreatedAt, in.AsOf)
	}
	if in.Every > 0 {
		plan.CloseAt = in.Opened.Add(in.Every)
	}
	if plan.CloseAt.Before(in.AsOf) {
		plan.CloseAt = in.AsOf
	}
	// In-app has no quiet hours: its decision defers nothing.
	if until, quiet := v.channel.NotBefore(plan.CloseAt); quiet {
		plan.CloseAt, plan.Quiet = until.UTC(), true
	}
	return plan, nil
}

// heldUntil is when a hold window of eventType whose first item was held
// at opened closes: when the throttle's window it was held in ends (a page
// planned just before an edge and stored after it waits for the next one,
// never less). A throttle lifted since holds nothing: it closes now.
func heldUntil(cat catalog.Catalog, eventType string, opened, now time.Time) time.Time {
	t, ok := cat.Lookup(eventType)
	if !ok || t.Throttle == nil {
		return now
	}
	end, ok := t.Throttle.WindowEnd(opened)
	if !ok {
		return now
	}
	return end
}

func (a *Activities) collapsedParams(w DigestWindow) dbq.WaitingCollapsedItemsParams {
	return dbq.WaitingCollapsedItemsParams{TenantID: w.TenantID, UserID: w.UserID, Channel: w.Channel,
		Waiting: string(w.waiting()), GroupType: w.GroupType, GroupKey: w.GroupKey}
}

// collapsedItems are every item waiting in a collapse (or hold) window:
// all are due at its close. Those whose channel or category the user
// turned off since are skipped for that instead.
func (a *Activities) collapsedItems(ctx context.Context, q *dbq.Queries, in PrepareDigestInput, v *digestView) ([]uuid.UUID, digest.Frequency, error) {
	items, err := q.WaitingCollapsedItems(ctx, a.collapsedParams(in.DigestWindow))
	if err != nil {
		return nil, "", fmt.Errorf("reading the window's items: %w", err)
	}
	var due []uuid.UUID
	for _, it := range items {
		d := v.decide(it.Type)
		if d.Send {
			due = append(due, it.ID)
			continue
		}
		if _, err := q.DropDigestItemsByID(ctx, dbq.DropDigestItemsByIDParams{Reason: d.Reason, Ids: []uuid.UUID{it.ID},
			TenantID: in.TenantID, Waiting: in.waiting()}); err != nil {
			return nil, "", fmt.Errorf("skipping items turned off: %w", err)
		}
	}
	return due, digest.Immediate, nil
}

// collapseData renders a collapsed notification's data: the newest item's
// title, how many there are, and the newest few, as the user sees them.
func (a *Activities) collapseData(ctx context.Context, q *dbq.Queries, in PrepareDigestInput, v *digestView, digestID uuid.UUID, total int) ([]byte, error) {
	items, err := listedItems(ctx, q, v, uuid.NullUUID{UUID: digestID, Valid: true}, MaxCollapsed)
	if err != nil {
		return nil, err
	}
	type shownItem struct {
		Title string `json:"title"`
		Body  string `json:"body,omitempty"`
		Link  string `json:"link,omitempty"`
		At    string `json:"at"`
	}
	shown := make([]shownItem, 0, len(items))
	for _, it := range items {
		shown = append(shown, shownItem{Title: it.Title, Body: it.Body, Link: it.Link, At: it.At.UTC().Format(time.RFC3339)})
	}
	out := map[string]any{"type": in.GroupType, "total": total, "items": shown, "categories": []string{}}
	if in.Held() {
		// The items were held by the type's throttle, not grouped by a key.
		out["throttled"] = true
	} else {
		out["group_key"] = in.GroupKey
	}
	// Templates read a zero as "some": a count of none is left out.
	if total > 1 {
		out["others"] = total - 1
	}
	if more := total - len(shown); more > 0 {
		out["more"] = more
	}
	if len(items) > 0 {
		out["title"] = items[0].Title
		if c := v.category(in.GroupType); c != "" {
			out["categories"] = []string{c}
		}
	}
	return json.Marshal(out)
}
