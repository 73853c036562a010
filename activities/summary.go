package activities

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heraldhq/herald/audience"
	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/locale"
	"github.com/heraldhq/herald/prefs"
)

// SummaryEvent is one scheduled summary to post: the event the Summary
// workflow derived (ID, key and workflow ID) for the period ending Until.
type SummaryEvent struct {
	TenantID       uuid.UUID `json:"tenant_id"`
	EventID        uuid.UUID `json:"event_id"`
	Kind           string    `json:"kind"`
	IdempotencyKey string    `json:"idempotency_key"`
	WorkflowID     string    `json:"workflow_id"`
	Until          time.Time `json:"until"`
}

// summaryTypes maps a summary's kind to its event type and period.
var summaryTypes = map[string]struct {
	typ, period string
	span        time.Duration
}{
	prefs.SummaryWeekly:     {catalog.WeeklyDigest, "week", 7 * 24 * time.Hour},
	prefs.SummaryDaily:      {catalog.DailySummary, "day", 24 * time.Hour},
	prefs.SummaryTimeReview: {catalog.TimeReview, "week", 7 * 24 * time.Hour},
}

// PostSummary records a scheduled summary's event, to everyone subscribed
// to summaries, and returns its type. Run again for the same period, it
// changes nothing: the key derives from the period.
func (a *Activities) PostSummary(ctx context.Context, in SummaryEvent) (string, error) {
	st, ok := summaryTypes[in.Kind]
	if !ok {
		return "", fmt.Errorf("unknown summary %q", in.Kind)
	}
	recipients, _ := json.Marshal(audience.Spec{Subscribers: true})
	data, _ := json.Marshal(map[string]any{"kind": in.Kind, "period": st.period,
		"since": in.Until.Add(-st.span).UTC().Format(time.RFC3339Nano), "until": in.Until.UTC().Format(time.RFC3339Nano)})
	hash := sha256.Sum256([]byte(in.IdempotencyKey))
	_, err := a.q().InsertEvent(ctx, dbq.InsertEventParams{
		ID: in.EventID, TenantID: in.TenantID, Type: st.typ, IdempotencyKey: in.IdempotencyKey, RequestHash: hash[:],
		Recipients: recipients, Data: data, WorkflowID: in.WorkflowID,
	})
	if err != nil && !errors.Is(err, pgx.ErrNoRows) { // no row: posted before
		return "", fmt.Errorf("recording the summary: %w", err)
	}
	return st.typ, nil
}

// maxLatest bounds the unread items a summary names.
const maxLatest = 5

// recipientData is the data a recipient's message renders: the event's,
// and for a scheduled summary, under "you", that recipient's own activity
// of the period.
func (ev *Event) recipientData(ctx context.Context, r catalog.Recipient) (map[string]any, error) {
	if !catalog.IsSummary(ev.Type.Key) || ev.a == nil {
		return ev.Data, nil
	}
	since, err1 := time.Parse(time.RFC3339Nano, fmt.Sprint(ev.Data["since"]))
	until, err2 := time.Parse(time.RFC3339Nano, fmt.Sprint(ev.Data["until"]))
	if err1 != nil || err2 != nil {
		return nil, Permanent(fmt.Errorf("summary period: %v %v", err1, err2))
	}
	q := ev.a.q()
	if ev.Type.Key == catalog.TimeReview {
		return ev.timeReviewData(ctx, q, r, since, until)
	}
	rows, err := q.InboxActivity(ctx, dbq.InboxActivityParams{TenantID: ev.Row.TenantID, UserID: r.ID, Since: since, Until: until})
	if err != nil {
		return nil, fmt.Errorf("reading the summary's activity: %w", err)
	}
	cat, err := catalog.TenantCatalog(ctx, db.Definitions{Q: q}, ev.Row.TenantID)
	if err != nil {
		return nil, err
	}
	total, unread := 0, 0
	byCategory := map[string]int{}
	for _, row := range rows {
		total += int(row.Total)
		unread += int(row.Unread)
		c := "other"
		if t, ok := cat.Lookup(row.Type); ok && t.Category != "" {
			c = t.Category
		}
		byCategory[c] += int(row.Total)
	}
	var categories []any
	for _, c := range sortedCategories(byCategory) {
		categories = append(categories, map[string]any{"category": c, "title": locale.Category(locale.Default, c), "total": byCategory[c]})
	}
	latestRows, err := q.LatestUnread(ctx, dbq.LatestUnreadParams{TenantID: ev.Row.TenantID, UserID: r.ID, Since: since, Until: until, MaxRows: maxLatest})
	if err != nil {
		return nil, fmt.Errorf("reading the summary's unread items: %w", err)
	}
	var latest []any
	for _, l := range latestRows {
		latest = append(latest, map[string]any{"title": l.Title, "link": l.Link})
	}
	data := maps.Clone(ev.Data)
	data["you"] = map[string]any{"total": total, "unread": unread, "categories": categories, "latest": latest}
	return data, nil
}

// sortedCategories orders categories by count, then name.
func sortedCategories(m map[string]int) []string {
	out := slices.Collect(maps.Keys(m))
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	return out
}

// Bounds of a time review: the entries read, and those listed by name.
const (
	maxReviewEntries = 1000
	maxReviewListed  = 25
)

// Time entry statuses the review sorts by; any other (updated, …) counts
// toward the week alone.
const (
	entrySubmitted = "submitted"
	entryApproved  = "approved"
	entryRejected  = "rejected"
)

// timeReviewData is a recipient's weekly time review, under "you": the
// entries they were told of in the week, each as its latest notice left
// it. Waiting (submitted) and rejected entries are listed, approved ones
// counted, and hours summed where the notices gave them.
func (ev *Event) timeReviewData(ctx context.Context, q *dbq.Queries, r catalog.Recipient, since, until time.Time) (map[string]any, error) {
	rows, err := q.TimeEntriesOfPeriod(ctx, dbq.TimeEntriesOfPeriodParams{TenantID: ev.Row.TenantID, UserID: r.ID,
		Since: since, Until: until, MaxRows: maxReviewEntries})
	if err != nil {
		return nil, fmt.Errorf("reading the week's time entries: %w", err)
	}
	var (
		waiting, rejected []any
		approved          int
		hours             float64
	)
	for _, row := range rows {
		if h, err := strconv.ParseFloat(row.Hours, 64); err == nil && h > 0 {
			hours += h
		}
		entry := map[string]any{"entry_id": row.EntryID, "project": row.Project, "date": row.Day, "hours": row.Hours, "link": row.Link}
		switch row.Status {
		case entrySubmitted:
			waiting = append(waiting, entry)
		case entryRejected:
			rejected = append(rejected, entry)
		case entryApproved:
			approved++
		}
	}
	you := map[string]any{"total": len(rows), "approved": approved, "hours": math.Round(hours*100) / 100}
	for key, list := range map[string][]any{"waiting": waiting, "rejected": rejected} {
		you[key+"_count"] = len(list)
		if len(list) > maxReviewListed {
			you[key+"_more"] = len(list) - maxReviewListed
			list = list[:maxReviewListed]
		}
		you[key] = list
	}
	data := maps.Clone(ev.Data)
	data["you"] = you
	return data, nil
}
