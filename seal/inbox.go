package seal

import (
	"encoding/binary"
	"time"

	"github.com/google/uuid"
)

const purposeInbox = "inbox"

// Inbox is what an inbox token stands for: one user's inbox in one tenant,
// until it expires. Browsers hold it (the inbox page, EventSource), so it
// is short-lived and opens nothing but that inbox.
type Inbox struct {
	TenantID uuid.UUID
	UserID   string
	Expires  time.Time
}

// SealInbox returns an inbox token.
func (s *Sealer) SealInbox(in Inbox) string {
	b := append([]byte(nil), in.TenantID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(in.Expires.Unix()))
	b = append(b, in.UserID...)
	return s.Seal(purposeInbox, b)
}

// OpenInbox reads an inbox token; an expired one is ErrInvalid too.
func (s *Sealer) OpenInbox(token string, now time.Time) (Inbox, error) {
	b, err := s.Open(purposeInbox, token)
	if err != nil || len(b) < 16+8+1 {
		return Inbox{}, ErrInvalid
	}
	var in Inbox
	copy(in.TenantID[:], b[:16])
	in.Expires = time.Unix(int64(binary.BigEndian.Uint64(b[16:24])), 0)
	in.UserID = string(b[24:])
	if !now.Before(in.Expires) {
		return Inbox{}, ErrInvalid
	}
	return in, nil
}
