package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/audience"
	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/personal"
	"github.com/heraldhq/herald/seal"
)

// notificationResponse is an inbox item. DataTruncated is set in lists when
// data was left out for its size; the single item (PATCH …/read answers with
// it) always has its data.
type notificationResponse struct {
	ID            uuid.UUID  `json:"id"`
	EventID       uuid.UUID  `json:"event_id"`
	Type          string     `json:"type"`
	Title         string     `json:"title"`
	Body          string     `json:"body"`
	Link          string     `json:"link"`
	Data          any        `json:"data"`
	DataTruncated bool       `json:"data_truncated,omitempty"`
	Seen          bool       `json:"seen"`
	SeenAt        *time.Time `json:"seen_at"`
	Read          bool       `json:"read"`
	ReadAt        *time.Time `json:"read_at"`
	Archived      bool       `json:"archived"`
	ArchivedAt    *time.Time `json:"archived_at"`
	SnoozedUntil  *time.Time `json:"snoozed_until"`
	CreatedAt     time.Time  `json:"created_at"`
}

// listDataBytes is the largest event data, as JSON text, that inbox lists
// embed in an item. Data may be 64 KiB, and a page of 200 items each
// carrying it would be 12 MiB; this way their data is at most 800 KiB.
const listDataBytes = 4 << 10

// toNotification pairs an inbox item with its event's data, which is stored
// once per event rather than copied to every recipient's item, and with its
// link: the user's own (an approver's, described by the event's
// personalLink) is minted as it is served, never stored.
func toNotification(n dbq.Notification, data, personalLink []byte, links personal.Minter) notificationResponse {
	return notificationResponse{ID: n.ID, EventID: n.EventID, Type: n.Type, Title: n.Title, Body: n.Body,
		Link: itemLink(n, personalLink, links), Data: rawJSON(data), Seen: n.SeenAt != nil, SeenAt: n.SeenAt, Read: n.ReadAt != nil, ReadAt: n.ReadAt,
		Archived: n.ArchivedAt != nil, ArchivedAt: n.ArchivedAt, SnoozedUntil: n.SnoozedUntil, CreatedAt: n.CreatedAt}
}

// itemLink is the link an inbox item shows its own user.
func itemLink(n dbq.Notification, personalLink []byte, links personal.Minter) string {
	if l, err := personal.Parse(personalLink); err == nil {
		if own := links.For(n.TenantID, l, n.UserID); own != "" {
			return own
		}
	}
	return n.Link
}

// inboxUser checks the path's user exists in the caller's tenant, so a typo
// is a 404 rather than an empty inbox.
func (s *Server) inboxUser(c echo.Context) (string, error) {
	u, err := s.inboxUserRow(c)
	return u.ID, err
}

func (s *Server) inboxUserRow(c echo.Context) (dbq.User, error) {
	id := c.Param("id")
	if !audience.ValidUserID(id) {
		return dbq.User{}, notFound("user") // no user can have this ID
	}
	u, err := dbq.New(s.pool).GetUser(c.Request().Context(), dbq.GetUserParams{TenantID: tenantOf(c).ID, ID: id})
	if isNoRows(err) {
		return dbq.User{}, notFound("user")
	}
	return u, err
}

