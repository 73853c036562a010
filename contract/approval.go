package contract

import (
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/approval"
)

// ApprovalWorkflowName is the registered name of Approval.
const ApprovalWorkflowName = "Approval"

// ApprovalWorkflowID is the ID of a tenant's approval's workflow: one run
// per (tenant, approval id).
func ApprovalWorkflowID(tenantID uuid.UUID, id string) string {
	return "approval/" + tenantID.String() + "/" + id
}

// The Approval workflow's handlers.
const (
	// UpdateDecide records an approver's DecideRequest and answers the
	// final ApprovalState.
	UpdateDecide = "decide"
	// UpdateWithdraw withdraws a pending approval; it answers the final state.
	UpdateWithdraw = "withdraw"
	// QueryApproval answers the ApprovalState.
	QueryApproval = "state"
)

// Error types the Approval workflow's updates refuse with; the API maps
// them to 409 and 403.
const (
	// ErrTypeApprovalClosed: decided, withdrawn or expired already; the
	// error's details hold the ApprovalState, naming who decided and when.
	ErrTypeApprovalClosed = "ApprovalClosed"
	// ErrTypeNotApprover: the user is not an approver, or their level has not
	// been asked yet.
	ErrTypeNotApprover = "NotApprover"
	// ErrTypeBadDecision: neither approve nor reject.
	ErrTypeBadDecision = "BadDecision"
)

// ApprovalLevel is one level of approvers and how long it has to decide.
type ApprovalLevel struct {
	Approvers []string      `json:"approvers"`
	Timeout   time.Duration `json:"timeout"`
}

// ApprovalInput starts an Approval. What people read (title, description,
// link) is in the database; the input holds what the flow needs, and never
// a link token.
type ApprovalInput struct {
	TenantID    uuid.UUID       `json:"tenant_id"`
	ID          string          `json:"id"`
	Requester   string          `json:"requester"`
	Levels      []ApprovalLevel `json:"levels"`
	RemindEvery time.Duration   `json:"remind_every,omitempty"`
	// Callback: the approval has a callback URL to post its outcome to.
	Callback bool `json:"callback,omitempty"`
}

// ApprovalAsked is an approver and the level that asked them.
type ApprovalAsked struct {
	User  string `json:"user"`
	Level int    `json:"level"`
}

// ApprovalState is an approval as its workflow knows it.
type ApprovalState struct {
	Status approval.Status `json:"status"`
	// Level is the level asked last (1-based); 0 before the first is asked.
	Level int `json:"level"`
	// Deadline is when the current level times out.
	Deadline  *time.Time        `json:"deadline,omitempty"`
	Asked     []ApprovalAsked   `json:"asked"`
	DecidedBy string            `json:"decided_by,omitempty"`
	Decision  approval.Decision `json:"decision,omitempty"`
	Comment   string            `json:"comment,omitempty"`
	// ClosedAt is when it was decided, withdrawn or expired.
	ClosedAt *time.Time `json:"closed_at,omitempty"`
}

// DecideRequest is an approver's decision.
type DecideRequest struct {
	Approver string            `json:"approver"`
	Decision approval.Decision `json:"decision"`
	Comment  string            `json:"comment,omitempty"`
}

// ApprovalNotice is one emission: Kind approval.Asked, Reminded or
// Escalated to Users, each with their own link; ExecutiveAlert to Roles
// (with Decide, to each executive with their own link); approval.Decided,
// ExpiredKind or WithdrawnKind (the outcome) to Users. N numbers reminders
// within a level.
type ApprovalNotice struct {
	TenantID uuid.UUID     `json:"tenant_id"`
	ID       string        `json:"id"`
	Kind     approval.Kind `json:"kind"`
	Level    int           `json:"level"`
	N        int           `json:"n,omitempty"`
	Users    []string      `json:"users,omitempty"`
	Roles    []string      `json:"roles,omitempty"`
	// Expires is when the approval expires, if no one decides: approvers'
	// links expire with it.
	Expires time.Time `json:"expires"`
	// State is the outcome, for outcome notices.
	State *ApprovalState `json:"state,omitempty"`
	// Decide (ExecutiveAlert) tells each executive with a link of their
	// own, while the approval is open: they may decide. Runs from before
	// alerted executives when the approval expired, with no link.
	Decide bool `json:"decide,omitempty"`
}

// ApprovalNoticeResult answers a notice. For an ExecutiveAlert with
// Decide, Users are the executives told, who may decide from then on.
type ApprovalNoticeResult struct {
	Users []string `json:"users,omitempty"`
}

// ApprovalClose is an approval's outcome, stored once.
type ApprovalClose struct {
	TenantID uuid.UUID     `json:"tenant_id"`
	ID       string        `json:"id"`
	State    ApprovalState `json:"state"`
}

// ApprovalEntry is one history row.
type ApprovalEntry struct {
	TenantID uuid.UUID     `json:"tenant_id"`
	ID       string        `json:"id"`
	Key      string        `json:"key"`
	Kind     approval.Kind `json:"kind"`
	Detail   string        `json:"detail,omitempty"`
	At       time.Time     `json:"at"`
}
