package seal

import (
	"encoding/binary"
	"time"

	"github.com/google/uuid"
)

// Inbox tokens come in two kinds: bound to one user's creation (what the
// API issues), and unbound (sealed before binding existed, and by tools).
const (
	purposeInbox     = "inbox"
	purposeInboxUser = "inbox/user"
)

// Inbox is what an inbox token stands for: one user's inbox in one tenant,
// until it expires. Browsers hold it (the inbox page, EventSource), so it
// is short-lived and opens nothing but that inbox.
type Inbox struct {
	TenantID uuid.UUID
	UserID   string
	Expires  time.Time
	// UserCreated is when the user was created, to the microsecond: the
	// token opens that user's inbox only, not the inbox of a user created
	// with the same ID after they were deleted. Zero: any user with the ID.
	UserCreated time.Time
}

// Bound reports whether the token names the user's creation.
func (in Inbox) Bound() bool { return !in.UserCreated.IsZero() }

// SealInbox returns an inbox token.
func (s *Sealer) SealInbox(in Inbox) string {
	b := append([]byte(nil), in.TenantID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(in.Expires.Unix()))
	if !in.Bound() {
		return s.Seal(purposeInbox, append(b, in.UserID...))
	}
	b = binary.BigEndian.AppendUint64(b, uint64(in.UserCreated.UnixMicro()))
	return s.Seal(purposeInboxUser, append(b, in.UserID...))
}

// OpenInbox reads an inbox token; an expired one is ErrInvalid too.
func (s *Sealer) OpenInbox(token string, now time.Time) (Inbox, error) {
	var in Inbox
	b, err := s.Open(purposeInboxUser, token)
	if err == nil {
		if len(b) < 16+8+8+1 {
			return Inbox{}, ErrInvalid
		}
		in.UserCreated = time.UnixMicro(int64(binary.BigEndian.Uint64(b[24:32])))
		b = append(b[:24:24], b[32:]...)
	} else if b, err = s.Open(purposeInbox, token); err != nil {
		return Inbox{}, ErrInvalid
	}
	if len(b) < 16+8+1 {
		return Inbox{}, ErrInvalid
	}
	copy(in.TenantID[:], b[:16])
	in.Expires = time.Unix(int64(binary.BigEndian.Uint64(b[16:24])), 0)
	in.UserID = string(b[24:])
	if !now.Before(in.Expires) {
		return Inbox{}, ErrInvalid
	}
	return in, nil
}
