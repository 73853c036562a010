package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// A Checkpoint says that a tenant's chain had Seq rows, the last hashing to
// Hash, at At, signed with an HMAC-SHA256 under a key derived from
// HERALD_SIGNING_KEY. Whoever can write the database can rewrite a chain
// and its head so that they agree, but cannot sign: a chain that no longer
// has Hash at Seq was rewritten, and one shorter than Seq lost rows.
// Clients keep checkpoints outside Herald and hand them back to verify.
type Checkpoint struct {
	TenantID uuid.UUID `json:"tenant_id"`
	Seq      int64     `json:"seq"`
	Hash     Hex       `json:"hash"`
	At       time.Time `json:"at"`
	// KeyID names the key that signed (a hash of it, not the key), so a
	// checkpoint from before HERALD_SIGNING_KEY was rotated is told apart
	// from a forged one.
	KeyID     Hex `json:"key_id"`
	Signature Hex `json:"signature"`
}

// Hex is bytes written as lowercase hex in JSON.
type Hex []byte

func (h Hex) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

func (h *Hex) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("want a hex string")
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return errors.New("want a hex string")
	}
	*h = v
	return nil
}

// The checkpoint key is derived from HERALD_SIGNING_KEY with its own label,
// so it is independent of every other use of that key.
const (
	checkpointKeyLabel = "herald audit checkpoints v1"
	keyIDLabel         = "herald audit checkpoint key id v1"
	// keyIDLen bytes of a hash tell keys apart without revealing them.
	keyIDLen = 8
)

// Signer signs and checks checkpoints under one key.
type Signer struct {
	key   []byte
	keyID []byte
}

// NewSigner derives the checkpoint key from the signing key.
func NewSigner(signingKey string) *Signer {
	m := hmac.New(sha256.New, []byte(signingKey))
	m.Write([]byte(checkpointKeyLabel))
	key := m.Sum(nil)
	id := hmac.New(sha256.New, key)
	id.Write([]byte(keyIDLabel))
	return &Signer{key: key, keyID: id.Sum(nil)[:keyIDLen]}
}

// KeyID is the ID checkpoints signed by s carry.
func (s *Signer) KeyID() []byte { return append([]byte(nil), s.keyID...) }

// Sign returns the checkpoint of a tenant's chain at (seq, hash), made at at.
func (s *Signer) Sign(tenant uuid.UUID, seq int64, hash []byte, at time.Time) Checkpoint {
	c := Checkpoint{TenantID: tenant, Seq: seq, Hash: append(Hex(nil), hash...), At: at.UTC().Truncate(time.Microsecond), KeyID: s.KeyID()}
	c.Signature = s.mac(c)
	return c
}

// Mine reports whether s's key signed c (by its key ID alone: Valid says
// whether the signature holds).
func (s *Signer) Mine(c Checkpoint) bool { return bytes.Equal(c.KeyID, s.keyID) }

// Valid reports whether c carries s's signature over its fields.
func (s *Signer) Valid(c Checkpoint) bool {
	return s.Mine(c) && hmac.Equal(c.Signature, s.mac(c))
}

func (s *Signer) mac(c Checkpoint) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(c.message())
	return m.Sum(nil)
}

// message is what a signature covers: the label, then each field
// length-prefixed, as Canonical encodes rows. The time has the database's
// precision, so a checkpoint read back from it still verifies.
func (c Checkpoint) message() []byte {
	var b bytes.Buffer
	for _, f := range []string{
		checkpointKeyLabel, c.TenantID.String(), strconv.FormatInt(c.Seq, 10), hex.EncodeToString(c.Hash),
		c.At.UTC().Format("2006-01-02T15:04:05.000000Z"),
	} {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(f)))
		b.WriteString(f)
	}
	return b.Bytes()
}

// MaxCheckpointJSON bounds a checkpoint handed in by a client: one is
// about 300 bytes.
const MaxCheckpointJSON = 1024

// ParseCheckpoint reads a checkpoint as Herald writes it, refusing unknown
// fields and anything but one object. It checks the form, not the
// signature.
func ParseCheckpoint(raw []byte) (Checkpoint, error) {
	var c Checkpoint
	if len(raw) > MaxCheckpointJSON {
		return c, fmt.Errorf("a checkpoint is at most %d bytes", MaxCheckpointJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("not a checkpoint: %w", err)
	}
	if dec.More() {
		return c, errors.New("not a checkpoint: more than one JSON value")
	}
	switch {
	case c.TenantID == uuid.Nil:
		return c, errors.New("the checkpoint has no tenant_id")
	case c.Seq < 1:
		return c, errors.New("the checkpoint's seq must be at least 1")
	case len(c.Hash) != sha256.Size:
		return c, errors.New("the checkpoint's hash must be 32 bytes of hex")
	case c.At.IsZero():
		return c, errors.New("the checkpoint has no time (at)")
	case len(c.KeyID) != keyIDLen:
		return c, fmt.Errorf("the checkpoint's key_id must be %d bytes of hex", keyIDLen)
	case len(c.Signature) != sha256.Size:
		return c, errors.New("the checkpoint's signature must be 32 bytes of hex")
	}
	return c, nil
}
