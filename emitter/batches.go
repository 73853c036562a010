package emitter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/intake"
)

// BatchEvent is the event a batch emits when its jobs are done, as posted
// and stored with it.
type BatchEvent struct {
	Type       string             `json:"type"`
	Recipients *intake.Recipients `json:"recipients,omitempty"`
	Data       map[string]any     `json:"data"`
	Link       string             `json:"link,omitempty"`
	Urgent     bool               `json:"urgent,omitempty"`
}

// BatchData is the data a batch's event carries: what was posted, with the
// batch's ID and its job count where the poster left them out (drafts
// ready counts drafts).
func BatchData(ev BatchEvent, batchID string, jobs int) map[string]any {
	out := make(map[string]any, len(ev.Data)+3)
	for k, v := range ev.Data {
		out[k] = v
	}
	if _, ok := out["batch_id"]; !ok {
		out["batch_id"] = batchID
	}
	if _, ok := out["jobs"]; !ok {
		out["jobs"] = jobs
	}
	if _, ok := out["drafts"]; !ok && ev.Type == "outreach.drafts_ready" {
		out["drafts"] = jobs
	}
	return out
}

// LoadBatch reads a batch and counts its completed jobs. A batch not
// posted yet is not Defined; its jobs wait for it.
func (a *Activities) LoadBatch(ctx context.Context, tenantID uuid.UUID, batchID string) (contract.BatchState, error) {
	q := dbq.New(a.Pool)
	b, err := q.GetBatch(ctx, dbq.GetBatchParams{TenantID: tenantID, ID: batchID})
	if errors.Is(err, pgx.ErrNoRows) {
		return contract.BatchState{}, nil
	}
	if err != nil {
		return contract.BatchState{}, err
	}
	n, err := q.CountBatchJobs(ctx, dbq.CountBatchJobsParams{TenantID: tenantID, BatchID: batchID})
	if err != nil {
		return contract.BatchState{}, err
	}
	return contract.BatchState{Defined: true, Status: b.Status, Expected: int(b.ExpectedJobs), Completed: int(n), ExpiresAt: b.ExpiresAt}, nil
}

// CompleteBatch closes a batch whose jobs are all done and emits its event.
// The close commits first, naming the event it emits, whose key derives
// from the batch: a retry after a crash submits the same event, and a
// batch closed once is never emitted again by another run.
func (a *Activities) CompleteBatch(ctx context.Context, tenantID uuid.UUID, batchID string) error {
	key := "batch:" + batchID
	var b dbq.Batch
	err := pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error {
		q := dbq.New(tx)
		var err error
		if b, err = q.LockBatch(ctx, dbq.LockBatchParams{TenantID: tenantID, ID: batchID}); err != nil {
			return err
		}
		if b.Status != contract.BatchOpen {
			return nil
		}
		n, err := q.CountBatchJobs(ctx, dbq.CountBatchJobsParams{TenantID: tenantID, BatchID: batchID})
		if err != nil {
			return err
		}
		if int(n) < int(b.ExpectedJobs) {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("batch %s has %d of %d jobs", batchID, n, b.ExpectedJobs), "BatchIncomplete", nil)
		}
		b.Status = contract.BatchCompleted
		b.EmittedEventID = uuid.NullUUID{UUID: contract.EventID(tenantID, key), Valid: true}
		return q.CloseBatch(ctx, dbq.CloseBatchParams{TenantID: tenantID, ID: batchID, Status: b.Status, EmittedEventID: b.EmittedEventID})
	})
	if err != nil {
		return fmt.Errorf("closing batch %s: %w", batchID, err)
	}
	if b.Status != contract.BatchCompleted {
		return nil // expired first
	}
	var ev BatchEvent
	if err := json.Unmarshal(b.Event, &ev); err != nil {
		return temporal.NewNonRetryableApplicationError("batch event: "+err.Error(), "BadBatch", err)
	}
	req := contract.EmitRequest{TenantID: tenantID, Type: ev.Type, Data: BatchData(ev, batchID, int(b.ExpectedJobs)),
		IdempotencyKey: key, Urgent: ev.Urgent, Link: ev.Link}
	if ev.Recipients != nil {
		req.Users, req.Roles = ev.Recipients.Users, ev.Recipients.Roles
	}
	_, err = a.SubmitEvent(ctx, req)
	return err
}

// ExpireBatch closes a batch whose time ran out and records it with a
// batch.expired event to the owners, naming how many jobs were done when
// it closed.
func (a *Activities) ExpireBatch(ctx context.Context, tenantID uuid.UUID, batchID string) error {
	var b dbq.Batch
	err := pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error {
		q := dbq.New(tx)
		var err error
		if b, err = q.LockBatch(ctx, dbq.LockBatchParams{TenantID: tenantID, ID: batchID}); err != nil {
			return err
		}
		if b.Status != contract.BatchOpen {
			return nil
		}
		b.Status = contract.BatchExpired
		return q.CloseBatch(ctx, dbq.CloseBatchParams{TenantID: tenantID, ID: batchID, Status: b.Status})
	})
	if err != nil {
		return fmt.Errorf("expiring batch %s: %w", batchID, err)
	}
	if b.Status != contract.BatchExpired {
		return nil
	}
	// Jobs completed by the close: a retry counts the same.
	var done int
	if err := a.Pool.QueryRow(ctx, `SELECT count(*) FROM batch_jobs j JOIN batches b ON b.tenant_id = j.tenant_id AND b.id = j.batch_id
		WHERE j.tenant_id = $1 AND j.batch_id = $2 AND j.completed_at <= b.closed_at`, tenantID, batchID).Scan(&done); err != nil {
		return err
	}
	var ev BatchEvent
	_ = json.Unmarshal(b.Event, &ev)
	_, err = a.SubmitEvent(ctx, contract.EmitRequest{TenantID: tenantID, Type: catalog.BatchExpired, Herald: true,
		IdempotencyKey: "batch-expired:" + batchID,
		Data:           map[string]any{"batch_id": batchID, "expected_jobs": b.ExpectedJobs, "completed_jobs": done, "event_type": ev.Type}})
	return err
}
