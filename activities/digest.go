package activities

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/digest"
	"github.com/heraldhq/herald/prefs"
)

// DigestWindow names one user's digest on one channel.
type DigestWindow struct {
	TenantID uuid.UUID       `json:"tenant_id"`
	UserID   string          `json:"user_id"`
	Channel  channel.Channel `json:"channel"`
}

// PlanDigestInput asks when a window that opened at Opened closes.
type PlanDigestInput struct {
	DigestWindow
	Opened time.Time `json:"opened"`
	AsOf   time.Time `json:"as_of"` // the workflow's now
	// Every replaces the user's cadence with a fixed window (tests only).
	Every time.Duration `json:"every,omitempty"`
}

// DigestPlan is when a window closes, by the user's settings now.
type DigestPlan struct {
	Frequency string    `json:"frequency"`
	CloseAt   time.Time `json:"close_at"`
	// Quiet: the window ends in the user's quiet hours and waits for them.
	Quiet bool `json:"quiet,omitempty"`
}

// PlanDigest decides when a user's window closes: the next boundary of their
// cadence after it opened, in their zone, moved past their quiet hours. A
// user back on immediate (or gone, or with the channel off) closes it now:
// what waits is flushed, or dropped, at once.
func (a *Activities) PlanDigest(ctx context.Context, in PlanDigestInput) (DigestPlan, error) {
	d, zone, err := a.digestDecision(ctx, a.q(), in.DigestWindow)
	if errors.Is(err, pgx.ErrNoRows) {
		return DigestPlan{Frequency: digest.Immediate, CloseAt: in.AsOf}, nil
	}
	if err != nil {
		return DigestPlan{}, err
	}
	plan := DigestPlan{Frequency: d.Frequency, CloseAt: in.AsOf}
	if !d.Send {
		return plan, nil
	}
	if in.Every > 0 {
		plan.CloseAt = in.Opened.Add(in.Every)
	} else if c, ok := digest.Close(d.Frequency, zone, in.Opened); ok {
		plan.CloseAt = c
	}
	if plan.CloseAt.Before(in.AsOf) {
		plan.CloseAt = in.AsOf
	}
	if until, quiet := d.NotBefore(plan.CloseAt); quiet {
		plan.CloseAt, plan.Quiet = until.UTC(), true
	}
	return plan, nil
}

// digestDecision is the user's decision for digests on a channel, and the
// zone their windows are in (theirs, else the tenant's, else UTC).
func (a *Activities) digestDecision(ctx context.Context, q *dbq.Queries, w DigestWindow) (prefs.Decision, *time.Location, error) {
	u, err := q.GetUser(ctx, dbq.GetUserParams{TenantID: w.TenantID, ID: w.UserID})
	if err != nil {
		return prefs.Decision{}, nil, err
	}
	t, err := q.GetTenant(ctx, w.TenantID)
	if err != nil {
		return prefs.Decision{}, nil, err
	}
	st, err := prefs.ParseSettings(t.Settings, t.Timezone)
	if err != nil {
		return prefs.Decision{}, nil, fmt.Errorf("reading tenant settings: %w", err)
	}
	doc, err := prefs.Parse(u.Preferences)
	if err != nil {
		return prefs.Decision{}, nil, fmt.Errorf("reading %s's preferences: %w", w.UserID, err)
	}
	d := prefs.Decide(doc, st, prefs.Subject{Channel: w.Channel, HasAddress: true, UserTimezone: u.Timezone})
	zone := time.UTC
	for _, z := range []string{u.Timezone, st.Timezone} {
		if prefs.ValidZone(z) {
			if loc, err := time.LoadLocation(z); err == nil {
				zone = loc
				break
			}
		}
	}
	return d, zone, nil
}

// PrepareDigestInput closes a window at CloseAt.
type PrepareDigestInput struct {
	DigestWindow
	CloseAt   time.Time `json:"close_at"`
	Frequency string    `json:"frequency"`
	// WorkflowID is the digest workflow's, recorded on the digest's event.
	WorkflowID string `json:"workflow_id"`
}

// PreparedDigest is a digest ready to send: an event of type herald.digest
// with one pending delivery that lists Items items.
type PreparedDigest struct {
	EventID    uuid.UUID `json:"event_id"`
	DeliveryID uuid.UUID `json:"delivery_id"`
	Items      int       `json:"items"`
	// Seq is the window's page count when its items were listed.
	Seq int64 `json:"seq"`
}

// maxListed bounds the items a digest shows; the rest are counted.
const maxListed = 50

// digestNamespace derives a digest's event ID from its window and close.
var digestNamespace = uuid.MustParse("b0d7a3c2-5e41-4c6f-8f2a-9d3e6c1b7a54")

var errEmptyDigest = errors.New("no items")

