package api

import (
	"errors"
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
	// From is the seq the verified chain starts at: 1 unless retention
	// pruned the rows before it (their archive verifies them offline).
	From int64 `json:"from"`
	// Checkpoints counts the signed checkpoints the chain agreed with.
	Checkpoints int64 `json:"checkpoints"`
	// Checkpoint is the signed checkpoint of the chain just verified, for
	// the client to keep and hand back (?checkpoint=) to a later verify.
	Checkpoint *audit.Checkpoint `json:"checkpoint,omitempty"`
}

// verifyAudit recomputes the caller's audit chain in one snapshot,
// comparing it with its stored checkpoints and with the one given, and
// answers a signed checkpoint of what it verified.
func (s *Server) verifyAudit(c echo.Context) error {
	ctx := c.Request().Context()
	tenant := tenantOf(c).ID
	var given *audit.Checkpoint
	if raw := c.QueryParam("checkpoint"); raw != "" {
		cp, err := audit.ParseCheckpoint([]byte(raw))
		if err != nil {
			return invalidField("checkpoint", "checkpoint must be one a verify answered, as JSON: %s", err)
		}
		given = &cp
	}
	v, err := db.VerifyAudit(ctx, s.pool, tenant, db.VerifyOptions{Signer: s.signer, Given: given})
	if errors.Is(err, db.ErrCheckpoint) {
		return invalidField("checkpoint", "%s", err)
	}
	if err != nil {
		return err
	}
	resp := verifyResponse{OK: v.Broken == nil, Rows: v.Rows, Broken: v.Broken, Checkpoints: v.Checkpoints, From: v.From}
	if resp.OK && v.HeadSeq > 0 {
		cp, err := db.IssueAuditCheckpoint(ctx, dbq.New(s.pool), s.signer, tenant, v.HeadSeq, v.HeadHash)
		if err != nil {
			return err
		}
		resp.Checkpoint = &cp
	}
	return c.JSON(http.StatusOK, resp)
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
	out := make([]audit.JSONRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, audit.JSONRowOf(audit.Row(r)))
	}
	var next *string
	if len(rows) == int(p.PageSize) {
		c := strconv.FormatInt(rows[len(rows)-1].Seq, 10)
		next = &c
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out, "next_cursor": next})
}
