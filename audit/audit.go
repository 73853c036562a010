// Package audit recomputes Herald's hash-chained audit trail. PostgreSQL
// appends the rows (see migration 011): each row's hash is SHA-256 over the
// previous row's hash and the row's canonical encoding, which this package
// reproduces byte for byte. It does no I/O: a Verifier takes a tenant's rows
// in sequence and reports the first that breaks the chain.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Row is one audit row as stored.
type Row struct {
	ID          int64
	TenantID    uuid.UUID
	Seq         int64
	DeliveryID  uuid.UUID
	EventID     uuid.UUID
	Recipient   string
	Channel     string
	Status      string
	Reason      string
	ContentHash []byte
	At          time.Time
	PrevHash    []byte
	Hash        []byte
}

// Genesis is the previous hash of a tenant's first row.
var Genesis = make([]byte, sha256.Size)

// Canonical is the row's unambiguous encoding: each field as a 4-byte
// big-endian length and its UTF-8 bytes, in a fixed order, the time in UTC
// with microseconds (PostgreSQL's precision).
func Canonical(r Row) []byte {
	var b bytes.Buffer
	for _, f := range []string{
		strconv.FormatInt(r.Seq, 10), r.TenantID.String(), r.DeliveryID.String(), r.EventID.String(),
		r.Recipient, r.Channel, r.Status, r.Reason, hex.EncodeToString(r.ContentHash),
		r.At.UTC().Format("2006-01-02T15:04:05.000000Z"),
	} {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(f)))
		b.WriteString(f)
	}
	return b.Bytes()
}

// Hash is the row's hash chained on prev.
func Hash(prev []byte, r Row) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(Canonical(r))
	return h.Sum(nil)
}

// Broken is the first row that breaks a chain, and how.
type Broken struct {
	ID         int64     `json:"id"`
	Seq        int64     `json:"seq"`
	DeliveryID uuid.UUID `json:"delivery_id"`
	Problem    string    `json:"problem"`
}

// Verifier checks one tenant's rows, fed in sequence order.
type Verifier struct {
	prev []byte
	seq  int64
	// Rows counts the rows checked.
	Rows int64
}

// NewVerifier starts at the chain's beginning.
func NewVerifier() *Verifier { return &Verifier{prev: Genesis} }

// Check takes the next row and reports it if it breaks the chain: a row
// whose content no longer matches its hash was changed; a row whose
// sequence skips, or whose previous hash is not the hash before it, sits
// where rows were removed or inserted.
func (v *Verifier) Check(r Row) *Broken {
	v.Rows++
	broken := func(problem string) *Broken {
		return &Broken{ID: r.ID, Seq: r.Seq, DeliveryID: r.DeliveryID, Problem: problem}
	}
	switch {
	case r.Seq != v.seq+1:
		return broken(fmt.Sprintf("sequence jumps from %d to %d: rows are missing", v.seq, r.Seq))
	case !bytes.Equal(r.PrevHash, v.prev):
		return broken("its previous hash is not the hash of the row before it: a row before it was removed, changed or inserted")
	case !bytes.Equal(r.Hash, Hash(r.PrevHash, r)):
		return broken("its content does not match its hash: the row was changed")
	}
	v.prev, v.seq = r.Hash, r.Seq
	return nil
}

// Finish compares the end of the chain with the tenant's head (the last row
// appended): rows removed from the end show only here.
func (v *Verifier) Finish(headSeq int64, headHash []byte) *Broken {
	if headSeq != v.seq || !bytes.Equal(headHash, v.prev) {
		return &Broken{Seq: v.seq + 1, Problem: fmt.Sprintf("the chain ends at %d but %d rows were appended: rows at its end are missing", v.seq, headSeq)}
	}
	return nil
}
