package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/integrations"
)

type deliveryResponse struct {
	ID      uuid.UUID `json:"id"`
	EventID uuid.UUID `json:"event_id"`
	UserID  string    `json:"user_id"`
	// Target names an event-level send ("slack:#sales", "webhook"), whose
	// user_id is empty.
	Target      string          `json:"target,omitempty"`
	Channel     channel.Channel `json:"channel"`
	Status      delivery.Status `json:"status"`
	Reason      delivery.Reason `json:"reason"`
	Attempts    int32           `json:"attempts"`
	NotBefore   *time.Time      `json:"not_before"`
	DeliveredAt *time.Time      `json:"delivered_at"`
	Error       string          `json:"error"`
	// DigestID is the digest delivery that listed a digested item.
	DigestID *uuid.UUID `json:"digest_id,omitempty"`
	// Relay is the SMTP relay (host:port) that accepted a delivered email.
	Relay string `json:"relay,omitempty"`
	// EscalatedFrom is the channel (in_app) whose unread item this
	// delivery escalates: held until the type's escalate.after, and sent
	// only if the item was still unread then.
	EscalatedFrom *channel.Channel `json:"escalated_from,omitempty"`
	CreatedAt     time.Time        `json:"created_at"`
	UpdatedAt     time.Time        `json:"updated_at"`
}

func toDelivery(d dbq.Delivery) deliveryResponse {
	r := deliveryResponse{ID: d.ID, EventID: d.EventID, UserID: d.UserID, Channel: d.Channel, Status: d.Status,
		Reason: d.Reason, Attempts: d.Attempts, NotBefore: d.NotBefore, DeliveredAt: d.DeliveredAt, Error: d.Error,
		EscalatedFrom: d.EscalatedFrom, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if d.DigestID.Valid {
		r.DigestID = &d.DigestID.UUID
	}
	if d.Relay != nil {
		r.Relay = *d.Relay
	}
	if integrations.EventLevel(d.UserID) {
		r.UserID, r.Target = "", integrations.Describe(d.UserID)
	}
	return r
}

type eventResponse struct {
	EventID        uuid.UUID            `json:"event_id"`
	Type           string               `json:"type"`
	Status         delivery.EventStatus `json:"status"`
	WorkflowID     string               `json:"workflow_id"`
	WorkflowStatus string               `json:"workflow_status"`
	Urgent         bool                 `json:"urgent"`
	SendAt         *time.Time           `json:"send_at"`
	Link           string               `json:"link"`
	// GroupKey and GroupWindow are what the event was posted with, for
	// collapse by key.
	GroupKey    *string            `json:"group_key,omitempty"`
	GroupWindow string             `json:"group_window,omitempty"`
	Data        any                `json:"data"`
	CreatedAt   time.Time          `json:"created_at"`
	Deliveries  []deliveryResponse `json:"deliveries"`
	Truncated   bool               `json:"deliveries_truncated,omitempty"`
	Next        string             `json:"deliveries_next,omitempty"`
	// SourceEventID names the event this one was emitted for (a rule's
	// input event, for instance).
	SourceEventID *uuid.UUID `json:"source_event_id,omitempty"`
	// Rules, for an input event, are its rules' decisions: which fired,
	// and why each other held back.
	Rules []ruleOutcome `json:"rules,omitempty"`
}

// maxEventDeliveries bounds the deliveries an event's answer embeds: an
// event may reach 10,000 recipients on several channels each. When it has
// more, the answer says so and links the delivery log, which pages them all.
const maxEventDeliveries = 100

func (s *Server) getEvent(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return notFound("event")
	}
	q := dbq.New(s.pool)
	ev, err := q.GetEvent(ctx, dbq.GetEventParams{TenantID: tenantOf(c).ID, ID: id})
	if isNoRows(err) {
		return notFound("event")
	}
	if err != nil {
		return err
	}
	// One row more than is shown tells whether there are more.
	rows, err := q.EventDeliveries(ctx, dbq.EventDeliveriesParams{EventID: ev.ID, MaxRows: maxEventDeliveries + 1})
	if err != nil {
		return err
	}
	resp := eventResponse{EventID: ev.ID, Type: ev.Type, Status: ev.Status, WorkflowID: ev.WorkflowID,
		WorkflowStatus: "unknown", Urgent: ev.Urgent, SendAt: ev.SendAt, Link: ev.Link, Data: rawJSON(ev.Data), CreatedAt: ev.CreatedAt,
		Deliveries: make([]deliveryResponse, 0, min(len(rows), maxEventDeliveries)), GroupKey: ev.GroupKey}
	if ev.GroupWindowSeconds != nil {
		resp.GroupWindow = (time.Duration(*ev.GroupWindowSeconds) * time.Second).String()
	}
	if len(rows) > maxEventDeliveries {
		rows = rows[:maxEventDeliveries]
		resp.Truncated = true
		resp.Next = "/v1/deliveries?event_id=" + ev.ID.String()
	}
	for _, d := range rows {
		resp.Deliveries = append(resp.Deliveries, toDelivery(d))
	}
	if ev.SourceEventID.Valid {
		resp.SourceEventID = &ev.SourceEventID.UUID
	}
	if strings.HasPrefix(ev.WorkflowID, contract.RulesWorkflowPrefix) {
		if resp.Rules, err = s.ruleOutcomes(ctx, ev.ID); err != nil {
			return err
		}
	}
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, ev.WorkflowID, "")
	var nf *serviceerror.NotFound
	switch {
	case err == nil:
		resp.WorkflowStatus = workflowStatus(desc.GetWorkflowExecutionInfo().GetStatus())
	case errors.As(err, &nf):
		resp.WorkflowStatus = "not_started"
	default:
		// The delivery log is the answer; the workflow status is a courtesy.
		s.log.Warn("describing workflow", "workflow_id", ev.WorkflowID, "error", err)
	}
	return c.JSON(http.StatusOK, resp)
}

