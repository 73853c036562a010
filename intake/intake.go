// Package intake accepts events: it validates a request against the tenant's
// catalog and users, stores the event, and starts its NotifyEvent workflow.
// The API uses it, and so will rules, batches, experiments and approvals,
// which emit events of their own. A reconciler starts any accepted event
// whose start was never confirmed, so an accepted event always runs.
package intake

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/audience"
	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/periodic"
	"github.com/heraldhq/herald/personal"
)

// Limits of an event request.
const (
	// MaxNamedRecipients bounds an explicit user list; larger audiences are
	// addressed by role or category.
	MaxNamedRecipients = 10000
	// MaxData is the contract's bound on an event's data, as JSON.
	MaxData = 64 << 10
	// MaxKey bounds an idempotency key.
	MaxKey = 255
)

// Request is an event as a caller posts it.
type Request struct {
	Type           string
	Recipients     *Recipients
	Data           map[string]any
	IdempotencyKey string // "" makes a fresh one
	Urgent         bool
	SendAt         *time.Time
	Link           string
	// GroupKey and GroupWindow collapse the event: events of its type with
	// the same key that reach a user within the window (a Go duration, from
	// the first of them) go out as one notification per channel. Both or
	// neither.
	GroupKey    *string
	GroupWindow *string
	// Source is the event this one was emitted for (a rule's input event,
	// for instance); the zero UUID means none. It is recorded, not hashed:
	// an emitter's key already names its source.
	Source uuid.UUID
	// Herald marks an event Herald itself submits: it may be of an
	// internal type (batch.expired), which nobody may post.
	Herald bool
	// Personal describes a link of the one recipient's own (an approver's),
	// minted when it is sent to them and never stored; Link stays the link
	// anyone may see. Only Herald sets it.
	Personal *personal.Link
}

// Recipients name users, roles or both; nil means the type's default.
type Recipients struct {
	Users []string `json:"users"`
	Roles []string `json:"roles"`
}

// Accepted answers an accepted event.
type Accepted struct {
	EventID    uuid.UUID `json:"event_id"`
	WorkflowID string    `json:"workflow_id"`
	// RunID is "" when the start is not confirmed yet; the event runs all
	// the same (see Reconcile).
	RunID     string `json:"run_id"`
	Duplicate bool   `json:"duplicate"`
}

