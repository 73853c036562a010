package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/emitter"
	"github.com/heraldhq/herald/intake"
)

// Bounds of a batch.
const (
	maxBatchJobs   = 100000
	minBatchExpiry = time.Second
	maxBatchExpiry = 90 * 24 * time.Hour
)

type batchRequest struct {
	ID           string              `json:"id"`
	ExpectedJobs int                 `json:"expected_jobs"`
	Event        *emitter.BatchEvent `json:"event"`
	ExpiresIn    string              `json:"expires_in,omitempty"`
}

// batchView is a batch as the API shows it.
type batchView struct {
	ID             string               `json:"id"`
	Status         contract.BatchStatus `json:"status"`
	ExpectedJobs   int                  `json:"expected_jobs"`
	CompletedJobs  int                  `json:"completed_jobs"`
	Event          emitter.BatchEvent   `json:"event"`
	ExpiresAt      time.Time            `json:"expires_at"`
	CreatedAt      time.Time            `json:"created_at"`
	ClosedAt       *time.Time           `json:"closed_at"`
	EmittedEventID *string              `json:"emitted_event_id"`
	WorkflowID     string               `json:"workflow_id"`
}

// postBatch stores a batch and wakes its workflow, which may already be
// running with completions that came first. The event is checked now,
// as POST /v1/events would check it, so a batch never waits a week to
// emit an event that cannot be sent. A repeated POST of the same batch
// answers it (and wakes its workflow again, in case that failed before);
// a different batch under the same ID is a conflict.
func (s *Server) postBatch(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	var req batchRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := validID("id", req.ID); err != nil {
		return err
	}
	if req.ExpectedJobs < 1 || req.ExpectedJobs > maxBatchJobs {
		return invalidField("expected_jobs", "expected_jobs must be 1 to %d", maxBatchJobs)
	}
	expiry := contract.DefaultBatchExpiry
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d < minBatchExpiry || d > maxBatchExpiry {
			return invalidField("expires_in", "expires_in is a duration from 1s to 2160h (90 days), such as 72h")
		}
		expiry = d
	}
	if req.Event == nil {
		return invalidField("event", "a batch needs the event it emits when its jobs are done: {type, recipients, data}")
	}
	ev := *req.Event
	if err := s.intake.Check(ctx, tenant.ID, intake.Request{Type: ev.Type, Recipients: ev.Recipients,
		Data: emitter.BatchData(ev, req.ID, req.ExpectedJobs), Urgent: ev.Urgent, Link: ev.Link}); err != nil {
		return fromIntake(err)
	}
	canonical, _ := json.Marshal(req)
	hash := sha256.Sum256(canonical)
	evJSON, _ := json.Marshal(ev)
	q := dbq.New(s.pool)
	b, err := q.InsertBatch(ctx, dbq.InsertBatchParams{TenantID: tenant.ID, ID: req.ID, RequestHash: hash[:],
		ExpectedJobs: int32(req.ExpectedJobs), Event: evJSON, ExpiresAt: time.Now().Add(expiry)})
	status := http.StatusCreated
	if isNoRows(err) {
		if b, err = q.GetBatch(ctx, dbq.GetBatchParams{TenantID: tenant.ID, ID: req.ID}); err != nil {
			return err
		}
		if string(b.RequestHash) != string(hash[:]) {
			return newError(http.StatusConflict, "batch_conflict", "batch %s exists with a different definition", req.ID).with("id", req.ID)
		}
		status = http.StatusOK
	} else if err != nil {
		return fmt.Errorf("storing batch %s: %w", req.ID, err)
	}
	if b.Status == contract.BatchOpen {
		if err := s.wakeBatch(ctx, tenant.ID, req.ID, contract.SignalBatchDefined); err != nil {
			return err
		}
	}
	view, err := s.batchView(ctx, b)
	if err != nil {
		return err
	}
	return c.JSON(status, view)
}

// wakeBatch signals a batch's workflow, starting it if no run is open. A
// batch's runs may follow one another (a run started by early completions
// that gave up before the batch was posted), so the ID may be reused; the
// stored batch says when it is closed for good, and a run that starts on a
// closed batch ends at once. The wake is owed before it is made: one that
// Temporal does not take now is made by a worker's reconciler, so the
// request is answered as accepted either way. Only a failure to record it
// is an error.
func (s *Server) wakeBatch(ctx context.Context, tenantID uuid.UUID, batchID, signal string) error {
	owed, err := intake.Owe(ctx, dbq.New(s.pool), intake.Start{TenantID: tenantID, WorkflowID: contract.BatchWorkflowID(tenantID, batchID),
		WorkflowType: contract.BatchWorkflowName, Input: contract.BatchInput{TenantID: tenantID, BatchID: batchID},
		Signal: signal, Reuse: true})
	if err != nil {
		return err
	}
	_ = s.intake.Make(ctx, owed)
	return nil
}

// completeJob records one job of a batch as done, once however often it is
// sent, and wakes the batch's workflow. A completion may come before its
// batch is posted: it is stored and counted when the batch is.
func (s *Server) completeJob(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	batchID, job := c.Param("id"), c.Param("job")
	if err := validID("id", batchID); err != nil {
		return err
	}
	if err := validID("job", job); err != nil {
		return err
	}
	q := dbq.New(s.pool)
	_, err := q.CompleteJob(ctx, dbq.CompleteJobParams{TenantID: tenant.ID, BatchID: batchID, Job: job})
	duplicate := isNoRows(err)
	if err != nil && !duplicate {
		return fmt.Errorf("recording job %s of batch %s: %w", job, batchID, err)
	}
	out := map[string]any{"batch_id": batchID, "job": job, "duplicate": duplicate}
	b, err := q.GetBatch(ctx, dbq.GetBatchParams{TenantID: tenant.ID, ID: batchID})
	switch {
	case isNoRows(err):
		out["status"] = contract.BatchAwaiting
	case err != nil:
		return err
	default:
		view, err := s.batchView(ctx, b)
		if err != nil {
			return err
		}
		out["status"], out["completed_jobs"], out["expected_jobs"] = view.Status, view.CompletedJobs, view.ExpectedJobs
	}
	if out["status"] == contract.BatchOpen || out["status"] == contract.BatchAwaiting {
		if err := s.wakeBatch(ctx, tenant.ID, batchID, contract.SignalBatchJob); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) getBatch(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	b, err := dbq.New(s.pool).GetBatch(ctx, dbq.GetBatchParams{TenantID: tenant.ID, ID: c.Param("id")})
	if isNoRows(err) {
		return notFound("batch")
	}
	if err != nil {
		return err
	}
	view, err := s.batchView(ctx, b)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view)
}

func (s *Server) batchView(ctx context.Context, b dbq.Batch) (batchView, error) {
	n, err := dbq.New(s.pool).CountBatchJobs(ctx, dbq.CountBatchJobsParams{TenantID: b.TenantID, BatchID: b.ID})
	if err != nil {
		return batchView{}, err
	}
	v := batchView{ID: b.ID, Status: b.Status, ExpectedJobs: int(b.ExpectedJobs), CompletedJobs: int(n),
		ExpiresAt: b.ExpiresAt, CreatedAt: b.CreatedAt, ClosedAt: b.ClosedAt, WorkflowID: contract.BatchWorkflowID(b.TenantID, b.ID)}
	if err := json.Unmarshal(b.Event, &v.Event); err != nil {
		return v, fmt.Errorf("batch %s's event: %w", b.ID, err)
	}
	if b.EmittedEventID.Valid {
		id := b.EmittedEventID.UUID.String()
		v.EmittedEventID = &id
	}
	return v, nil
}