// PrepareDigest lists every item waiting in a user's window on a new
// herald.digest event with one pending delivery (the digest), in one
// transaction under the window's lock: each item is listed by exactly one
// digest, and one cancelled first by none. Run again for the same close, it
// returns the digest it made. With nothing waiting it makes nothing.
func (a *Activities) PrepareDigest(ctx context.Context, in PrepareDigestInput) (PreparedDigest, error) {
	key := in.TenantID.String() + "/" + in.UserID + "/" + string(in.Channel) + "/" + in.CloseAt.UTC().Format(time.RFC3339Nano)
	eventID := uuid.NewSHA1(digestNamespace, []byte(key))
	idem := "digest-" + eventID.String()
	var out PreparedDigest
	err := pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error {
		q := a.q().WithTx(tx)
		seq, err := q.LockDigestWindow(ctx, dbq.LockDigestWindowParams{TenantID: in.TenantID, UserID: in.UserID, Channel: string(in.Channel)})
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("locking the window: %w", err)
		}
		out.Seq = seq
		if ev, err := q.GetEventByKey(ctx, dbq.GetEventByKeyParams{TenantID: in.TenantID, IdempotencyKey: idem}); err == nil {
			return a.preparedBefore(ctx, q, ev, &out)
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		d, _, err := a.digestDecision(ctx, q, in.DigestWindow)
		if errors.Is(err, pgx.ErrNoRows) {
			return errEmptyDigest // the user is gone; deleting them cancelled their items
		}
		if err != nil {
			return err
		}
		if !d.Send {
			// The channel was turned off since: the items are skipped for that.
			_, err := q.DropDigestItems(ctx, dbq.DropDigestItemsParams{Reason: d.Reason, TenantID: in.TenantID, UserID: in.UserID, Channel: in.Channel})
			if err != nil {
				return err
			}
			return errEmptyDigest
		}
		return a.listDigest(ctx, q, in, eventID, idem, &out)
	})
	if errors.Is(err, errEmptyDigest) {
		return PreparedDigest{Seq: out.Seq}, nil
	}
	return out, err
}

// preparedBefore answers a retried PrepareDigest from the digest it made.
func (a *Activities) preparedBefore(ctx context.Context, q *dbq.Queries, ev dbq.Event, out *PreparedDigest) error {
	ds, err := q.EventDeliveries(ctx, dbq.EventDeliveriesParams{EventID: ev.ID, MaxRows: 1})
	if err != nil || len(ds) == 0 {
		return fmt.Errorf("reading the digest's delivery: %w", err)
	}
	var data struct {
		Total int `json:"total"`
	}
	if err := json.Unmarshal(ev.Data, &data); err != nil {
		return err
	}
	out.EventID, out.DeliveryID, out.Items = ev.ID, ds[0].ID, data.Total
	return nil
}

// listDigest makes the digest's event and delivery, takes the window's
// items for it and renders what it shows into the event's data.
func (a *Activities) listDigest(ctx context.Context, q *dbq.Queries, in PrepareDigestInput, eventID uuid.UUID, idem string, out *PreparedDigest) error {
	recipients, _ := json.Marshal(map[string][]string{"users": {in.UserID}})
	hash := sha256.Sum256([]byte(idem))
	if _, err := q.InsertEvent(ctx, dbq.InsertEventParams{
		ID: eventID, TenantID: in.TenantID, Type: catalog.Digest, IdempotencyKey: idem, RequestHash: hash[:],
		Recipients: recipients, Data: []byte(`{}`), WorkflowID: in.WorkflowID,
	}); err != nil {
		return fmt.Errorf("recording the digest: %w", err)
	}
	// Its workflow is the digest's own: the reconciler must not start one.
	if err := q.MarkEventStarted(ctx, dbq.MarkEventStartedParams{ID: eventID}); err != nil {
		return err
	}
	if err := q.InsertDeliveries(ctx, dbq.InsertDeliveriesParams{
		TenantID: in.TenantID, EventID: eventID, UserIds: []string{in.UserID}, Channels: []string{string(in.Channel)},
		Statuses: []string{string(delivery.Pending)}, Reasons: []string{""}, Errors: []string{""},
		ContentHashes: [][]byte{nil}, NotBefores: []time.Time{{}},
	}); err != nil {
		return fmt.Errorf("recording the digest's delivery: %w", err)
	}
	ds, err := q.EventDeliveries(ctx, dbq.EventDeliveriesParams{EventID: eventID, MaxRows: 2})
	if err != nil {
		return err
	}
	if len(ds) != 1 {
		return errEmptyDigest // the user was deleted meanwhile
	}
	listed, err := q.ListDigestItems(ctx, dbq.ListDigestItemsParams{DigestID: uuid.NullUUID{UUID: ds[0].ID, Valid: true},
		TenantID: in.TenantID, UserID: in.UserID, Channel: in.Channel})
	if err != nil {
		return fmt.Errorf("listing the window's items: %w", err)
	}
	if listed == 0 {
		return errEmptyDigest
	}
	data, err := a.digestData(ctx, q, in, ds[0].ID, int(listed))
	if err != nil {
		return err
	}
	if err := q.SetEventData(ctx, dbq.SetEventDataParams{ID: eventID, Data: data}); err != nil {
		return err
	}
	out.EventID, out.DeliveryID, out.Items = eventID, ds[0].ID, int(listed)
	return nil
}