// Service accepts events.
type Service struct {
	Pool      *pgxpool.Pool
	Temporal  client.Client
	TaskQueue string
	Log       *slog.Logger
	// StartTimeout bounds a workflow start, which runs detached from the
	// caller: a client that goes away must not strand its event, and a
	// Temporal that does not answer must not hold the request (the work is
	// stored and started later). Default: 3 s.
	StartTimeout time.Duration
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// Submit stores an event and starts its workflow. The event ID, and so the
// workflow ID, is a function of tenant and idempotency key, and the row is
// inserted with ON CONFLICT DO NOTHING, so concurrent repeats of one post
// converge on one event and one workflow. A repeat is answered from the
// stored event before validation, so a retry gets the first answer even if
// the catalog or the users changed since.
func (s *Service) Submit(ctx context.Context, tenantID uuid.UUID, req Request) (Accepted, error) {
	if req.IdempotencyKey == "" {
		req.IdempotencyKey = uuid.NewString()
	}
	if len(req.IdempotencyKey) > MaxKey {
		return Accepted{}, invalid("idempotency_key", "idempotency_key must be at most %d characters", MaxKey)
	}
	if req.Data == nil {
		req.Data = map[string]any{}
	}
	hash := requestHash(req)
	q := dbq.New(s.Pool)
	key := dbq.GetEventByKeyParams{TenantID: tenantID, IdempotencyKey: req.IdempotencyKey}
	existing, err := q.GetEventByKey(ctx, key)
	if err == nil {
		return s.repeat(ctx, existing, hash)
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Accepted{}, err
	}

	typ, err := s.validate(ctx, q, tenantID, &req)
	if err != nil {
		return Accepted{}, err
	}
	window, _ := groupWindow(&req) // validated above
	recipients, _ := json.Marshal(spec(typ, req.Recipients))
	data, err := encodeData(req.Data)
	if err != nil {
		return Accepted{}, err
	}
	eventID := contract.EventID(tenantID, req.IdempotencyKey)
	ev, err := q.InsertEvent(ctx, dbq.InsertEventParams{
		ID: eventID, TenantID: tenantID, Type: typ.Key, IdempotencyKey: req.IdempotencyKey, RequestHash: hash,
		Recipients: recipients, Data: data, Urgent: req.Urgent, Link: req.Link, PersonalLink: personal.Encode(req.Personal),
		SendAt: req.SendAt, WorkflowID: workflowID(typ, eventID),
		SourceEventID: uuid.NullUUID{UUID: req.Source, Valid: req.Source != uuid.Nil},
		GroupKey:      req.GroupKey, GroupWindowSeconds: window,
	})
	if errors.Is(err, pgx.ErrNoRows) {
		// A concurrent post with the same key won the insert.
		if existing, err = q.GetEventByKey(ctx, key); err != nil {
			return Accepted{}, err
		}
		return s.repeat(ctx, existing, hash)
	}
	if err != nil {
		return Accepted{}, err
	}
	label := ev.Type
	if _, builtIn := catalog.BuiltIn().Lookup(ev.Type); !builtIn {
		label = "custom" // tenants' own types would make the label unbounded
	}
	metrics.EventsAccepted.WithLabelValues(label).Inc()
	return s.start(ctx, ev, false), nil
}

// Check validates an event request as Submit would, and stores nothing:
// a batch checks the event it will emit when the batch is posted, days
// before it emits it.
func (s *Service) Check(ctx context.Context, tenantID uuid.UUID, req Request) error {
	if req.Data == nil {
		req.Data = map[string]any{}
	}
	if _, err := s.validate(ctx, dbq.New(s.Pool), tenantID, &req); err != nil {
		return err
	}
	_, err := encodeData(req.Data)
	return err
}

func encodeData(d map[string]any) ([]byte, error) {
	data, err := json.Marshal(d)
	if err != nil {
		return nil, invalid("data", "data must be a JSON object")
	}
	if len(data) > MaxData {
		return nil, &Error{Kind: TooLarge, Code: "payload_too_large",
			Message: fmt.Sprintf("data is %d bytes as JSON; at most %d (64 KiB) are allowed", len(data), MaxData),
			Details: map[string]any{"field": "data", "limit": MaxData}}
	}
	return data, nil
}

// repeat answers a post whose key is already stored: the same event if the
// body matches, a conflict if it does not. It starts the workflow only while
// the event's start is unconfirmed, so an old key never runs its event again,
// even after Temporal's retention has purged the closed run.
func (s *Service) repeat(ctx context.Context, ev dbq.Event, hash []byte) (Accepted, error) {
	if string(ev.RequestHash) != string(hash) {
		return Accepted{}, &Error{Kind: Conflict, Code: "idempotency_conflict",
			Message: fmt.Sprintf("idempotency key %q was already used for a different event", ev.IdempotencyKey),
			Details: map[string]any{"event_id": ev.ID}}
	}
	if ev.StartedAt == nil && ev.Status == delivery.EventPending {
		return s.start(ctx, ev, true), nil
	}
	return Accepted{EventID: ev.ID, WorkflowID: ev.WorkflowID, RunID: ev.RunID, Duplicate: true}, nil
}

// start starts the event's workflow on a context detached from the caller.
// A start that fails is logged and left to Reconcile: the event is stored, so
// it is accepted either way. A start that succeeds is confirmed on the row
// when the workflow closes the event (or by the reconciler, for an event
// still running a minute later), not here: that would be a second write of
// every event's row on the API's critical path.
func (s *Service) start(ctx context.Context, ev dbq.Event, duplicate bool) Accepted {
	acc := Accepted{EventID: ev.ID, WorkflowID: ev.WorkflowID, Duplicate: duplicate}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.startTimeout())
	defer cancel()
	runID, err := s.startWorkflow(sctx, ev)
	if err != nil {
		s.log().Warn("workflow start not confirmed; the reconciler will start it",
			"event_id", ev.ID, "workflow_id", ev.WorkflowID, "error", err)
		return acc
	}
	acc.RunID = runID
	return acc
}

