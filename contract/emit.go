package contract

import "github.com/google/uuid"

// EmitRequest is an event a workflow emits: a rule firing, a batch's
// completion, an experiment's readiness, an approval's request. It goes
// through the same submission path as a posted event (catalog, recipients,
// data limits), and its idempotency key, derived by the emitter from what
// it emits for, makes a retried emission the same event.
type EmitRequest struct {
	TenantID       uuid.UUID      `json:"tenant_id"`
	Type           string         `json:"type"`
	Users          []string       `json:"users,omitempty"`
	Roles          []string       `json:"roles,omitempty"`
	Data           map[string]any `json:"data"`
	IdempotencyKey string         `json:"idempotency_key"`
	Urgent         bool           `json:"urgent,omitempty"`
	Link           string         `json:"link,omitempty"`
	// Source is the event this one comes from, if any.
	Source uuid.UUID `json:"source,omitempty"`
	// Herald allows an internal type, one nobody may post.
	Herald bool `json:"herald,omitempty"`
}

// Emitted answers an emission.
type Emitted struct {
	EventID    uuid.UUID `json:"event_id"`
	WorkflowID string    `json:"workflow_id"`
	Duplicate  bool      `json:"duplicate"`
}

// ErrTypeEmitRefused is the error type of an emission the catalog or the tenant's
// users refuse (an unknown type, a recipient deleted since): retrying it
// cannot help, so it fails at once, with the intake's code in the message.
const ErrTypeEmitRefused = "EmitRefused"
