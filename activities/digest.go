package activities

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/digest"
	"github.com/heraldhq/herald/locale"
	"github.com/heraldhq/herald/prefs"
)

// DigestWindow names one user's digest on one channel, or, with a group,
// their collapse window for one event type and group key on it.
type DigestWindow struct {
	TenantID uuid.UUID       `json:"tenant_id"`
	UserID   string          `json:"user_id"`
	Channel  channel.Channel `json:"channel"`
	// GroupType and GroupKey name a collapse window's events; both are ""
	// for a digest.
	GroupType string `json:"group_type,omitempty"`
	GroupKey  string `json:"group_key,omitempty"`
}

// Collapse reports whether the window is a collapse window, or a
// throttle's hold window (which closes and is sent the same way).
func (w DigestWindow) Collapse() bool { return w.GroupType != "" }

// Held reports whether the window is a throttle's hold window.
func (w DigestWindow) Held() bool { return w.Collapse() && w.GroupKey == contract.HoldKey }

// waiting is the reason its items wait with.
func (w DigestWindow) waiting() delivery.Reason {
	switch {
	case w.Held():
		return delivery.ThrottledHeld
	case w.Collapse():
		return delivery.Collapsed
	}
	return delivery.Digested
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
	Frequency digest.Frequency `json:"frequency"`
	CloseAt   time.Time        `json:"close_at"`
	// Quiet: the window ends in the user's quiet hours and waits for them.
	Quiet bool `json:"quiet,omitempty"`
}

// PlanDigest decides when a user's window closes: the first boundary after
// it opened of any cadence in force on the channel (the channel's own, and
// each digested category's), in their zone, moved past their quiet hours.
// A waiting item whose category is now immediate (or turned off), or a
// user gone, closes it now: what waits is flushed, or dropped, at once.
func (a *Activities) PlanDigest(ctx context.Context, in PlanDigestInput) (DigestPlan, error) {
	if in.Collapse() {
		return a.planCollapse(ctx, in)
	}
	v, err := a.digestView(ctx, a.q(), in.DigestWindow)
	if errors.Is(err, pgx.ErrNoRows) {
		return DigestPlan{Frequency: digest.Immediate, CloseAt: in.AsOf}, nil
	}
	if err != nil {
		return DigestPlan{}, err
	}
	types, err := a.q().WaitingDigestTypes(ctx, dbq.WaitingDigestTypesParams{TenantID: in.TenantID, UserID: in.UserID, Channel: in.Channel})
	if err != nil {
		return DigestPlan{}, fmt.Errorf("reading the window's items: %w", err)
	}
	plan := DigestPlan{Frequency: digest.Immediate, CloseAt: in.AsOf}
	cadences := prefs.Cadences(v.doc, v.settings, in.Channel)
	now, dropNow := false, false
	for _, typ := range types {
		switch d := v.decide(typ); {
		case !d.Send:
			dropNow = true
		case d.Frequency == digest.Immediate:
			now = true
		default:
			cadences = append(cadences, d.Frequency)
		}
	}
	switch {
	case now:
	case dropNow:
		return plan, nil // nothing it drops waits for quiet hours
	case in.Every > 0:
		plan.CloseAt = in.Opened.Add(in.Every)
		if len(cadences) > 0 {
			plan.Frequency = slices.Min(cadences)
		}
	default:
		if c, f, ok := digest.First(cadences, v.zone, in.Opened); ok {
			plan.CloseAt, plan.Frequency = c, f
		}
	}
	if plan.CloseAt.Before(in.AsOf) {
		plan.CloseAt = in.AsOf
	}
	if until, quiet := v.channel.NotBefore(plan.CloseAt); quiet {
		plan.CloseAt, plan.Quiet = until.UTC(), true
	}
	return plan, nil
}