// digestData renders the newest items' titles for the user and groups them
// by category, with every category's count.
func (a *Activities) digestData(ctx context.Context, q *dbq.Queries, in PrepareDigestInput, digestID uuid.UUID, total int) ([]byte, error) {
	id := uuid.NullUUID{UUID: digestID, Valid: true}
	cat, err := catalog.TenantCatalog(ctx, db.Definitions{Q: q}, in.TenantID)
	if err != nil {
		return nil, err
	}
	categoryOf := func(typ string) string {
		if t, ok := cat.Lookup(typ); ok && t.Category != "" {
			return t.Category
		}
		return "other"
	}
	counts, err := q.DigestTypeCounts(ctx, id)
	if err != nil {
		return nil, err
	}
	totals := map[string]int{}
	for _, c := range counts {
		totals[categoryOf(c.Type)] += int(c.Items)
	}
	rows, err := q.NewestDigestItems(ctx, dbq.NewestDigestItemsParams{DigestID: id, MaxRows: maxListed})
	if err != nil {
		return nil, err
	}
	u, err := q.GetUser(ctx, dbq.GetUserParams{TenantID: in.TenantID, ID: in.UserID})
	if err != nil {
		return nil, err
	}
	who := catalog.Recipient{ID: u.ID, Name: u.Name, Email: u.Email}
	renderers := map[string]*catalog.Renderer{}
	items := make([]digest.Item, 0, len(rows))
	for _, r := range rows {
		it := digest.Item{Category: categoryOf(r.Type), Type: r.Type, Link: r.Link, At: r.CreatedAt}
		if t, ok := cat.Lookup(r.Type); ok {
			rd, ok := renderers[r.Type]
			if !ok {
				rd, _ = catalog.NewRenderer(t)
				renderers[r.Type] = rd
			}
			if data, err := catalog.DecodeData(r.Data); err == nil && rd != nil {
				if c, err := rd.Notice(data, who, r.Link); err == nil {
					it.Title, it.Body = c.Subject, firstSentence(c.Body, c.Subject)
				}
			}
			if it.Title == "" {
				it.Title = t.Title
			}
		}
		if it.Title == "" {
			it.Title = r.Type
		}
		items = append(items, it)
	}
	groups := digest.Groups(items, totals)
	type shownItem struct {
		Title string `json:"title"`
		Body  string `json:"body,omitempty"`
		Link  string `json:"link,omitempty"`
		Type  string `json:"type"`
		At    string `json:"at"`
	}
	type shownGroup struct {
		Category string      `json:"category"`
		Title    string      `json:"title"`
		Total    int         `json:"total"`
		More     int         `json:"more,omitempty"`
		Items    []shownItem `json:"items"`
	}
	shown := make([]shownGroup, 0, len(groups))
	for _, g := range groups {
		sg := shownGroup{Category: g.Category, Title: titleCase(g.Category), Total: g.Total, More: g.Total - len(g.Items), Items: []shownItem{}}
		for _, it := range g.Items {
			sg.Items = append(sg.Items, shownItem{Title: it.Title, Body: it.Body, Link: it.Link, Type: it.Type, At: it.At.UTC().Format(time.RFC3339)})
		}
		shown = append(shown, sg)
	}
	return json.Marshal(map[string]any{
		"label": digestLabel(in.Frequency), "frequency": in.Frequency, "total": total,
		"window_end": in.CloseAt.UTC().Format(time.RFC3339), "groups": shown,
		"categories": digest.Categories(groups),
	})
}

func digestLabel(freq string) string {
	switch freq {
	case digest.Hourly:
		return "Your hourly digest"
	case digest.Daily:
		return "Your daily digest"
	case digest.Weekly:
		return "Your weekly digest"
	}
	return "Your digest"
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return strings.ToUpper(string(r)) + s[n:]
}

// firstSentence is a body's first line, cut to a glance, or "" when it only
// repeats the title.
func firstSentence(body, title string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(body), "\n")
	line = strings.TrimSpace(line)
	if line == "" || line == title || strings.TrimSuffix(line, ".") == title {
		return ""
	}
	if utf8.RuneCountInString(line) > 160 {
		r := []rune(line)
		line = strings.TrimSpace(string(r[:159])) + "…"
	}
	return line
}

// CloseDigestWindow closes a window whose items were listed at seq: it
// reports false when a page digested more since (the workflow opens the
// next window for them).
func (a *Activities) CloseDigestWindow(ctx context.Context, w DigestWindow, seq int64) (bool, error) {
	if seq == 0 {
		return true, nil // no page ever armed it (a workflow started ahead of its items)
	}
	n, err := a.q().CloseDigestWindow(ctx, dbq.CloseDigestWindowParams{TenantID: w.TenantID, UserID: w.UserID, Channel: string(w.Channel), Seq: seq})
	return n == 1, err
}

// DeliveryIDs is the digest's one delivery, as a batch carries it.
func (p PreparedDigest) DeliveryIDs() []uuid.UUID { return []uuid.UUID{p.DeliveryID} }