// startWorkflow starts the event's workflow, or finds the run that exists:
// the workflow ID runs once.
func (s *Service) startWorkflow(ctx context.Context, ev dbq.Event) (string, error) {
	name, input := contract.NotifyWorkflowName, any(contract.NotifyInput{TenantID: ev.TenantID, EventID: ev.ID, Type: ev.Type,
		Engine: contract.EngineCurrent, SendAt: ev.SendAt})
	if strings.HasPrefix(ev.WorkflowID, contract.RulesWorkflowPrefix) {
		name, input = contract.RulesWorkflowName, contract.RulesInput{TenantID: ev.TenantID, EventID: ev.ID, Type: ev.Type}
	}
	run, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    ev.WorkflowID,
		TaskQueue:             s.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		// Where a worker shares this process's client (herald dev), the first
		// workflow task comes back with the start response and skips a
		// round trip through the server's matching service.
		EnableEagerStart: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			contract.AttrTenant.ValueSet(ev.TenantID.String()),
			contract.AttrEventType.ValueSet(ev.Type),
			contract.AttrStatus.ValueSet(string(delivery.EventPending)),
		),
	}, name, input)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case err == nil:
		return run.GetRunID(), nil
	case errors.As(err, &started):
		return started.RunId, nil
	}
	return "", err
}

// Reconcile makes sure every event accepted before olderThan whose start is
// unconfirmed has a run: it starts the workflow, or finds the run that
// exists, records it, and returns how many events it handled.
func (s *Service) Reconcile(ctx context.Context, olderThan time.Duration) (int, error) {
	rows, err := dbq.New(s.Pool).UnstartedEvents(ctx, dbq.UnstartedEventsParams{
		OlderThan: time.Now().Add(-olderThan), MaxRows: 200,
	})
	if err != nil {
		return 0, fmt.Errorf("finding unstarted events: %w", err)
	}
	n := 0
	for _, ev := range rows {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		runID, err := s.startWorkflow(sctx, ev)
		cancel()
		if err != nil {
			// One event that cannot start must not hold up the others.
			s.log().Warn("starting an unconfirmed event", "event_id", ev.ID, "error", err)
			continue
		}
		if err := dbq.New(s.Pool).MarkEventStarted(ctx, dbq.MarkEventStartedParams{ID: ev.ID, RunID: runID}); err != nil {
			return n, fmt.Errorf("recording the start of event %s: %w", ev.ID, err)
		}
		s.log().Info("confirmed the run of an event", "event_id", ev.ID, "workflow_id", ev.WorkflowID, "run_id", runID)
		n++
	}
	return n, nil
}

// RunReconciler calls Reconcile, and makes the owed workflow starts, every
// interval until ctx ends. Every worker process runs one; they may overlap
// harmlessly, since a workflow ID runs once.
func (s *Service) RunReconciler(ctx context.Context, every, olderThan time.Duration) {
	periodic.Run(ctx, every, s.log(), "reconciling", func(ctx context.Context) error {
		_, rerr := s.Reconcile(ctx, olderThan)
		if rerr != nil {
			rerr = fmt.Errorf("unstarted events: %w", rerr)
		}
		_, serr := s.MakeOwedStarts(ctx, olderThan)
		if serr != nil {
			serr = fmt.Errorf("owed workflow starts: %w", serr)
		}
		return errors.Join(rerr, serr)
	})
}

func (s *Service) validate(ctx context.Context, q *dbq.Queries, tenantID uuid.UUID, req *Request) (catalog.EventType, error) {
	if req.Type == "" {
		return catalog.EventType{}, invalid("type", "type is required")
	}
	typ, ok, err := catalog.ForTenant(ctx, db.Definitions{Q: q}, tenantID, req.Type)
	if err != nil {
		return typ, err
	}
	if !ok {
		return typ, &Error{Kind: UnknownType, Code: "unknown_event_type",
			Message: fmt.Sprintf("event type %q is not in the catalog; see GET /v1/event-types", req.Type),
			Details: map[string]any{"type": req.Type}}
	}
	if typ.Internal && !req.Herald {
		return typ, &Error{Kind: UnknownType, Code: "internal_event_type",
			Message: fmt.Sprintf("%s is sent by Herald itself and cannot be posted", typ.Key),
			Details: map[string]any{"type": req.Type}}
	}
	if typ.Input && req.Recipients != nil {
		return typ, invalid("recipients", "%s is an input type: it feeds rules, which decide whom their events reach", typ.Key)
	}
	if req.SendAt != nil && req.SendAt.After(time.Now().Add(maxSendAhead)) {
		return typ, invalid("send_at", "send_at is more than a year ahead")
	}
	if req.Link != "" {
		u, err := url.Parse(req.Link)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(req.Link) > 2000 {
			return typ, invalid("link", "link must be an http or https URL")
		}
	}
	if err := validateRecipients(ctx, q, tenantID, typ, req.Recipients); err != nil {
		return typ, err
	}
	if err := validatePersonal(req); err != nil {
		return typ, err
	}
	if _, err := groupWindow(req); err != nil {
		return typ, err
	}
	if typ.Input && req.GroupKey != nil {
		return typ, invalid("group_key", "%s is an input type: it notifies nobody, so there is nothing to collapse", typ.Key)
	}
	if err := missingData(typ, req.Data); err != nil {
		return typ, err
	}
	return typ, nil
}

