package api

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
)

type retryAccepted struct {
	DeliveryID string `json:"delivery_id"`
	EventID    string `json:"event_id"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
}

// retryDelivery queues one failed delivery (or one waiting for its next
// try) for another try now: 202, and the event's workflow sends it through
// the usual claim-and-send path. Naming an uncertain delivery (its answer
// never came; it may have arrived) is how an operator sends it again.
func (s *Server) retryDelivery(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return notFound("delivery")
	}
	row, err := dbq.New(s.pool).GetDeliveryWithType(ctx, dbq.GetDeliveryWithTypeParams{TenantID: tenant.ID, ID: id})
	if isNoRows(err) {
		return notFound("delivery")
	}
	if err != nil {
		return err
	}
	d := row.Delivery
	waiting := d.Status == delivery.Pending && d.Tries > 0 && d.NotBefore != nil
	if d.Status != delivery.Failed && !waiting {
		return newError(http.StatusConflict, "not_failed",
			"delivery %s is %s; only failed deliveries, and those waiting for their next try, are retried", d.ID, d.Status).
			with("status", d.Status)
	}
	if d.Channel == channel.InApp {
		return newError(http.StatusConflict, "not_retryable",
			"this in-app delivery failed while its notice was rendered; sending it again cannot help")
	}
	run, err := s.intake.Retry(ctx, tenant.ID, d.EventID, row.EventType, []uuid.UUID{d.ID})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, retryAccepted{DeliveryID: d.ID.String(), EventID: d.EventID.String(),
		WorkflowID: contract.NotifyWorkflowID(d.EventID), RunID: run})
}

type bulkRetryRequest struct {
	EventID *uuid.UUID       `json:"event_id"`
	Channel *channel.Channel `json:"channel"`
	Since   *time.Time       `json:"since"`
	Limit   int              `json:"limit"`
	Cursor  string           `json:"cursor"`
}

type bulkRetryResponse struct {
	Queued     int     `json:"queued"`
	Events     int     `json:"events"`
	NextCursor *string `json:"next_cursor"`
}

// maxBulkRetry bounds one bulk retry; next_cursor continues it.
const maxBulkRetry = 1000

// retryDeliveries queues every failed delivery a filter matches, a bounded
// page at a time (oldest first): one retry signal per event.
func (s *Server) retryDeliveries(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	var req bulkRetryRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Limit == 0 {
		req.Limit = maxBulkRetry
	}
	if req.Limit < 1 || req.Limit > maxBulkRetry {
		return invalidField("limit", "limit must be 1 to %d", maxBulkRetry)
	}
	params := dbq.FailedToRetryParams{TenantID: tenant.ID, PageSize: int32(req.Limit)}
	if req.EventID != nil {
		params.ByEvent, params.EventID = true, *req.EventID
	}
	if req.Channel != nil {
		if !req.Channel.Valid() || *req.Channel == channel.InApp {
			return invalidField("channel", "channel must be email, slack or webhook")
		}
		params.ByChannel, params.Channel = true, string(*req.Channel)
	}
	if req.Since != nil {
		params.BySince, params.Since = true, *req.Since
	}
	if req.Cursor != "" {
		t, id, err := decodeCursor(req.Cursor)
		if err != nil {
			return invalidField("cursor", "cursor is not one this API gave out")
		}
		params.HasCursor, params.CursorTime, params.CursorID = true, t, id
	}
	rows, err := dbq.New(s.pool).FailedToRetry(ctx, params)
	if err != nil {
		return err
	}
	type pending struct {
		typ string
		ids []uuid.UUID
	}
	var order []uuid.UUID
	byEvent := map[uuid.UUID]*pending{}
	for _, r := range rows {
		p := byEvent[r.EventID]
		if p == nil {
			p = &pending{typ: r.EventType}
			byEvent[r.EventID] = p
			order = append(order, r.EventID)
		}
		p.ids = append(p.ids, r.ID)
	}
	for _, ev := range order {
		if _, err := s.intake.Retry(ctx, tenant.ID, ev, byEvent[ev].typ, byEvent[ev].ids); err != nil {
			return err
		}
	}
	out := bulkRetryResponse{Queued: len(rows), Events: len(order)}
	if n := len(rows); n == req.Limit {
		next := encodeCursor(rows[n-1].CreatedAt, rows[n-1].ID)
		out.NextCursor = &next
	}
	return c.JSON(http.StatusAccepted, out)
}