// digestView is what a user's digest on a channel is decided by: their
// document over the tenant's settings, in their zone (theirs, else the
// tenant's, else UTC); and what its items are rendered with: the tenant's
// catalog, for the user as recipient, in the tenant's zone by default.
type digestView struct {
	doc        prefs.Document
	settings   prefs.Settings
	timezone   string
	zone       *time.Location
	cat        catalog.Catalog
	who        catalog.Recipient
	tenantZone string
	// channel is the decision for the channel as a whole: its quiet hours.
	channel  prefs.Decision
	category func(eventType string) string
	ch       channel.Channel
	decided  map[string]prefs.Decision
}

func (a *Activities) digestView(ctx context.Context, q *dbq.Queries, w DigestWindow) (*digestView, error) {
	u, err := q.GetUser(ctx, dbq.GetUserParams{TenantID: w.TenantID, ID: w.UserID})
	if err != nil {
		return nil, err
	}
	t, err := q.GetTenant(ctx, w.TenantID)
	if err != nil {
		return nil, err
	}
	st, err := prefs.ParseSettings(t.Settings, t.Timezone)
	if err != nil {
		return nil, fmt.Errorf("reading tenant settings: %w", err)
	}
	doc, err := prefs.Parse(u.Preferences)
	if err != nil {
		return nil, fmt.Errorf("reading %s's preferences: %w", w.UserID, err)
	}
	cat, err := catalog.TenantCatalog(ctx, db.Definitions{Q: q}, w.TenantID)
	if err != nil {
		return nil, err
	}
	v := &digestView{doc: doc, settings: st, timezone: u.Timezone, zone: time.UTC, cat: cat, who: recipient(u), tenantZone: t.Timezone,
		ch: w.Channel, decided: map[string]prefs.Decision{},
		category: func(typ string) string {
			if t, ok := cat.Lookup(typ); ok {
				return t.Category
			}
			return ""
		}}
	v.channel = prefs.Decide(doc, st, prefs.Subject{Channel: w.Channel, HasAddress: true, UserTimezone: u.Timezone})
	for _, z := range []string{u.Timezone, st.Timezone} {
		if prefs.ValidZone(z) {
			if loc, err := time.LoadLocation(z); err == nil {
				v.zone = loc
				break
			}
		}
	}
	return v, nil
}

// decide is the user's decision now for an item of eventType waiting in the
// window. An item was digested because it was not urgent, so urgency does
// not enter it.
func (v *digestView) decide(eventType string) prefs.Decision {
	d, ok := v.decided[eventType]
	if !ok {
		d = prefs.Decide(v.doc, v.settings, prefs.Subject{EventType: eventType, Category: v.category(eventType),
			Channel: v.ch, HasAddress: true, UserTimezone: v.timezone})
		v.decided[eventType] = d
	}
	return d
}

// PrepareDigestInput closes a window at CloseAt.
type PrepareDigestInput struct {
	DigestWindow
	CloseAt   time.Time        `json:"close_at"`
	Frequency digest.Frequency `json:"frequency"`
	// Every: the window is a test's fixed one, and every item it holds is due.
	Every time.Duration `json:"every,omitempty"`
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
	if in.Collapse() {
		key += "/" + in.GroupType + "/" + in.GroupKey
	}
	eventID := uuid.NewSHA1(digestNamespace, []byte(key))
	idem := "digest-" + eventID.String()
	var out PreparedDigest
	nothingDue := false
	err := pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error {
		q := a.q().WithTx(tx)
		seq, err := q.LockDigestWindow(ctx, dbq.LockDigestWindowParams{TenantID: in.TenantID, UserID: in.UserID, Channel: in.Channel,
			GroupType: in.GroupType, GroupKey: in.GroupKey})
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("locking the window: %w", err)
		}
		out.Seq = seq
		if ev, err := q.GetEventByKey(ctx, dbq.GetEventByKeyParams{TenantID: in.TenantID, IdempotencyKey: idem}); err == nil {
			return a.preparedBefore(ctx, q, ev, &out)
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		v, err := a.digestView(ctx, q, in.DigestWindow)
		if errors.Is(err, pgx.ErrNoRows) {
			return errEmptyDigest // the user is gone; deleting them cancelled their items
		}
		if err != nil {
			return err
		}
		due, freq, err := a.dueItems(ctx, q, in, v)
		if err != nil {
			return err
		}
		if len(due) == 0 {
			// Not errEmptyDigest: that rolls back, and the items skipped
			// as turned off must stay skipped, or the window would wait
			// for them forever.
			nothingDue = true
			return nil
		}
		in.Frequency = freq
		return a.listDigest(ctx, q, in, v, eventID, idem, due, &out)
	})
	if (err == nil && nothingDue) || errors.Is(err, errEmptyDigest) {
		return PreparedDigest{Seq: out.Seq}, nil
	}
	return out, err
}

