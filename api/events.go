package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/workflows"
)

// maxNamedRecipients bounds an explicit user list; larger audiences are
// addressed by role or category.
const maxNamedRecipients = 10000

type recipientsRequest struct {
	Users []string `json:"users"`
	Roles []string `json:"roles"`
}

type eventRequest struct {
	Type           string             `json:"type"`
	Recipients     *recipientsRequest `json:"recipients"`
	Data           map[string]any     `json:"data"`
	IdempotencyKey string             `json:"idempotency_key"`
	Urgent         bool               `json:"urgent"`
	SendAt         *time.Time         `json:"send_at"`
	Link           string             `json:"link"`
}

type eventAccepted struct {
	EventID    uuid.UUID `json:"event_id"`
	WorkflowID string    `json:"workflow_id"`
	RunID      string    `json:"run_id"`
	Duplicate  bool      `json:"duplicate"`
}

// postEvent stores an event and starts its NotifyEvent workflow. The event
// ID and workflow ID are functions of tenant and idempotency key, and the row
// is inserted with ON CONFLICT DO NOTHING, so concurrent repeats of one post
// converge on one event and one workflow.
func (s *Server) postEvent(c echo.Context) error {
	ctx := c.Request().Context()
	tenant := tenantOf(c)
	var req eventRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	key, err := idempotencyKey(c.Request().Header.Get("Idempotency-Key"), req.IdempotencyKey)
	if err != nil {
		return err
	}
	if req.Data == nil {
		req.Data = map[string]any{}
	}
	hash := requestHash(req)
	q := dbq.New(s.pool)

	// A repeat is answered from the stored event before validation, so a
	// retry gets the first answer even if the catalog or the users changed.
	existing, err := q.GetEventByKey(ctx, dbq.GetEventByKeyParams{TenantID: tenant.ID, IdempotencyKey: key})
	if err == nil {
		return s.answerRepeat(c, existing, hash)
	}
	if !isNoRows(err) {
		return err
	}

	typ, err := s.validateEvent(ctx, q, tenant.ID, &req)
	if err != nil {
		return err
	}
	recipientsJSON, _ := json.Marshal(recipientSpec(typ, req.Recipients))
	dataJSON, err := json.Marshal(req.Data)
	if err != nil {
		return invalidField("data", "data must be a JSON object")
	}
	eventID := workflows.EventID(tenant.ID, key)
	ev, err := q.InsertEvent(ctx, dbq.InsertEventParams{
		ID: eventID, TenantID: tenant.ID, Type: typ.Key, IdempotencyKey: key, RequestHash: hash,
		Recipients: recipientsJSON, Data: dataJSON, Urgent: req.Urgent, Link: req.Link,
		SendAt: req.SendAt, WorkflowID: workflows.NotifyWorkflowID(eventID),
	})
	if isNoRows(err) {
		// A concurrent post with the same key won the insert.
		if existing, err = q.GetEventByKey(ctx, dbq.GetEventByKeyParams{TenantID: tenant.ID, IdempotencyKey: key}); err != nil {
			return err
		}
		return s.answerRepeat(c, existing, hash)
	}
	if err != nil {
		return err
	}
	return s.startNotify(c, ev, false)
}

// answerRepeat answers a post whose key is already stored: the same event
// if the body matches, 409 if it does not.
func (s *Server) answerRepeat(c echo.Context, existing dbq.Event, hash []byte) error {
	if string(existing.RequestHash) != string(hash) {
		return newError(http.StatusConflict, "idempotency_conflict",
			"idempotency key %q was already used for a different event", existing.IdempotencyKey).with("event_id", existing.ID)
	}
	return s.startNotify(c, existing, true)
}

// startNotify starts the event's workflow, and answers 202. It runs for
// repeats too: if the first post died between its insert and this call, the
// repeat starts the workflow; otherwise Temporal answers with the existing
// run, because the reuse policy never lets the ID run twice.
func (s *Server) startNotify(c echo.Context, ev dbq.Event, duplicate bool) error {
	run, err := s.temporal.ExecuteWorkflow(c.Request().Context(), client.StartWorkflowOptions{
		ID:                    ev.WorkflowID,
		TaskQueue:             s.taskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		// Where a worker shares this process's client (herald dev), the first
		// workflow task comes back with the start response and skips a
		// round trip through the server's matching service.
		EnableEagerStart: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrTenant.ValueSet(ev.TenantID.String()),
			workflows.AttrEventType.ValueSet(ev.Type),
			workflows.AttrStatus.ValueSet(workflows.StatusPending),
		),
	}, workflows.NotifyWorkflowName, workflows.NotifyInput{TenantID: ev.TenantID, EventID: ev.ID, Type: ev.Type})
	if err != nil {
		return fmt.Errorf("starting workflow %s: %w", ev.WorkflowID, err)
	}
	return c.JSON(http.StatusAccepted, eventAccepted{EventID: ev.ID, WorkflowID: ev.WorkflowID, RunID: run.GetRunID(), Duplicate: duplicate})
}

