package api

import (
	"fmt"
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
)

type cancelResponse struct {
	EventID string               `json:"event_id"`
	Status  delivery.EventStatus `json:"status"`
	// Cancelled counts the deliveries this request cancelled (0 on a repeat).
	Cancelled int64 `json:"cancelled"`
}

// cancelEvent cancels every delivery of an event not made yet, and the
// recipients not planned yet: before send_at, while quiet hours hold them,
// or while a large fan-out is being paged. The event row is locked while its
// pending deliveries are cancelled, and pages plan under a share lock of the
// same row, so a page either is cancelled here or sees the cancel and writes
// nothing. A repeat answers the same state; an event whose deliveries were
// all made is 409.
func (s *Server) cancelEvent(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return notFound("event")
	}
	var out cancelResponse
	var signal bool
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbq.New(tx)
		ev, err := q.LockEventForCancel(ctx, dbq.LockEventForCancelParams{TenantID: tenant.ID, ID: id})
		if isNoRows(err) {
			return notFound("event")
		}
		if err != nil {
			return err
		}
		out = cancelResponse{EventID: ev.ID.String(), Status: delivery.EventCancelled}
		if ev.Status == delivery.EventCancelled {
			return nil
		}
		n, err := q.CancelEventDeliveries(ctx, dbq.CancelEventDeliveriesParams{EventID: ev.ID, Reason: delivery.CancelledWithEvent})
		if err != nil {
			return fmt.Errorf("cancelling deliveries: %w", err)
		}
		if ev.Status == delivery.EventEvaluated {
			return newError(http.StatusConflict, "already_evaluated",
				"input event %s has been through its rules already (see rules in GET /v1/events/%s); there is nothing to cancel", ev.ID, ev.ID).
				with("status", ev.Status)
		}
		if n == 0 && ev.Status != delivery.EventPending {
			return newError(http.StatusConflict, "already_delivered",
				"every delivery of event %s has been made (status %s); there is nothing to cancel", ev.ID, ev.Status).
				with("status", ev.Status)
		}
		out.Cancelled, signal = n, true
		return q.MarkEventCancelled(ctx, ev.ID)
	})
	if err != nil {
		return err
	}
	if signal {
		// The run stops waiting (send_at, quiet hours) at once; without the
		// signal it finds the event cancelled when it next looks.
		if err := s.temporal.SignalWorkflow(ctx, contract.NotifyWorkflowID(id), "", contract.SignalCancel, nil); err != nil {
			s.log.WarnContext(ctx, "telling a cancelled event's run", "event_id", id, "error", err)
		}
	}
	return c.JSON(http.StatusOK, out)
}