// workflowStatus names a Temporal execution status in the API's snake_case:
// running, completed, failed, canceled, terminated, continued_as_new, timed_out.
func workflowStatus(st enumspb.WorkflowExecutionStatus) string {
	name, ok := enumspb.WorkflowExecutionStatus_name[int32(st)]
	if !ok || st == enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
		return "unknown"
	}
	return strings.ToLower(strings.TrimPrefix(name, "WORKFLOW_EXECUTION_STATUS_"))
}

func (s *Server) listDeliveries(c echo.Context) error {
	p, err := parsePage(c)
	if err != nil {
		return err
	}
	params := dbq.ListDeliveriesParams{TenantID: tenantOf(c).ID, HasCursor: p.hasCursor, CursorTime: p.time,
		CursorID: p.id, PageSize: int32(p.limit)}
	if v := c.QueryParam("event_id"); v != "" {
		if params.EventID, err = uuid.Parse(v); err != nil {
			return invalidField("event_id", "event_id must be an event ID")
		}
		params.ByEvent = true
	}
	if v := c.QueryParam("status"); v != "" {
		if !delivery.Status(v).Valid() {
			return invalidField("status", "status must be pending, delivered, failed, skipped or cancelled")
		}
		params.Status, params.ByStatus = v, true
	}
	q := dbq.New(s.pool)
	var rows []dbq.Delivery
	if params.Status == string(delivery.Failed) {
		// Its own query, so the small partial index of failed rows serves it
		// rather than a walk of the tenant's whole delivery log.
		rows, err = q.ListFailedDeliveries(c.Request().Context(), dbq.ListFailedDeliveriesParams{
			TenantID: params.TenantID, ByEvent: params.ByEvent, EventID: params.EventID, HasCursor: params.HasCursor,
			CursorTime: params.CursorTime, CursorID: params.CursorID, PageSize: params.PageSize,
		})
	} else {
		rows, err = q.ListDeliveries(c.Request().Context(), params)
	}
	if err != nil {
		return err
	}
	return listAnswer(c, p, rows, toDelivery, func(d dbq.Delivery) (time.Time, uuid.UUID) { return d.CreatedAt, d.ID })
}