func idempotencyKey(header, field string) (string, error) {
	header, field = strings.TrimSpace(header), strings.TrimSpace(field)
	if header != "" && field != "" && header != field {
		return "", badRequest("the Idempotency-Key header and idempotency_key field differ; send one")
	}
	key := header
	if key == "" {
		key = field
	}
	if key == "" {
		return uuid.NewString(), nil
	}
	if len(key) > 255 {
		return "", invalidField("idempotency_key", "idempotency_key must be at most 255 characters")
	}
	return key, nil
}

func (s *Server) validateEvent(ctx context.Context, q *dbq.Queries, tenantID uuid.UUID, req *eventRequest) (catalog.EventType, error) {
	if req.Type == "" {
		return catalog.EventType{}, invalidField("type", "type is required")
	}
	typ, ok, err := activities.TenantEventType(ctx, q, tenantID, req.Type)
	if err != nil {
		return typ, err
	}
	if !ok {
		return typ, newError(http.StatusUnprocessableEntity, "unknown_event_type",
			"event type %q is not in the catalog; see GET /v1/event-types", req.Type).with("type", req.Type)
	}
	if !typ.Notifies() {
		return typ, newError(http.StatusNotImplemented, "not_implemented",
			"%s is an input type that feeds rules, and rules are not built yet", typ.Key)
	}
	if req.SendAt != nil {
		return typ, newError(http.StatusNotImplemented, "not_implemented", "scheduled sends (send_at) are not built yet")
	}
	if req.Link != "" {
		u, err := url.Parse(req.Link)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(req.Link) > 2000 {
			return typ, invalidField("link", "link must be an http or https URL")
		}
	}
	r := req.Recipients
	if r == nil {
		if typ.Recipients == catalog.RecipientsNamed {
			return typ, invalidField("recipients", "%s notifies the users it names: set recipients.users", typ.Key)
		}
		return typ, nil
	}
	if len(r.Users) == 0 && len(r.Roles) == 0 {
		return typ, invalidField("recipients", "recipients must name users or roles")
	}
	if len(r.Users) > maxNamedRecipients {
		return typ, invalidField("recipients.users", "at most %d users; address larger audiences by role", maxNamedRecipients)
	}
	for _, id := range r.Users {
		if err := validID("recipients.users", id); err != nil {
			return typ, err
		}
	}
	for _, role := range r.Roles {
		if !roles[role] {
			return typ, invalidField("recipients.roles", "unknown role %q: want owner, member or executive", role)
		}
	}
	if len(r.Users) > 0 {
		found, err := q.ExistingUserIDs(ctx, dbq.ExistingUserIDsParams{TenantID: tenantID, Ids: r.Users})
		if err != nil {
			return typ, err
		}
		if missing, n := missingIDs(r.Users, found); n > 0 {
			return typ, newError(http.StatusBadRequest, "unknown_recipients",
				"%d recipient user(s) do not exist; create them with PUT /v1/users/{id}", n).with("users", missing)
		}
	}
	return typ, nil
}

// missingIDs counts the distinct IDs of want not in found, and names the
// first 20 of them.
func missingIDs(want, found []string) ([]string, int) {
	have := make(map[string]bool, len(found))
	for _, id := range found {
		have[id] = true
	}
	var missing []string
	n := 0
	for _, id := range want {
		if have[id] {
			continue
		}
		have[id] = true
		if n++; len(missing) < 20 {
			missing = append(missing, id)
		}
	}
	return missing, n
}

// recipientSpec is whom the event reaches: what it names, or the type's default.
func recipientSpec(typ catalog.EventType, r *recipientsRequest) activities.Recipients {
	if r != nil {
		return activities.Recipients{Users: sorted(r.Users), Roles: sorted(r.Roles)}
	}
	switch typ.Recipients {
	case catalog.RecipientsOwner:
		return activities.Recipients{Roles: []string{"owner"}}
	default:
		return activities.Recipients{Subscribers: true}
	}
}

// requestHash identifies what an event asks for, as posted, so a repeated
// key with a different body is told apart from a retry. encoding/json sorts
// map keys, which makes the encoding canonical; recipient lists are sorted.
func requestHash(req eventRequest) []byte {
	var r *recipientsRequest
	if req.Recipients != nil {
		r = &recipientsRequest{Users: sorted(req.Recipients.Users), Roles: sorted(req.Recipients.Roles)}
	}
	b, _ := json.Marshal(struct {
		Type       string             `json:"type"`
		Recipients *recipientsRequest `json:"recipients"`
		Data       map[string]any     `json:"data"`
		Urgent     bool               `json:"urgent"`
		SendAt     *time.Time         `json:"send_at"`
		Link       string             `json:"link"`
	}{req.Type, r, req.Data, req.Urgent, req.SendAt, req.Link})
	h := sha256.Sum256(b)
	return h[:]
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
