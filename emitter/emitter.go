// Package emitter holds the activities through which Herald emits events on
// its own behalf: rule firings, batches, experiments and approvals. Each
// goes through intake, the path a posted event takes, with an idempotency
// key derived from what it is emitted for, so a retried activity submits
// the same event and nobody is told twice.
package emitter

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/intake"
)

// Activities are the emitter's activities; the worker registers them.
type Activities struct {
	Pool   *pgxpool.Pool
	Intake *intake.Service
	// Approvals holds what the approval activities need beyond these.
	Approvals ApprovalDeps
	// Now is the clock rules' cooldowns are judged by; nil is the
	// database's, which every worker shares. Tests set it to move past a
	// 24-hour cooldown without waiting.
	Now func() time.Time
}

// SubmitEvent submits an event a workflow emits. A refusal (an unknown
// type, a recipient deleted since) is final: it fails without retries.
func (a *Activities) SubmitEvent(ctx context.Context, req contract.EmitRequest) (contract.Emitted, error) {
	var rec *intake.Recipients
	if len(req.Users) > 0 || len(req.Roles) > 0 {
		rec = &intake.Recipients{Users: req.Users, Roles: req.Roles}
	}
	acc, err := a.Intake.Submit(ctx, req.TenantID, intake.Request{
		Type: req.Type, Recipients: rec, Data: req.Data, IdempotencyKey: req.IdempotencyKey,
		Urgent: req.Urgent, Link: req.Link, Source: req.Source, Herald: req.Herald,
	})
	if err != nil {
		return contract.Emitted{}, refusal(err)
	}
	return contract.Emitted{EventID: acc.EventID, WorkflowID: acc.WorkflowID, Duplicate: acc.Duplicate}, nil
}

// refusal makes intake's refusals final; anything else is retried.
func refusal(err error) error {
	var ie *intake.Error
	if errors.As(err, &ie) {
		return temporal.NewNonRetryableApplicationError(ie.Code+": "+ie.Message, contract.ErrTypeEmitRefused, nil)
	}
	return err
}
