package activities

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
)

// RequeueInput names the failed deliveries of an event to send again; no
// IDs means all of them.
type RequeueInput struct {
	EventID uuid.UUID   `json:"event_id"`
	IDs     []uuid.UUID `json:"ids,omitempty"`
}

// RequeueResult is what was made pending again, per channel.
type RequeueResult struct {
	Batches []delivery.Batch `json:"batches,omitempty"`
}

// RequeueFailed makes failed deliveries pending again for a retry.
func (a *Activities) RequeueFailed(ctx context.Context, in RequeueInput) (RequeueResult, error) {
	ids := in.IDs
	if ids == nil {
		ids = []uuid.UUID{}
	}
	rows, err := a.q().RequeueFailed(ctx, dbq.RequeueFailedParams{EventID: in.EventID, Ids: ids})
	if err != nil {
		return RequeueResult{}, fmt.Errorf("requeueing failed deliveries: %w", err)
	}
	byChannel := map[channel.Channel][]uuid.UUID{}
	for _, r := range rows {
		byChannel[r.Channel] = append(byChannel[r.Channel], r.ID)
	}
	var res RequeueResult
	for _, ch := range channel.All { // channel order: the workflow replays it
		if ids := byChannel[ch]; len(ids) > 0 {
			res.Batches = append(res.Batches, delivery.Batch{Channel: ch, DeliveryIDs: ids})
		}
	}
	return res, nil
}

// Tally counts an event's deliveries by outcome.
type Tally struct {
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	Skipped   int `json:"skipped"`
	Pending   int `json:"pending"`
}

// TallyEvent counts an event's deliveries by outcome, from the rows.
func (a *Activities) TallyEvent(ctx context.Context, eventID uuid.UUID) (Tally, error) {
	t, err := a.q().TallyEvent(ctx, eventID)
	if err != nil {
		return Tally{}, fmt.Errorf("tallying event %s: %w", eventID, err)
	}
	return Tally{Delivered: int(t.Delivered), Failed: int(t.Failed), Skipped: int(t.Skipped), Pending: int(t.Pending)}, nil
}