func missingData(typ catalog.EventType, data map[string]any) error {
	if missing := typ.MissingData(data); len(missing) > 0 {
		return &Error{Kind: Invalid, Code: "missing_data",
			Message: fmt.Sprintf("%s needs data.%s", typ.Key, strings.Join(missing, ", data.")),
			Details: map[string]any{"field": "data", "missing": missing}}
	}
	return nil
}

// CheckData refuses data as Submit would for an event of typ: a required
// key missing, or more than MaxData as JSON. A preview says what a post of
// the same data would be told.
func CheckData(typ catalog.EventType, data map[string]any) error {
	if err := missingData(typ, data); err != nil {
		return err
	}
	_, err := encodeData(data)
	return err
}

func validateRecipients(ctx context.Context, q *dbq.Queries, tenantID uuid.UUID, typ catalog.EventType, r *Recipients) error {
	if r == nil {
		if typ.Recipients == catalog.RecipientsNamed {
			return invalid("recipients", "%s notifies the users it names: set recipients.users", typ.Key)
		}
		return nil
	}
	if len(r.Users) == 0 && len(r.Roles) == 0 {
		return invalid("recipients", "recipients must name users or roles")
	}
	if len(r.Users) > MaxNamedRecipients {
		return invalid("recipients.users", "at most %d users; address larger audiences by role", MaxNamedRecipients)
	}
	for _, id := range r.Users {
		if !audience.ValidUserID(id) {
			return invalid("recipients.users", "recipients.users must be 1-128 characters of letters, digits and ._:@+-")
		}
	}
	for _, role := range r.Roles {
		if !audience.Role(role).Valid() {
			return invalid("recipients.roles", "unknown role %q: want owner, member or executive", role)
		}
	}
	if len(r.Users) == 0 {
		return nil
	}
	found, err := q.ExistingUserIDs(ctx, dbq.ExistingUserIDsParams{TenantID: tenantID, Ids: r.Users})
	if err != nil {
		return err
	}
	if missing, n := MissingIDs(r.Users, found); n > 0 {
		return &Error{Kind: Invalid, Code: "unknown_recipients",
			Message: fmt.Sprintf("%d recipient user(s) do not exist; create them with PUT /v1/users/{id}", n),
			Details: map[string]any{"users": missing}}
	}
	return nil
}

// validatePersonal refuses a personal link that could reach anyone but
// its owner: the event must name them as its one recipient.
func validatePersonal(req *Request) error {
	l := req.Personal
	if l == nil {
		return nil
	}
	if !req.Herald {
		return invalid("personal_link", "only Herald gives events personal links")
	}
	if err := l.Validate(); err != nil {
		return invalid("personal_link", "%s", err)
	}
	r := req.Recipients
	if r == nil || len(r.Roles) > 0 || len(r.Users) != 1 || r.Users[0] != l.Approver {
		return invalid("personal_link", "an event with a personal link must name its owner as its one recipient")
	}
	return nil
}

