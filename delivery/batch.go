package delivery

import (
	"github.com/google/uuid"

	"github.com/heraldhq/herald/channel"
)

// Batch is one channel's pending deliveries of a page.
type Batch struct {
	Channel     channel.Channel `json:"channel"`
	DeliveryIDs []uuid.UUID     `json:"delivery_ids"`
}
