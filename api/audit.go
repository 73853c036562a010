package api

import (
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/audit"
	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/db/dbq"
)

type verifyResponse struct {
	OK     bool          `json:"ok"`
	Rows   int64         `json:"rows"`
	Broken *audit.Broken `json:"broken,omitempty"`
}

// verifyAudit recomputes the caller's audit chain, streaming it.
func (s *Server) verifyAudit(c echo.Context) error {
	n, broken, err := db.VerifyAudit(c.Request().Context(), dbq.New(s.pool), tenantOf(c).ID, nil)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, verifyResponse{OK: broken == nil, Rows: n, Broken: broken})
}

type auditRowResponse struct {
	ID          int64     `json:"id"`
	Seq         int64     `json:"seq"`
	DeliveryID  uuid.UUID `json:"delivery_id"`
	EventID     uuid.UUID `json:"event_id"`
	Recipient   string    `json:"recipient"`
	Channel     string    `json:"channel"`
	Status      string    `json:"status"`
	Reason      string    `json:"reason"`
	ContentHash string    `json:"content_hash"`
	At          time.Time `json:"at"`
	PrevHash    string    `json:"prev_hash"`
	Hash        string    `json:"hash"`
}

// listAudit pages the caller's audit rows, newest first.
func (s *Server) listAudit(c echo.Context) error {
	limit, err := parseLimit(c)
	if err != nil {
		return err
	}
	p := dbq.ListAuditParams{TenantID: tenantOf(c).ID, PageSize: int32(limit)}
	if v := c.QueryParam("cursor"); v != "" {
		seq, err := strconv.ParseInt(v, 10, 64)
		if err != nil || seq < 1 {
			return invalidField("cursor", "cursor is not one this API returned")
		}
		p.HasCursor, p.CursorSeq = true, seq
	}
	if v := c.QueryParam("event_id"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			return invalidField("event_id", "event_id must be an event ID")
		}
		p.ByEvent, p.EventID = true, id
	}
	if v := c.QueryParam("user_id"); v != "" {
		p.ByUser, p.UserID = true, v
	}
	if v := c.QueryParam("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return invalidField("since", "since must be an RFC 3339 time such as 2026-11-01T00:00:00Z")
		}
		p.BySince, p.Since = true, t
	}
	rows, err := dbq.New(s.pool).ListAudit(c.Request().Context(), p)
	if err != nil {
		return err
	}
	out := make([]auditRowResponse, 0, len(rows))
	for _, r := range rows {
		out = append(out, auditRowResponse{ID: r.ID, Seq: r.Seq, DeliveryID: r.DeliveryID, EventID: r.EventID,
			Recipient: r.Recipient, Channel: r.Channel, Status: r.Status, Reason: r.Reason,
			ContentHash: hex.EncodeToString(r.ContentHash), At: r.At, PrevHash: hex.EncodeToString(r.PrevHash), Hash: hex.EncodeToString(r.Hash)})
	}
	var next *string
	if len(rows) == int(p.PageSize) {
		c := strconv.FormatInt(rows[len(rows)-1].Seq, 10)
		next = &c
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out, "next_cursor": next})
}
