package contract

import (
	"time"

	"github.com/google/uuid"
)

// BatchWorkflowName is the registered name of Batch.
const BatchWorkflowName = "Batch"

// BatchWorkflowID is a batch's workflow ID: one per tenant and batch ID.
func BatchWorkflowID(tenantID uuid.UUID, batchID string) string {
	return "batch/" + tenantID.String() + "/" + batchID
}

// Signals a Batch run listens to. Each only wakes it: the stored batch and
// its stored job rows are what it counts.
const (
	SignalBatchJob     = "job"     // a job completed
	SignalBatchDefined = "defined" // the batch was posted
)

// DefaultBatchExpiry is how long a batch waits for its jobs unless posted
// with expires_in, and how long a run started by a completion waits for its
// batch to be posted.
const DefaultBatchExpiry = 7 * 24 * time.Hour

// BatchInput starts a Batch run.
type BatchInput struct {
	TenantID uuid.UUID `json:"tenant_id"`
	BatchID  string    `json:"batch_id"`
	// Until is when a run that has not seen its batch posted gives up;
	// zero means DefaultBatchExpiry from the run's start. It is carried
	// across continue-as-new.
	Until time.Time `json:"until,omitempty"`
}

// BatchState is a batch as stored.
type BatchState struct {
	Defined   bool        `json:"defined"`
	Status    BatchStatus `json:"status"`
	Expected  int         `json:"expected"`
	Completed int         `json:"completed"`
	ExpiresAt time.Time   `json:"expires_at"`
}

// BatchStatus is where a batch stands (batches.status).
type BatchStatus string

// Batch statuses.
const (
	BatchOpen      BatchStatus = "open"
	BatchCompleted BatchStatus = "completed"
	BatchExpired   BatchStatus = "expired"
	// BatchAwaiting answers a job completion that came before its batch
	// was posted; it is never stored.
	BatchAwaiting BatchStatus = "awaiting_batch"
)
