package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/internal/inboxfeed"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/personal"
)

// Stream messages (SSE event names): a new item (or one back from snooze)
// with its resume ID; a change of state of some items (the page reloads its
// list); the badge counts, after every change and when a stream opens.
const (
	eventNotification = "notification"
	eventState        = "state"
	eventCount        = "count"
	// eventEnd is a stream's last message when the server ends it for good
	// reason: {"reason": "token_expired"} (reconnect with a fresh token) or
	// {"reason": "user_deleted"}.
	eventEnd = "end"
)

// Why a stream ended, as its end event says.
const (
	endTokenExpired = "token_expired"
	endUserDeleted  = "user_deleted"
)

// heartbeatEvery keeps proxies from closing idle streams (most close after
// 60 s of silence).
const heartbeatEvery = 15 * time.Second

// streamWriteTimeout bounds each write to a stream: a client that stops
// reading fills its socket buffers, the next write cannot finish, and the
// stream ends, freeing its goroutine and buffers. A client that reads at
// all keeps up easily: the kernel buffers far more than a stream sends in
// this time.
const streamWriteTimeout = 10 * time.Second

// catchUpMargin is how far before the last item it sent a resuming stream
// looks again: a transaction that began earlier can commit an item with an
// earlier time after that one. Items already sent are skipped by ID.
const catchUpMargin = 5 * time.Second

// maxCatchUp bounds the items a resuming stream replays.
const maxCatchUp = 500

// NewFeed returns the process's inbox feed over pool: its listening
// connection has the pool's settings. links mints the personal links of
// the items it streams (each message goes to its item's user alone).
func NewFeed(pool *pgxpool.Pool, log *slog.Logger, links personal.Minter) *inboxfeed.Hub {
	connect := func(ctx context.Context) (*pgx.Conn, error) {
		return pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	}
	l := feedLoader{pool: pool, links: links}
	h := inboxfeed.New(connect, l.load, log)
	h.Poll = l.unsnoozed
	h.OnStreams = func(n int) { metrics.StreamsOpen.Set(float64(n)) }
	return h
}

type feedLoader struct {
	pool  *pgxpool.Pool
	links personal.Minter
}

// load turns a batch of changes into messages with one query for the new
// items and one count query per tenant.
func (l feedLoader) load(ctx context.Context, changes []inboxfeed.Change) (map[inboxfeed.Key][]inboxfeed.Message, error) {
	q := dbq.New(l.pool)
	out := map[inboxfeed.Key][]inboxfeed.Message{}
	var ids []uuid.UUID
	stateChanged := map[inboxfeed.Key]bool{}
	users := map[uuid.UUID]map[string]bool{}
	for _, c := range changes {
		if c.New {
			ids = append(ids, c.ID)
		} else {
			stateChanged[c.Key] = true
		}
		if users[c.Tenant] == nil {
			users[c.Tenant] = map[string]bool{}
		}
		users[c.Tenant][c.User] = true
	}
	if len(ids) > 0 {
		rows, err := q.NotificationsByID(ctx, dbq.NotificationsByIDParams{MaxDataBytes: listDataBytes, Ids: ids})
		if err != nil {
			return nil, fmt.Errorf("reading new inbox items: %w", err)
		}
		for _, r := range rows {
			if r.Notification.ArchivedAt != nil || (r.Notification.SnoozedUntil != nil && r.Notification.SnoozedUntil.After(time.Now())) {
				continue
			}
			m, err := itemMessage(r.Notification, r.EventData, r.PersonalLink, l.links)
			if err != nil {
				return nil, err
			}
			k := inboxfeed.Key{Tenant: r.Notification.TenantID, User: r.Notification.UserID}
			out[k] = append(out[k], m)
		}
	}
	for k := range stateChanged {
		out[k] = append(out[k], inboxfeed.Message{Event: eventState, Data: []byte(`{}`)})
	}
	for tenant, set := range users {
		list := make([]string, 0, len(set))
		for u := range set {
			list = append(list, u)
		}
		counts, err := q.UnreadCounts(ctx, dbq.UnreadCountsParams{TenantID: tenant, UserIds: list})
		if err != nil {
			return nil, fmt.Errorf("counting unread items: %w", err)
		}
		got := map[string]dbq.UnreadCountsRow{}
		for _, c := range counts {
			got[c.UserID] = c
		}
		for _, u := range list {
			k := inboxfeed.Key{Tenant: tenant, User: u}
			out[k] = append(out[k], countMessage(got[u].Unread, got[u].Unseen))
		}
	}
	return out, nil
}