func (s *Server) listNotifications(c echo.Context) error {
	user, err := s.inboxUser(c)
	if err != nil {
		return err
	}
	p, err := parsePage(c)
	if err != nil {
		return err
	}
	params := dbq.ListNotificationsParams{}
	switch c.QueryParam("unread") {
	case "", "false":
	case "true":
		params.UnreadOnly = true
	default:
		return invalidField("unread", "unread must be true or false")
	}
	switch c.QueryParam("status") {
	case "":
	case "unread":
		params.UnreadOnly = true
	case "unseen":
		params.UnseenOnly = true
	case "archived":
		params.Archived = true
	default:
		return invalidField("status", "status must be unread, unseen or archived")
	}
	rows, err := dbq.New(s.pool).ListNotifications(c.Request().Context(), dbq.ListNotificationsParams{
		TenantID: tenantOf(c).ID, UserID: user, UnreadOnly: params.UnreadOnly, UnseenOnly: params.UnseenOnly,
		Archived: params.Archived, HasCursor: p.hasCursor,
		CursorTime: p.time, CursorID: p.id, PageSize: int32(p.limit), MaxDataBytes: listDataBytes,
	})
	if err != nil {
		return err
	}
	return listAnswer(c, p, rows, func(r dbq.ListNotificationsRow) notificationResponse {
		n := toNotification(r.Notification, r.EventData, r.PersonalLink, s.personal)
		n.DataTruncated = r.DataTruncated
		return n
	}, func(r dbq.ListNotificationsRow) (time.Time, uuid.UUID) {
		return r.Notification.CreatedAt, r.Notification.ID
	})
}

func (s *Server) markRead(c echo.Context) error {
	user, err := s.inboxUser(c)
	if err != nil {
		return err
	}
	id, err := uuid.Parse(c.Param("nid"))
	if err != nil {
		return notFound("notification")
	}
	q := dbq.New(s.pool)
	marked, err := q.MarkNotificationRead(c.Request().Context(), dbq.MarkNotificationReadParams{
		TenantID: tenantOf(c).ID, UserID: user, ID: id,
	})
	if err != nil {
		return err
	}
	if marked == 0 {
		return notFound("notification")
	}
	n, err := q.GetNotification(c.Request().Context(), dbq.GetNotificationParams{TenantID: tenantOf(c).ID, UserID: user, ID: id})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toNotification(n.Notification, n.EventData, n.PersonalLink, s.personal))
}

func (s *Server) markAllRead(c echo.Context) error {
	return bulkInbox(s, c, "marked", dbq.New(s.pool).MarkAllNotificationsRead)
}

func (s *Server) unreadCount(c echo.Context) error {
	user, err := s.inboxUser(c)
	if err != nil {
		return err
	}
	n, err := dbq.New(s.pool).UnreadCount(c.Request().Context(), dbq.UnreadCountParams{TenantID: tenantOf(c).ID, UserID: user})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, unreadCountResponse{Count: n.Unread, Unseen: n.Unseen})
}

// stateRequest sets an item's states; a field left out is left as it is.
type stateRequest struct {
	Seen     *bool `json:"seen"`
	Read     *bool `json:"read"`
	Archived *bool `json:"archived"`
}

// patchNotification sets an item seen, read or archived (or back).
func (s *Server) patchNotification(c echo.Context) error {
	user, id, err := s.inboxItem(c)
	if err != nil {
		return err
	}
	var req stateRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Seen == nil && req.Read == nil && req.Archived == nil {
		return badRequest("set at least one of seen, read and archived")
	}
	p := dbq.SetNotificationStateParams{TenantID: tenantOf(c).ID, UserID: user, ID: id}
	if req.Seen != nil {
		p.SetSeen, p.Seen = true, *req.Seen
	}
	if req.Read != nil {
		p.SetRead, p.Read = true, *req.Read
	}
	if req.Archived != nil {
		p.SetArchived, p.Archived = true, *req.Archived
	}
	n, err := dbq.New(s.pool).SetNotificationState(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return s.answerItem(c, user, id, n)
}

type snoozeRequest struct {
	Until *time.Time `json:"until"`
}

// snoozeNotification hides an item until a time; it then comes back unread.
func (s *Server) snoozeNotification(c echo.Context) error {
	user, id, err := s.inboxItem(c)
	if err != nil {
		return err
	}
	var req snoozeRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Until == nil || !req.Until.After(time.Now()) || req.Until.After(time.Now().AddDate(1, 0, 0)) {
		return invalidField("until", "until must be a time in the next year, such as 2026-12-01T09:00:00Z")
	}
	n, err := dbq.New(s.pool).SnoozeNotification(c.Request().Context(), dbq.SnoozeNotificationParams{
		TenantID: tenantOf(c).ID, UserID: user, ID: id, Until: *req.Until,
	})
	if err != nil {
		return err
	}
	return s.answerItem(c, user, id, n)
}

func (s *Server) inboxItem(c echo.Context) (string, uuid.UUID, error) {
	user, err := s.inboxUser(c)
	if err != nil {
		return "", uuid.Nil, err
	}
	id, err := uuid.Parse(c.Param("nid"))
	if err != nil {
		return "", uuid.Nil, notFound("notification")
	}
	return user, id, nil
}

// answerItem answers the item after a change of n rows (0: no such item).
func (s *Server) answerItem(c echo.Context, user string, id uuid.UUID, n int64) error {
	if n == 0 {
		return notFound("notification")
	}
	item, err := dbq.New(s.pool).GetNotification(c.Request().Context(), dbq.GetNotificationParams{TenantID: tenantOf(c).ID, UserID: user, ID: id})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toNotification(item.Notification, item.EventData, item.PersonalLink, s.personal))
}

