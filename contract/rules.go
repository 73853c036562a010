package contract

import "github.com/google/uuid"

// RulesWorkflowName is the registered name of EvaluateRules.
const RulesWorkflowName = "EvaluateRules"

// RulesWorkflowPrefix starts the workflow ID of every input event's run.
const RulesWorkflowPrefix = "rules/"

// RulesWorkflowID is the workflow ID of an input event's run.
func RulesWorkflowID(eventID uuid.UUID) string { return RulesWorkflowPrefix + eventID.String() }

// RulesInput starts an EvaluateRules run; the event is in the database.
type RulesInput struct {
	TenantID uuid.UUID `json:"tenant_id"`
	EventID  uuid.UUID `json:"event_id"`
	Type     string    `json:"type"`
}

// RulesResult counts what the tenant's rules made of an input event.
type RulesResult struct {
	Fired   int         `json:"fired"`
	Held    int         `json:"held"`
	Emitted []uuid.UUID `json:"emitted,omitempty"`
}