// unsnoozed announces the items whose snooze ended in (since, until].
func (l feedLoader) unsnoozed(ctx context.Context, since, until time.Time) ([]inboxfeed.Change, error) {
	rows, err := dbq.New(l.pool).Unsnoozed(ctx, dbq.UnsnoozedParams{After: &since, Until: &until})
	if err != nil {
		return nil, err
	}
	out := make([]inboxfeed.Change, 0, len(rows))
	for _, r := range rows {
		out = append(out, inboxfeed.Change{Key: inboxfeed.Key{Tenant: r.TenantID, User: r.UserID}, New: true, ID: r.ID})
	}
	return out, nil
}

func itemMessage(n dbq.Notification, data, personalLink []byte, links personal.Minter) (inboxfeed.Message, error) {
	item := toNotification(n, data, personalLink, links)
	item.DataTruncated = data == nil
	b, err := json.Marshal(item)
	if err != nil {
		return inboxfeed.Message{}, err
	}
	return inboxfeed.Message{Event: eventNotification, ID: encodeCursor(n.CreatedAt, n.ID), Data: b}, nil
}

// unreadCountResponse is the badge: unread and unseen items in the inbox.
type unreadCountResponse struct {
	Count  int64 `json:"count"`
	Unseen int64 `json:"unseen"`
}

func countMessage(unread, unseen int64) inboxfeed.Message {
	b, _ := json.Marshal(unreadCountResponse{Count: unread, Unseen: unseen})
	return inboxfeed.Message{Event: eventCount, Data: b}
}

// streamNotifications serves GET /v1/users/{id}/notifications/stream:
// Server-Sent Events of the user's inbox. A stream resumes after the item
// named by Last-Event-ID (or ?last_event_id=), replaying what came while
// the client was away; it then gets every new item, a state event for every
// change of state, and the counts after each. It ends when the client goes
// or stops reading, when it falls too far behind (it reconnects), when the
// server shuts down, and, after an end event, when its inbox token expires
// or its user is deleted.
func (s *Server) streamNotifications(c echo.Context) error {
	if s.feed == nil {
		return newError(http.StatusServiceUnavailable, "streams_unavailable", "this server does not stream inbox changes")
	}
	resume := c.Request().Header.Get("Last-Event-ID")
	if resume == "" {
		resume = c.QueryParam("last_event_id")
	}
	// since is where a catch-up starts: after the item a resuming client
	// last got, then after the last item sent.
	var since *time.Time
	var after uuid.UUID
	if resume != "" {
		t, id, err := decodeCursor(resume)
		if err != nil {
			return badRequest("Last-Event-ID is not an ID this stream sent")
		}
		since, after = &t, id
	}
	// The resume point is a floor no catch-up goes below: the client had
	// those items from an earlier stream, which this one never sent.
	floor, floorID := since, after
	ctx, tenant := c.Request().Context(), tenantOf(c)
	key := inboxfeed.Key{Tenant: tenant.ID, User: c.Param("id")}
	// Before the catch-up, so nothing falls between, and before the user
	// is read: a deletion committed after the read ends the stream, one
	// committed before fails the read.
	sub := s.feed.Subscribe(key)
	defer s.feed.Unsubscribe(sub)
	u, err := s.inboxUserRow(c)
	if err != nil {
		return err
	}
	user := u.ID
	// A token's stream ends when the token does; the API key's has no end.
	var expired <-chan time.Time
	if in, ok := inboxTokenOf(c); ok {
		t := time.NewTimer(time.Until(in.Expires))
		defer t.Stop()
		expired = t.C
	}

	w := c.Response()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	// An open stream outlives the server's write timeout: each write has
	// its own.
	st := &sseWriter{w: w, rc: http.NewResponseController(w.Writer), sent: map[uuid.UUID]time.Time{}}
	if err := st.comment("retry: 3000"); err != nil {
		return nil
	}
	resuming := since != nil
	// gone reports whether the user was deleted (and maybe created again)
	// since the stream opened: after the feed lost its connection, the
	// deletion may not have been heard.
	gone := func() (bool, error) {
		now, err := dbq.New(s.pool).GetUser(ctx, dbq.GetUserParams{TenantID: tenant.ID, ID: user})
		if isNoRows(err) {
			return true, nil
		}
		return err == nil && !now.CreatedAt.Equal(u.CreatedAt), err
	}
	catchUp := func() error {
		switch {
		case resuming:
			// The client had everything up to its last item: replay what
			// comes after it.
			if err := s.replay(ctx, st, key, *since, after); err != nil {
				return err
			}
			resuming = false
		case since != nil:
			// The feed may have missed changes: look again from a little
			// before the last item sent, skipping what was sent.
			from, skip := since.Add(-catchUpMargin), uuid.Nil
			if floor != nil && !from.After(*floor) {
				from, skip = *floor, floorID
			}
			if err := s.replay(ctx, st, key, from, skip); err != nil {
				return err
			}
		}
		cnt, err := dbq.New(s.pool).UnreadCount(ctx, dbq.UnreadCountParams{TenantID: tenant.ID, UserID: user})
		if err != nil {
			return err
		}
		return st.send(countMessage(cnt.Unread, cnt.Unseen), false)
	}
	if err := catchUp(); err != nil {
		s.log.WarnContext(ctx, "opening an inbox stream", "error", err)
		return nil
	}
	beat := time.NewTicker(heartbeatEvery)
	defer beat.Stop()
	ended := func() error {
		if sub.Reason() == inboxfeed.EndUserDeleted {
			_ = st.end(endUserDeleted)
		}
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sub.Done():
			return ended()
		case <-expired:
			_ = st.end(endTokenExpired)
			return nil
		case <-beat.C:
			if st.comment("") != nil {
				return nil
			}
		case m := <-sub.Messages():
			select {
			case <-sub.Done(): // an ended stream sends nothing more
				return ended()
			default:
			}
			if m.Event == inboxfeed.Resync.Event {
				if deleted, err := gone(); err != nil || deleted {
					if deleted {
						_ = st.end(endUserDeleted)
					}
					return nil
				}
				if since == nil {
					t := time.Now().Add(-catchUpMargin)
					since = &t
				}
				err = catchUp()
			} else {
				err = st.send(m, false)
			}
			if err != nil {
				return nil
			}
			if m.Event == eventNotification {
				if t, _, err := decodeCursor(m.ID); err == nil && (since == nil || t.After(*since)) {
					since = &t
				}
			}
		}
	}
}

