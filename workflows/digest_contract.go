package workflows

import (
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/digest"
)

// DigestWorkflowName is the registered name of Digest.
const DigestWorkflowName = "Digest"

// DigestWorkflowID is the ID of a user's Digest workflow on a channel.
func DigestWorkflowID(tenantID uuid.UUID, userID string, ch channel.Channel) string {
	return digest.WorkflowID(tenantID.String(), userID, string(ch))
}

// DigestInput starts (or continues) the Digest workflow of one user's
// window on one channel. The items are in the database; the input names
// the window only.
type DigestInput struct {
	TenantID uuid.UUID       `json:"tenant_id"`
	UserID   string          `json:"user_id"`
	Channel  channel.Channel `json:"channel"`
	// Opened is when the window opened: a run continued at a window's close
	// carries it; a new run opens its window when it starts.
	Opened *time.Time `json:"opened,omitempty"`
	// Every replaces the user's cadence with a fixed window. Only tests set
	// it, starting the workflow themselves; Herald never does.
	Every time.Duration `json:"every,omitempty"`
}

// SignalDigestArm is what a worker sends (with start) when a page digested
// the first item of an idle window: it makes sure the workflow runs, and
// tells a run about to close that it must open another window.
const SignalDigestArm = "arm"
