package activities

import (
	"encoding/json"
	"fmt"
)

// Recipients is an event's stored recipient specification.
type Recipients struct {
	Users       []string `json:"users,omitempty"`
	Roles       []string `json:"roles,omitempty"`
	Subscribers bool     `json:"subscribers,omitempty"` // everyone subscribed to the category
}

// ParseRecipients reads a stored specification.
func ParseRecipients(raw []byte) (Recipients, error) {
	var r Recipients
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("recipients: %w", err)
	}
	return r, nil
}