// replay sends the user's items created at or after from, oldest first,
// skipping those the stream has sent and, given after, those up to and
// including that item (in the inbox's order).
func (s *Server) replay(ctx context.Context, st *sseWriter, k inboxfeed.Key, from time.Time, after uuid.UUID) error {
	rows, err := dbq.New(s.pool).NotificationsSince(ctx, dbq.NotificationsSinceParams{
		MaxDataBytes: listDataBytes, TenantID: k.Tenant, UserID: k.User, Since: from, MaxRows: maxCatchUp})
	if err != nil {
		return err
	}
	for _, r := range rows {
		n := r.Notification
		if after != uuid.Nil && (n.CreatedAt.Equal(from) && n.ID.String() <= after.String()) {
			continue
		}
		m, err := itemMessage(r.Notification, r.EventData, r.PersonalLink, s.personal)
		if err != nil {
			return err
		}
		if err := st.send(m, true); err != nil {
			return err
		}
	}
	return nil
}

// sseWriter writes Server-Sent Events and flushes each one.
type sseWriter struct {
	w  *echo.Response
	rc *http.ResponseController
	// sent are the items sent, by creation time, so a replay skips them;
	// only those a replay could meet again are kept.
	sent map[uuid.UUID]time.Time
}

// maxRemembered bounds the sent items a stream remembers before it forgets
// those older than any replay reaches.
const maxRemembered = 2000

// send writes m. A replayed item the stream already sent is skipped; a
// live one never is (an item back from snooze comes again).
func (s *sseWriter) send(m inboxfeed.Message, replayed bool) error {
	if m.Event == eventNotification {
		if t, id, err := decodeCursor(m.ID); err == nil {
			if _, dup := s.sent[id]; dup && replayed {
				return nil
			}
			s.sent[id] = t
			if len(s.sent) > maxRemembered {
				s.forget(t.Add(-2 * catchUpMargin))
			}
		}
	}
	var b []byte
	if m.ID != "" {
		b = fmt.Appendf(b, "id: %s\n", m.ID)
	}
	b = fmt.Appendf(b, "event: %s\ndata: %s\n\n", m.Event, m.Data)
	return s.write(b)
}

// end sends the stream's last event, saying why it ends.
func (s *sseWriter) end(reason string) error {
	b, _ := json.Marshal(map[string]string{"reason": reason})
	return s.send(inboxfeed.Message{Event: eventEnd, Data: b}, false)
}

// write writes and flushes b within streamWriteTimeout.
func (s *sseWriter) write(b []byte) error {
	// A server that cannot set deadlines has its own write timeout or none.
	_ = s.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return s.rc.Flush()
}

func (s *sseWriter) forget(before time.Time) {
	for id, t := range s.sent {
		if t.Before(before) {
			delete(s.sent, id)
		}
	}
}

// comment writes an SSE comment (a heartbeat) or, given "retry: N", the
// reconnection delay.
func (s *sseWriter) comment(text string) error {
	line := ":" + text + "\n\n"
	if len(text) > 6 && text[:6] == "retry:" {
		line = text + "\n\n"
	}
	return s.write([]byte(line))
}
