package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/channel"
)

// This file keeps the activity of NotifyEvent runs started before channel
// batches (workflows/notify_v1.go, runV1), so they finish on new workers:
// their histories schedule SendEmails by name. New runs never call it.
//
// It, runV1 and the v1 replay fixtures can go once no such run is open:
// when, on every namespace Herald serves,
//
//	temporal workflow count --query 'WorkflowType="NotifyEvent" AND ExecutionStatus="Running" AND StartTime < "<deploy time of the first release with channel batches>"'
//
// answers 0. A run waits at most RetryWindow (7 days) after its last
// failure, so a fleet on channel batches for longer than that has none.

// SendInput names the email deliveries of one page (runs before batches).
type SendInput struct {
	TenantID    uuid.UUID   `json:"tenant_id"`
	EventID     uuid.UUID   `json:"event_id"`
	DeliveryIDs []uuid.UUID `json:"delivery_ids"`
}

// SendResult tallies a batch (runs before batches).
type SendResult struct {
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	Skipped   int `json:"skipped"`
}

// SendEmails delivers an email batch through Deliver. Those old runs cannot
// take unrecorded deliveries back, so it records them itself before answering.
func (a *Activities) SendEmails(ctx context.Context, in SendInput) (SendResult, error) {
	res, err := a.Deliver(ctx, DeliverInput{TenantID: in.TenantID, EventID: in.EventID, Channel: channel.Email, DeliveryIDs: in.DeliveryIDs})
	if err != nil {
		return SendResult{}, err
	}
	for len(res.Unrecorded) > 0 {
		if err := a.MarkAccepted(ctx, res.Unrecorded); err == nil {
			res.Delivered += len(res.Unrecorded)
			res.Unrecorded = nil
			break
		}
		activity.RecordHeartbeat(ctx)
		select {
		case <-ctx.Done():
			return SendResult{}, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	if len(res.Retry) > 0 {
		return SendResult{}, temporal.NewApplicationError(fmt.Sprintf("%d emails not accepted yet", len(res.Retry)), ErrTypeTemporary)
	}
	return SendResult{Delivered: res.Delivered, Failed: res.Failed, Skipped: res.Skipped}, nil
}
