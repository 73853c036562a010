package seal

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/google/uuid"
)

const purposeApproval = "approval"

// ErrExpired is an approval token past its approval's end.
var ErrExpired = errors.New("the link has expired")

// Approval is what an approver's link stands for: one approver of one
// approval, until the approval expires.
type Approval struct {
	TenantID   uuid.UUID
	ApprovalID string
	Approver   string
	Expires    time.Time
}

// SealFixed seals payload for purpose with a nonce derived from both, so
// the same payload always makes the same token. It reveals that two tokens
// are equal, nothing more; it is for values that must come out the same on
// every retry (a link inside an event whose body is hashed for
// idempotency).
func (s *Sealer) SealFixed(purpose string, payload []byte) string {
	m := hmac.New(sha256.New, s.nonces)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(payload)
	nonce := m.Sum(nil)[:s.aead.NonceSize()]
	out := append([]byte{version}, nonce...)
	out = s.aead.Seal(out, nonce, payload, []byte(purpose))
	return base64.RawURLEncoding.EncodeToString(out)
}

// SealApproval returns an approver's token. The same approver of the same
// approval always gets the same token, so an activity that mints it and is
// retried emits the same link.
func (s *Sealer) SealApproval(a Approval) string {
	b := append([]byte(nil), a.TenantID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(a.Expires.Unix()))
	b = binary.AppendUvarint(b, uint64(len(a.ApprovalID)))
	b = append(b, a.ApprovalID...)
	b = append(b, a.Approver...)
	return s.SealFixed(purposeApproval, b)
}

// OpenApproval reads an approver's token. A token past its expiry is
// returned with ErrExpired, so the page can still say what it was for;
// anything else wrong is ErrInvalid.
func (s *Sealer) OpenApproval(token string, now time.Time) (Approval, error) {
	b, err := s.Open(purposeApproval, token)
	if err != nil {
		return Approval{}, err
	}
	if len(b) < 24 {
		return Approval{}, ErrInvalid
	}
	var a Approval
	copy(a.TenantID[:], b[:16])
	a.Expires = time.Unix(int64(binary.BigEndian.Uint64(b[16:24])), 0)
	n, k := binary.Uvarint(b[24:])
	rest := b[24+max(k, 0):]
	if k <= 0 || n > uint64(len(rest)) {
		return Approval{}, ErrInvalid
	}
	a.ApprovalID, a.Approver = string(rest[:n]), string(rest[n:])
	if !now.Before(a.Expires) {
		return a, ErrExpired
	}
	return a, nil
}