func (s *Server) markAllSeen(c echo.Context) error {
	return bulkInbox(s, c, "marked", dbq.New(s.pool).MarkAllNotificationsSeen)
}

func (s *Server) archiveAllRead(c echo.Context) error {
	return bulkInbox(s, c, "archived", dbq.New(s.pool).ArchiveAllRead)
}

// inboxParams is the shape of every whole-inbox update's parameters.
type inboxParams interface {
	dbq.MarkAllNotificationsReadParams | dbq.MarkAllNotificationsSeenParams | dbq.ArchiveAllReadParams
}

// bulkInbox runs one whole-inbox update for the path's user and answers how
// many items it changed, under key.
func bulkInbox[P inboxParams](s *Server, c echo.Context, key string, update func(context.Context, P) (int64, error)) error {
	user, err := s.inboxUser(c)
	if err != nil {
		return err
	}
	n, err := update(c.Request().Context(), P{TenantID: tenantOf(c).ID, UserID: user})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int64{key: n})
}

// listEventTypes pages the catalog in key order; the cursor is the last key.
func (s *Server) listEventTypes(c echo.Context) error {
	limit, err := parseLimit(c)
	if err != nil {
		return err
	}
	after := ""
	if v := c.QueryParam("cursor"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil {
			return invalidField("cursor", "cursor is not one this API returned")
		}
		after = string(raw)
	}
	cat, err := catalog.TenantCatalog(c.Request().Context(), db.Definitions{Q: dbq.New(s.pool)}, tenantOf(c).ID)
	if err != nil {
		return err
	}
	out := make([]catalog.EventType, 0, limit)
	var next *string
	for _, t := range cat.All() {
		if t.Key <= after {
			continue
		}
		if len(out) == limit {
			cur := base64.RawURLEncoding.EncodeToString([]byte(out[len(out)-1].Key))
			next = &cur
			break
		}
		out = append(out, t)
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out, "next_cursor": next})
}

// inboxTokenTTL bounds an inbox token: browsers hold it, so a leaked one
// opens one inbox for an hour at most.
const inboxTokenTTL = time.Hour

// createInboxToken gives a browser a short-lived token to one user's inbox
// (the inbox routes accept it as a bearer or as ?token=). Only an API key
// can ask for one: the route is outside the token's scope.
func (s *Server) createInboxToken(c echo.Context) error {
	u, err := s.inboxUserRow(c)
	if err != nil {
		return err
	}
	if s.links == nil {
		return newError(http.StatusServiceUnavailable, "unavailable", "this server has no signing key for tokens")
	}
	expires := time.Now().Add(inboxTokenTTL).Truncate(time.Second)
	tok := s.links.SealInbox(seal.Inbox{TenantID: tenantOf(c).ID, UserID: u.ID, Expires: expires, UserCreated: u.CreatedAt})
	return c.JSON(http.StatusCreated, map[string]any{"token": tok, "expires_at": expires.UTC()})
}
