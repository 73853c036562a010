package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/channel"
)

// DigestWorkflowName is the registered name of Digest.
const DigestWorkflowName = "Digest"

// DigestWorkflowID is the ID of the Digest workflow that owns a user's
// window on a channel: one per (tenant, user, channel), so starting it
// twice is signalling the one that runs.
func DigestWorkflowID(tenantID uuid.UUID, userID string, ch channel.Channel) string {
	return "digest/" + tenantID.String() + "/" + string(ch) + "/" + userID
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
	// Group makes the window a collapse window: it holds only the
	// recipient's deliveries of events of one type with one group key. A
	// group with an empty key is a throttle's hold window (see HoldKey).
	Group *Group `json:"group,omitempty"`
}

// HoldKey is the group key of a throttle's hold window: the recipient's
// deliveries of one type held over its throttle (overflow digest). No
// event's group key is empty (the API refuses one), so a hold window can
// never meet a collapse window.
const HoldKey = ""

// Group names a collapse window's events: their type and group key.
type Group struct {
	Type string `json:"type"`
	Key  string `json:"key"`
}

// CollapseWorkflowID is the ID of the Digest workflow that owns a user's
// collapse window for one event type and group key on a channel. The key
// is the caller's (up to 200 characters of anything), so the ID carries its
// hash: bounded, and free of separators.
func CollapseWorkflowID(tenantID uuid.UUID, userID string, ch channel.Channel, g Group) string {
	h := sha256.Sum256([]byte(g.Type + "\x00" + g.Key))
	return "collapse/" + tenantID.String() + "/" + string(ch) + "/" + userID + "/" + hex.EncodeToString(h[:16])
}

// WindowWorkflowID is the ID of the Digest workflow of a window: a user's
// digest, or a collapse window when group is set.
func WindowWorkflowID(tenantID uuid.UUID, userID string, ch channel.Channel, group *Group) string {
	if group != nil {
		return CollapseWorkflowID(tenantID, userID, ch, *group)
	}
	return DigestWorkflowID(tenantID, userID, ch)
}

// SignalDigestArm is what a worker sends (with start) when a page digested
// the first item of an idle window: it makes sure the workflow runs, and
// tells a run about to close that it must open another window.
const SignalDigestArm = "arm"
