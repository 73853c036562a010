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

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/delivery"
)

// Row is one audit row as stored.
type Row struct {
	ID          int64
	TenantID    uuid.UUID
	Seq         int64
	DeliveryID  uuid.UUID
	EventID     uuid.UUID
	Recipient   string
	Channel     channel.Channel
	Status      delivery.Status
	Reason      delivery.Reason
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
		r.Recipient, string(r.Channel), string(r.Status), string(r.Reason), hex.EncodeToString(r.ContentHash),
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

// Verifier checks one tenant's rows, fed in sequence order, and the
// checkpoints the chain must agree with.
type Verifier struct {
	prev []byte
	seq  int64
	// Rows counts the rows checked.
	Rows int64
	// Checkpoints counts the checkpoints the chain agreed with.
	Checkpoints int64
	// expect holds the checkpoints not reached yet, by sequence.
	expect map[int64][]expectation
}

// expectation is a checkpoint the chain must agree with; forged marks one
// that claims this process's key but whose signature does not hold.
type expectation struct {
	cp     Checkpoint
	what   string
	forged bool
}

// NewVerifier starts at the chain's beginning.
func NewVerifier() *Verifier { return &Verifier{prev: Genesis, expect: map[int64][]expectation{}} }

// ResumeVerifier starts after a checkpoint already verified: the next row
// must follow seq and chain on hash.
func ResumeVerifier(seq int64, hash []byte) *Verifier {
	return &Verifier{prev: hash, seq: seq, expect: map[int64][]expectation{}}
}

// Expect makes the row at c.Seq agree with c, which what names in a report
// ("the checkpoint given", "a stored checkpoint"). forged says c claims the
// current key but its signature does not hold: reported when its row is
// reached, so the first break in the chain's order is the one reported.
func (v *Verifier) Expect(c Checkpoint, what string, forged bool) {
	v.expect[c.Seq] = append(v.expect[c.Seq], expectation{cp: c, what: what, forged: forged})
}

// End is the last row checked: its sequence and hash.
func (v *Verifier) End() (int64, []byte) { return v.seq, v.prev }

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
	for _, e := range v.expect[r.Seq] {
		switch {
		case e.forged:
			return broken(forgedProblem(e))
		case !bytes.Equal(r.Hash, e.cp.Hash):
			return broken(fmt.Sprintf("its hash is not the one %s signed at %s holds: the chain was rewritten at or before this row",
				e.what, e.cp.At.UTC().Format(time.RFC3339)))
		}
		v.Checkpoints++
	}
	delete(v.expect, r.Seq)
	v.prev, v.seq = r.Hash, r.Seq
	return nil
}

func forgedProblem(e expectation) string {
	return fmt.Sprintf("%s at seq %d is not signed with HERALD_SIGNING_KEY: it was forged or altered", e.what, e.cp.Seq)
}

// Finish compares the end of the chain with the tenant's head (the last row
// appended): rows removed from the end show only here, or, when the head
// was moved back with them, in a checkpoint past the end.
func (v *Verifier) Finish(headSeq int64, headHash []byte) *Broken {
	if headSeq != v.seq || !bytes.Equal(headHash, v.prev) {
		return &Broken{Seq: v.seq + 1, Problem: fmt.Sprintf("the chain ends at %d but %d rows were appended: rows at its end are missing", v.seq, headSeq)}
	}
	return v.past()
}

// past reports the first checkpoint past the chain's end.
func (v *Verifier) past() *Broken {
	var first *expectation
	for _, es := range v.expect {
		for i := range es {
			if first == nil || es[i].cp.Seq < first.cp.Seq {
				first = &es[i]
			}
		}
	}
	switch {
	case first == nil:
		return nil
	case first.forged:
		return &Broken{Seq: first.cp.Seq, Problem: forgedProblem(*first)}
	}
	return &Broken{Seq: v.seq + 1, Problem: fmt.Sprintf("the chain ends at %d but %s signed at %s has %d rows: rows at its end were removed",
		v.seq, first.what, first.cp.At.UTC().Format(time.RFC3339), first.cp.Seq)}
}