// MissingIDs counts the distinct IDs of want not in found, and names the
// first 20 of them.
func MissingIDs(want, found []string) ([]string, int) {
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

// workflowID is the workflow an event runs: an input type's evaluates the
// tenant's rules, every other type's notifies.
func workflowID(typ catalog.EventType, eventID uuid.UUID) string {
	if typ.Input {
		return contract.RulesWorkflowID(eventID)
	}
	return contract.NotifyWorkflowID(eventID)
}

// spec is whom the event reaches: what it names, or the type's default.
func spec(typ catalog.EventType, r *Recipients) audience.Spec {
	if r != nil {
		s := audience.Spec{Users: sorted(r.Users)}
		for _, role := range sorted(r.Roles) {
			s.Roles = append(s.Roles, audience.Role(role))
		}
		return s
	}
	if typ.Recipients == catalog.RecipientsOwner {
		return audience.Spec{Roles: []audience.Role{audience.Owner}}
	}
	return audience.Spec{Subscribers: true}
}

// requestHash identifies what an event asks for, as posted, so a repeated
// key with a different body is told apart from a retry. encoding/json sorts
// map keys and writes json.Number as given, which makes the encoding
// canonical and exact; recipient lists are sorted.
func requestHash(req Request) []byte {
	var r *Recipients
	if req.Recipients != nil {
		r = &Recipients{Users: sorted(req.Recipients.Users), Roles: sorted(req.Recipients.Roles)}
	}
	b, _ := json.Marshal(struct {
		Type       string         `json:"type"`
		Recipients *Recipients    `json:"recipients"`
		Data       map[string]any `json:"data"`
		Urgent     bool           `json:"urgent"`
		SendAt     *time.Time     `json:"send_at"`
		Link       string         `json:"link"`
		Personal   *personal.Link `json:"personal_link,omitempty"`
		// Left out when unset, so events posted before collapse keep
		// their hash.
		GroupKey    *string `json:"group_key,omitempty"`
		GroupWindow *string `json:"group_window,omitempty"`
	}{req.Type, r, req.Data, req.Urgent, req.SendAt, req.Link, req.Personal, req.GroupKey, req.GroupWindow})
	h := sha256.Sum256(b)
	return h[:]
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// Bounds of collapse by key: a key names a thread of events, not a
// document; a window shorter than ten seconds collapses nothing worth the
// wait, and one longer than a day is a digest.
const (
	MaxGroupKey    = 200
	MinGroupWindow = 10 * time.Second
	MaxGroupWindow = 24 * time.Hour
)

// groupWindow checks an event's group_key and group_window and returns the
// window in seconds, or nil when the event does not collapse.
func groupWindow(req *Request) (*int32, error) {
	switch {
	case req.GroupKey == nil && req.GroupWindow == nil:
		return nil, nil
	case req.GroupKey == nil:
		return nil, invalid("group_key", "group_window needs a group_key: the events to collapse are those with the same key")
	case req.GroupWindow == nil:
		return nil, invalid("group_window", "group_key needs a group_window, such as \"10m\": how long the first event waits for others")
	}
	// An empty key is contract.HoldKey, a throttle's hold window: an event
	// that could carry it would share that window.
	if n := utf8.RuneCountInString(*req.GroupKey); n == 0 || n > MaxGroupKey || strings.TrimSpace(*req.GroupKey) == "" {
		return nil, invalid("group_key", "group_key must be 1 to %d characters, not all blank", MaxGroupKey)
	}
	d, err := time.ParseDuration(*req.GroupWindow)
	if err != nil || d < MinGroupWindow || d > MaxGroupWindow || d%time.Second != 0 {
		return nil, invalid("group_window", "group_window must be a duration of whole seconds from %s to %s, such as \"10m\"", MinGroupWindow, MaxGroupWindow)
	}
	secs := int32(d / time.Second)
	return &secs, nil
}

// maxSendAhead bounds send_at: a scheduled send is a reminder, not an archive.
const maxSendAhead = 365 * 24 * time.Hour

// Retry asks an event's workflow to send failed deliveries again (ids; none
// means every failed one): the running run gets the retry signal, and an
// event whose run has completed gets a repair run started with it. Either
// way each delivery goes through the same claim-and-send path, never twice.
func (s *Service) Retry(ctx context.Context, tenantID, eventID uuid.UUID, eventType string, ids []uuid.UUID) (string, error) {
	if ids == nil {
		ids = []uuid.UUID{}
	}
	run, err := s.Temporal.SignalWithStartWorkflow(ctx, contract.NotifyWorkflowID(eventID), contract.SignalRetry, ids,
		client.StartWorkflowOptions{
			TaskQueue: s.TaskQueue,
			// The event's own run has completed: a repair run takes its ID.
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				contract.AttrTenant.ValueSet(tenantID.String()),
				contract.AttrEventType.ValueSet(eventType),
				contract.AttrStatus.ValueSet(string(delivery.EventPending)),
			),
		}, contract.NotifyWorkflowName,
		contract.NotifyInput{TenantID: tenantID, EventID: eventID, Type: eventType, Engine: contract.EngineCurrent, Repair: true})
	if err != nil {
		return "", fmt.Errorf("asking event %s's workflow to retry: %w", eventID, err)
	}
	return run.GetRunID(), nil
}
