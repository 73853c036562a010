package api

import (
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
)

// suppressionResponse is one address on the tenant's suppression list.
type suppressionResponse struct {
	Address string                     `json:"address"`
	Reason  delivery.SuppressionReason `json:"reason"`
	// Detail is the reply that listed a bounced address ("SMTP 550 5.1.1").
	Detail string `json:"detail,omitempty"`
	// DeliveryID is the delivery whose rejection listed it.
	DeliveryID *uuid.UUID `json:"delivery_id,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

func toSuppression(s dbq.Suppression) suppressionResponse {
	r := suppressionResponse{Address: s.Address, Reason: s.Reason, Detail: s.Detail, CreatedAt: s.CreatedAt}
	if s.DeliveryID.Valid {
		r.DeliveryID = &s.DeliveryID.UUID
	}
	return r
}

// suppressionAddress reads an address as the list keys it: a plain address,
// lower-cased.
func suppressionAddress(raw string) (string, error) {
	a, err := mail.ParseAddress(raw)
	if err != nil || a.Address != raw || len(raw) > 320 {
		return "", invalidField("address", "address must be a plain address such as ada@example.com")
	}
	return strings.ToLower(raw), nil
}

// listSuppressions pages the tenant's suppression list, newest first.
func (s *Server) listSuppressions(c echo.Context) error {
	p, err := parsePage(c)
	if err != nil {
		return err
	}
	rows, err := dbq.New(s.pool).ListSuppressions(c.Request().Context(), dbq.ListSuppressionsParams{
		TenantID: tenantOf(c).ID, HasCursor: p.hasCursor, CursorTime: p.time, CursorID: p.id, PageSize: int32(p.limit)})
	if err != nil {
		return err
	}
	return listAnswer(c, p, rows, toSuppression, func(r dbq.Suppression) (time.Time, uuid.UUID) { return r.CreatedAt, r.ID })
}

type suppressionRequest struct {
	Address string                     `json:"address"`
	Reason  delivery.SuppressionReason `json:"reason"`
}

// addSuppression lists an address a tenant learned of elsewhere: a
// complaint (its owner reported a message as spam, through the tenant's
// feedback loop) or a bounce its provider reported. An address already
// listed keeps its entry: 200 rather than 201.
func (s *Server) addSuppression(c echo.Context) error {
	var req suppressionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	addr, err := suppressionAddress(strings.TrimSpace(req.Address))
	if err != nil {
		return err
	}
	if req.Reason == "" {
		req.Reason = delivery.Complaint
	}
	if !req.Reason.Valid() {
		return invalidField("reason", "reason must be complaint or bounce")
	}
	q := dbq.New(s.pool)
	p := dbq.AddSuppressionParams{TenantID: tenantOf(c).ID, Address: addr, Reason: req.Reason}
	row, err := q.AddSuppression(c.Request().Context(), p)
	if isNoRows(err) {
		// Listed by another request between this one's insert and its read.
		row, err = q.AddSuppression(c.Request().Context(), p)
	}
	if err != nil {
		return err
	}
	s.log.Info("suppression added", "tenant_id", p.TenantID, "suppression_id", row.ID, "reason", row.Reason, "new", row.Inserted)
	status := http.StatusOK
	if row.Inserted {
		status = http.StatusCreated
	}
	return c.JSON(status, toSuppression(dbq.Suppression{ID: row.ID, TenantID: row.TenantID, Address: row.Address,
		Reason: delivery.SuppressionReason(row.Reason), DeliveryID: row.DeliveryID, Detail: row.Detail, CreatedAt: row.CreatedAt}))
}

// deleteSuppression takes an address off the list: email to it is sent
// again from the next claim on.
func (s *Server) deleteSuppression(c echo.Context) error {
	// The router matches the escaped path when it has escapes (%40 for @).
	raw, err := url.PathUnescape(c.Param("address"))
	if err != nil {
		return notFound("suppression")
	}
	addr, err := suppressionAddress(raw)
	if err != nil {
		return err
	}
	row, err := dbq.New(s.pool).DeleteSuppression(c.Request().Context(), dbq.DeleteSuppressionParams{TenantID: tenantOf(c).ID, Address: addr})
	if isNoRows(err) {
		return notFound("suppression")
	}
	if err != nil {
		return err
	}
	s.log.Info("suppression removed", "tenant_id", row.TenantID, "suppression_id", row.ID, "reason", row.Reason)
	return c.NoContent(http.StatusNoContent)
}
