// Package personal describes links that belong to one person: an
// approver's link, which decides an approval. Such a link is a credential,
// so it is never stored and never sent where others read (a Slack channel,
// the tenant webhook). An event carries a Link, which says whose link it
// is and what it opens; each send to that person's own email, Slack DM or
// in-app item mints the token at that moment, under HERALD_SIGNING_KEY.
// The event's own link (events.link) stays the one anyone may see.
package personal

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/seal"
)

// KindApproval is an approver's link to one approval: PUBLIC_URL/a/<token>.
const KindApproval = "approval"

// Link describes one person's link without carrying it.
type Link struct {
	Kind       string `json:"kind"`
	ApprovalID string `json:"approval_id"`
	// Approver is whose link it is: the event's one recipient. Nobody else
	// gets it, whatever the event reaches.
	Approver string `json:"approver"`
	// Expires is when the approval expires if nobody decides; the token
	// expires with it.
	Expires time.Time `json:"expires"`
}

// Limits of a description; intake refuses longer ones.
const maxID = 255

// Validate reports what is wrong with l, if anything.
func (l *Link) Validate() error {
	switch {
	case l.Kind != KindApproval:
		return fmt.Errorf("unknown personal link kind %q", l.Kind)
	case l.ApprovalID == "" || len(l.ApprovalID) > maxID:
		return errors.New("a personal link needs an approval_id of at most 255 bytes")
	case l.Approver == "" || len(l.Approver) > maxID:
		return errors.New("a personal link needs its approver")
	case l.Expires.IsZero():
		return errors.New("a personal link needs its expiry")
	}
	return nil
}

// Parse reads a stored description; NULL or empty is none.
func Parse(raw []byte) (*Link, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	l := new(Link)
	if err := json.Unmarshal(raw, l); err != nil {
		return nil, fmt.Errorf("reading a personal link: %w", err)
	}
	return l, nil
}

// Encode is the stored form of l (nil for none).
func Encode(l *Link) []byte {
	if l == nil {
		return nil
	}
	b, _ := json.Marshal(l) // plain strings and a time: cannot fail
	return b
}

// Minter mints personal links at the moment they are sent or served.
type Minter struct {
	// Seal seals the tokens; without it nothing is minted.
	Seal *seal.Sealer
	// PublicURL is the base of the links.
	PublicURL string
}

// For returns user's own link described by l, in tenant; "" when l is
// nil, describes someone else's link, or cannot be minted here. Tokens are
// deterministic, so every channel and every retry gives the same link.
func (m Minter) For(tenant uuid.UUID, l *Link, user string) string {
	if l == nil || m.Seal == nil || user == "" || user != l.Approver || l.Kind != KindApproval {
		return ""
	}
	tok := m.Seal.SealApproval(seal.Approval{TenantID: tenant, ApprovalID: l.ApprovalID, Approver: user, Expires: l.Expires})
	return strings.TrimRight(m.PublicURL, "/") + "/a/" + tok
}
