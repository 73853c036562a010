package contract

import (
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/delivery"
)

// NotifyWorkflowName is the registered name of NotifyEvent.
const NotifyWorkflowName = "NotifyEvent"

// eventNamespace makes event IDs a pure function of tenant and idempotency key.
var eventNamespace = uuid.MustParse("6f1c3e57-1d2a-4f0e-9b7a-3c1e5d8a2b40")

// EventID derives the event ID from the tenant and the idempotency key, so a
// repeated post maps to the same event and the same workflow.
func EventID(tenantID uuid.UUID, idempotencyKey string) uuid.UUID {
	return uuid.NewSHA1(eventNamespace, append(tenantID[:], idempotencyKey...))
}

// NotifyWorkflowID is the workflow ID of an event's NotifyEvent run.
func NotifyWorkflowID(eventID uuid.UUID) string { return "notify/" + eventID.String() }

// NotifyInput starts a NotifyEvent workflow; the event itself is in the
// database, so no event data or secret is ever in workflow history.
type NotifyInput struct {
	TenantID uuid.UUID `json:"tenant_id"`
	EventID  uuid.UUID `json:"event_id"`
	Type     string    `json:"type"`
	// Engine is the delivery engine the run was started for. Runs that
	// carry EngineBatches skip the version marker (and the search attribute
	// upsert it costs every run); runs without it decide by
	// workflow.GetVersion, so those begun by older releases replay as they ran.
	Engine int `json:"engine,omitempty"`
	// After and Carried continue a fan-out in a new run: the last recipient
	// handled and the tally so far.
	After   string        `json:"after,omitempty"`
	Carried *NotifyResult `json:"carried,omitempty"`
	// Waiting continues a run that had planned every recipient and was
	// waiting for deferred deliveries to come due.
	Waiting bool `json:"waiting,omitempty"`
	// Parked are webhook batches waiting for their next try, carried into
	// a continued run so the fan-out need not wait for them.
	Parked []ParkedBatch `json:"parked,omitempty"`
	// SendAt defers the whole event (every delivery) to that instant; past
	// or nil sends at once.
	SendAt *time.Time `json:"send_at,omitempty"`
	// Repair runs wait for retry signals only: a repair run is started
	// (with its signal) for an event whose first run has completed, and a
	// run that waited long continues as one (before EngineLanes).
	Repair bool `json:"repair,omitempty"`
	// Closed (EngineLanes, continued runs): the outcome is recorded and the
	// run waits for retries until RepairBy.
	Closed   bool       `json:"closed,omitempty"`
	RepairBy *time.Time `json:"repair_by,omitempty"`
	// RetryIDs, RetryAll and Moved carry the retry and reschedule signals a
	// run had taken, or still had buffered, when it continued as new.
	RetryIDs []uuid.UUID `json:"retry_ids,omitempty"`
	RetryAll bool        `json:"retry_all,omitempty"`
	Moved    []string    `json:"moved,omitempty"`
}

// ParkedBatch is a batch due to be tried again at At (its Round-th try).
type ParkedBatch struct {
	Batch delivery.Batch `json:"batch"`
	Round int            `json:"round"`
	At    time.Time      `json:"at"`
}

// NotifyResult tallies an event's deliveries.
type NotifyResult struct {
	Status    delivery.EventStatus `json:"status"`
	Delivered int                  `json:"delivered"`
	Skipped   int                  `json:"skipped"`
	Failed    int                  `json:"failed"`
	// Deferred counts deliveries that waited out their recipient's quiet
	// hours or were held for an escalation (each is also counted where it
	// settled).
	Deferred int `json:"deferred,omitempty"`
}

// Delivery engines (see NotifyInput.Engine).
const (
	// EngineBatches delivers channel batches.
	EngineBatches = 2
	// EngineDeferral also defers deliveries in quiet hours on durable timers.
	EngineDeferral = 3
	// EngineRepair also waits, after failures, for retry signals.
	EngineRepair = 4
	// EngineLanes delivers each channel in its own lane, lets deferred
	// deliveries wait in the database for their next try, and acts on
	// signals in every phase.
	EngineLanes = 5
	// EngineCurrent is the engine new runs start with.
	EngineCurrent = EngineLanes
)

// SignalRetry asks a run to send failed deliveries again. Its input is a
// list of delivery IDs, or empty (or null) for every failed delivery of the
// event; from the Temporal UI: [] or ["<delivery id>", …].
const SignalRetry = "retry"

// SignalCancel tells a run its event was cancelled (DELETE /v1/events/{id}
// has already cancelled the pending deliveries): it stops waiting for
// send_at or for deferred deliveries, plans no more recipients, and records
// the event cancelled.
const SignalCancel = "cancel"

// RetryWindow is how long a run with failed deliveries waits for a retry
// signal before it completes; a retry after that starts a repair run.
const RetryWindow = 7 * 24 * time.Hour

// SignalReschedule tells a waiting run that a recipient (the signal carries
// their user ID) changed their preferences or time zone: it decides their
// deferred deliveries again and re-reads when the next is due.
const SignalReschedule = "reschedule"