// dueItems sorts a window's waiting items by the user's settings now: those
// whose channel or category was turned off since are skipped for that, and
// of the rest it returns those due at the close, and their frequency ("" when
// they have several: the digest is then no one cadence's). An item whose
// category is digested less often stays for a later close.
func (a *Activities) dueItems(ctx context.Context, q *dbq.Queries, in PrepareDigestInput, v *digestView) ([]uuid.UUID, digest.Frequency, error) {
	if in.Collapse() {
		return a.collapsedItems(ctx, q, in, v)
	}
	items, err := q.WaitingDigestItems(ctx, dbq.WaitingDigestItemsParams{TenantID: in.TenantID, UserID: in.UserID, Channel: in.Channel})
	if err != nil {
		return nil, "", fmt.Errorf("reading the window's items: %w", err)
	}
	var due []uuid.UUID
	freqs := map[digest.Frequency]bool{}
	dropped := map[delivery.Reason][]uuid.UUID{}
	for _, it := range items {
		switch d := v.decide(it.Type); {
		case !d.Send:
			dropped[d.Reason] = append(dropped[d.Reason], it.ID)
		case in.Every > 0 || digest.Due(d.Frequency, v.zone, it.CreatedAt, in.CloseAt):
			due = append(due, it.ID)
			freqs[d.Frequency] = true
		}
	}
	for _, reason := range slices.Sorted(maps.Keys(dropped)) {
		if _, err := q.DropDigestItemsByID(ctx, dbq.DropDigestItemsByIDParams{Reason: reason, Ids: dropped[reason], TenantID: in.TenantID,
			Waiting: delivery.Digested}); err != nil {
			return nil, "", fmt.Errorf("skipping items turned off: %w", err)
		}
	}
	if len(freqs) != 1 {
		return due, "", nil
	}
	return due, slices.Collect(maps.Keys(freqs))[0], nil
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
func (a *Activities) listDigest(ctx context.Context, q *dbq.Queries, in PrepareDigestInput, v *digestView, eventID uuid.UUID, idem string, due []uuid.UUID, out *PreparedDigest) error {
	recipients, _ := json.Marshal(map[string][]string{"users": {in.UserID}})
	hash := sha256.Sum256([]byte(idem))
	typ := catalog.Digest
	if in.Collapse() {
		typ = catalog.Collapsed
	}
	if _, err := q.InsertEvent(ctx, dbq.InsertEventParams{
		ID: eventID, TenantID: in.TenantID, Type: typ, IdempotencyKey: idem, RequestHash: hash[:],
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
		ContentHashes: [][]byte{nil}, NotBefores: []time.Time{{}}, EscalatedFroms: []string{""},
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
	listed, err := q.ListDigestItemsByID(ctx, dbq.ListDigestItemsByIDParams{DigestID: uuid.NullUUID{UUID: ds[0].ID, Valid: true},
		Ids: due, TenantID: in.TenantID, Waiting: in.waiting()})
	if err != nil {
		return fmt.Errorf("listing the window's items: %w", err)
	}
	if listed == 0 {
		return errEmptyDigest
	}
	render := a.digestData
	if in.Collapse() {
		render = a.collapseData
	}
	data, err := render(ctx, q, in, v, ds[0].ID, int(listed))
	if err != nil {
		return err
	}
	if err := q.SetEventData(ctx, dbq.SetEventDataParams{ID: eventID, Data: data}); err != nil {
		return err
	}
	out.EventID, out.DeliveryID, out.Items = eventID, ds[0].ID, int(listed)
	return nil
}

// listedUnder is the category a digest lists an item of typ under.
func (v *digestView) listedUnder(typ string) string {
	return cmp.Or(v.category(typ), "other")
}

// digestData renders the newest items' titles for the user and groups them
// by category, with every category's count.
func (a *Activities) digestData(ctx context.Context, q *dbq.Queries, in PrepareDigestInput, v *digestView, digestID uuid.UUID, total int) ([]byte, error) {
	id := uuid.NullUUID{UUID: digestID, Valid: true}
	counts, err := q.DigestTypeCounts(ctx, id)
	if err != nil {
		return nil, err
	}
	totals := map[string]int{}
	for _, c := range counts {
		totals[v.listedUnder(c.Type)] += int(c.Items)
	}
	items, err := listedItems(ctx, q, v, id, maxListed)
	if err != nil {
		return nil, err
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
		sg := shownGroup{Category: g.Category, Title: locale.Category(locale.Default, g.Category), Total: g.Total, More: g.Total - len(g.Items), Items: []shownItem{}}
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

func digestLabel(freq digest.Frequency) string {
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

// listedItems renders the newest max items a digest (or a collapse) listed
// as the user sees them: each its own type's subject and first line.
func listedItems(ctx context.Context, q *dbq.Queries, v *digestView, id uuid.NullUUID, max int32) ([]digest.Item, error) {
	rows, err := q.NewestDigestItems(ctx, dbq.NewestDigestItemsParams{DigestID: id, MaxRows: max})
	if err != nil {
		return nil, err
	}
	// The items read as the user's own notices did: in their language,
	// or the tenant's.
	renderers := map[string]*catalog.Renderer{}
	items := make([]digest.Item, 0, len(rows))
	for _, r := range rows {
		it := digest.Item{Category: v.listedUnder(r.Type), Type: r.Type, Link: r.Link, At: r.CreatedAt}
		if t, ok := v.cat.Lookup(r.Type); ok {
			rd, ok := renderers[r.Type]
			if !ok {
				if rd, _ = catalog.NewRenderer(t); rd != nil {
					rd.Locale, rd.Zone = v.settings.Locale, v.tenantZone
				}
				renderers[r.Type] = rd
			}
			if data, err := catalog.DecodeData(r.Data); err == nil && rd != nil {
				if c, err := rd.Notice(data, v.who, r.Link); err == nil {
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
	return items, nil
}

// CloseDigestWindow closes a window whose items were listed at seq: it
// reports false when a page digested more since (the workflow opens the
// next window for them).
func (a *Activities) CloseDigestWindow(ctx context.Context, w DigestWindow, seq int64) (bool, error) {
	if seq == 0 {
		return true, nil // no page ever armed it (a workflow started ahead of its items)
	}
	if w.Collapse() {
		n, err := a.q().CloseCollapseWindow(ctx, dbq.CloseCollapseWindowParams{TenantID: w.TenantID, UserID: w.UserID, Channel: w.Channel,
			Seq: seq, GroupType: w.GroupType, GroupKey: w.GroupKey, Waiting: string(w.waiting())})
		return n == 1, err
	}
	n, err := a.q().CloseDigestWindow(ctx, dbq.CloseDigestWindowParams{TenantID: w.TenantID, UserID: w.UserID, Channel: w.Channel, Seq: seq})
	return n == 1, err
}

// DeliveryIDs is the digest's one delivery, as a batch carries it.
func (p PreparedDigest) DeliveryIDs() []uuid.UUID { return []uuid.UUID{p.DeliveryID} }
