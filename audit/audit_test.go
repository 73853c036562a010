package audit

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func chain(n int) []Row {
	tenant := uuid.New()
	prev := Genesis
	var rows []Row
	for i := 1; i <= n; i++ {
		r := Row{ID: int64(100 + i), TenantID: tenant, Seq: int64(i), DeliveryID: uuid.New(), EventID: uuid.New(),
			Recipient: "u1", Channel: "email", Status: "delivered", ContentHash: []byte{1, 2, 3},
			At: time.Date(2026, 11, 23, 10, 0, i, 123456000, time.UTC), PrevHash: prev}
		r.Hash = Hash(prev, r)
		prev = r.Hash
		rows = append(rows, r)
	}
	return rows
}

func verify(rows []Row, headSeq int64, head []byte) *Broken {
	v := NewVerifier()
	for _, r := range rows {
		if b := v.Check(r); b != nil {
			return b
		}
	}
	return v.Finish(headSeq, head)
}

func TestVerifier(t *testing.T) {
	rows := chain(5)
	last := rows[4]
	if b := verify(rows, 5, last.Hash); b != nil {
		t.Fatalf("an intact chain: %+v", b)
	}
	tampered := chain(5)
	tampered[2].Status = "failed"
	if b := verify(tampered, 5, tampered[4].Hash); b == nil || b.ID != tampered[2].ID || !strings.Contains(b.Problem, "changed") {
		t.Errorf("a changed row: %+v, want row %d reported as changed", b, tampered[2].ID)
	}
	gone := append(append([]Row{}, rows[:2]...), rows[3:]...)
	if b := verify(gone, 5, last.Hash); b == nil || b.ID != rows[3].ID || !strings.Contains(b.Problem, "missing") {
		t.Errorf("a deleted row: %+v, want the row after it reported", b)
	}
	if b := verify(rows[:4], 5, last.Hash); b == nil || !strings.Contains(b.Problem, "end") {
		t.Errorf("the last row deleted: %+v, want the head to disagree", b)
	}
	rehashed := chain(5)
	rehashed[2].Reason = "x"
	rehashed[2].Hash = Hash(rehashed[2].PrevHash, rehashed[2]) // a forger recomputing one row's hash
	if b := verify(rehashed, 5, rehashed[4].Hash); b == nil || b.ID != rehashed[3].ID {
		t.Errorf("a row rehashed in place: %+v, want the next row to report the break", b)
	}
}

func TestCanonicalIsUnambiguous(t *testing.T) {
	a, b := chain(1)[0], chain(1)[0]
	b.TenantID, b.DeliveryID, b.EventID, b.At = a.TenantID, a.DeliveryID, a.EventID, a.At
	a.Recipient, a.Channel = "ab", "c"
	b.Recipient, b.Channel = "a", "bc"
	if string(Canonical(a)) == string(Canonical(b)) {
		t.Error("moving a character between fields keeps the encoding")
	}
}
