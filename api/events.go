package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/intake"
)

type eventRequest struct {
	Type           string             `json:"type"`
	Recipients     *intake.Recipients `json:"recipients"`
	Data           map[string]any     `json:"data"`
	IdempotencyKey string             `json:"idempotency_key"`
	Urgent         bool               `json:"urgent"`
	SendAt         *time.Time         `json:"send_at"`
	Link           string             `json:"link"`
	GroupKey       *string            `json:"group_key"`
	GroupWindow    *string            `json:"group_window"`
}

// postEvent accepts an event: 202 means it is stored and will run, even if
// its workflow start has to wait for the reconciler.
func (s *Server) postEvent(c echo.Context) error {
	var req eventRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	key, err := idempotencyKey(c.Request().Header.Get("Idempotency-Key"), req.IdempotencyKey)
	if err != nil {
		return err
	}
	acc, err := s.intake.Submit(c.Request().Context(), tenantOf(c).ID, intake.Request{
		Type: req.Type, Recipients: req.Recipients, Data: req.Data, IdempotencyKey: key,
		Urgent: req.Urgent, SendAt: req.SendAt, Link: req.Link, GroupKey: req.GroupKey, GroupWindow: req.GroupWindow,
	})
	if err != nil {
		return fromIntake(err)
	}
	return c.JSON(http.StatusAccepted, acc)
}

func idempotencyKey(header, field string) (string, error) {
	header, field = strings.TrimSpace(header), strings.TrimSpace(field)
	if header != "" && field != "" && header != field {
		return "", badRequest("the Idempotency-Key header and idempotency_key field differ; send one")
	}
	if header != "" {
		return header, nil
	}
	return field, nil
}

// intakeStatus maps intake's refusals to the contract's statuses.
var intakeStatus = map[intake.Kind]int{
	intake.Invalid:     http.StatusBadRequest,
	intake.UnknownType: http.StatusUnprocessableEntity,
	intake.Conflict:    http.StatusConflict,
	intake.TooLarge:    http.StatusRequestEntityTooLarge,
}

func fromIntake(err error) error {
	var ie *intake.Error
	if !errors.As(err, &ie) {
		return err
	}
	return &Error{Status: intakeStatus[ie.Kind], Code: ie.Code, Message: ie.Message, Details: ie.Details}
}
