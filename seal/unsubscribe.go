package seal

import (
	"encoding/binary"
	"strings"

	"github.com/google/uuid"
)

const purposeUnsubscribe = "unsubscribe"

// Unsubscribe is what a one-click unsubscribe link stands for: one user's
// email of one category (or, from a digest, of several), in one tenant.
type Unsubscribe struct {
	TenantID uuid.UUID
	UserID   string
	// Category is one category, or a digest's categories joined by commas
	// (category names never hold one).
	Category string
}

// Categories are the categories the link stops.
func (u Unsubscribe) Categories() []string { return strings.Split(u.Category, ",") }

// SealUnsubscribe returns the token of an unsubscribe link. It does not
// expire: a link in an old email must still work.
func (s *Sealer) SealUnsubscribe(u Unsubscribe) string {
	b := append([]byte(nil), u.TenantID[:]...)
	b = binary.AppendUvarint(b, uint64(len(u.UserID)))
	b = append(b, u.UserID...)
	b = append(b, u.Category...)
	return s.Seal(purposeUnsubscribe, b)
}

// OpenUnsubscribe reads an unsubscribe token.
func (s *Sealer) OpenUnsubscribe(token string) (Unsubscribe, error) {
	b, err := s.Open(purposeUnsubscribe, token)
	if err != nil {
		return Unsubscribe{}, err
	}
	if len(b) < 16 {
		return Unsubscribe{}, ErrInvalid
	}
	var u Unsubscribe
	copy(u.TenantID[:], b[:16])
	n, k := binary.Uvarint(b[16:])
	rest := b[16+max(k, 0):]
	if k <= 0 || n > uint64(len(rest)) {
		return Unsubscribe{}, ErrInvalid
	}
	u.UserID, u.Category = string(rest[:n]), string(rest[n:])
	return u, nil
}
