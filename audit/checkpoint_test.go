package audit

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

const testKey = "test-signing-key-0123456789abcdef0123456789"

func TestCheckpointSignatures(t *testing.T) {
	s := NewSigner(testKey)
	rows := chain(3)
	at := time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC)
	cp := s.Sign(rows[2].TenantID, 3, rows[2].Hash, at)
	if !s.Valid(cp) {
		t.Fatal("a fresh checkpoint does not verify")
	}
	if !cp.At.Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("at = %v, want the database's precision", cp.At)
	}
	// Through JSON, as a client keeps it, and back.
	raw, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseCheckpoint(raw)
	if err != nil || !s.Valid(back) {
		t.Fatalf("a checkpoint read back from %s: %v, valid %v", raw, err, s.Valid(back))
	}
	for name, change := range map[string]func(*Checkpoint){
		"seq":    func(c *Checkpoint) { c.Seq++ },
		"hash":   func(c *Checkpoint) { c.Hash = append(Hex(nil), rows[1].Hash...) },
		"tenant": func(c *Checkpoint) { c.TenantID = uuid.New() },
		"time":   func(c *Checkpoint) { c.At = c.At.Add(time.Microsecond) },
		"signature": func(c *Checkpoint) {
			c.Signature = append(Hex(nil), c.Signature...)
			c.Signature[0] ^= 1
		},
	} {
		c := back
		change(&c)
		if s.Valid(c) {
			t.Errorf("a checkpoint with its %s changed still verifies", name)
		}
	}
	other := NewSigner(testKey + "-rotated")
	if other.Valid(cp) || other.Mine(cp) || string(other.KeyID()) == string(s.KeyID()) {
		t.Error("another key accepts the checkpoint or shares its key ID")
	}
	// Key IDs do not reveal the key: they are not a prefix of the derived
	// key, nor of the signing key.
	if strings.Contains(testKey, string(s.KeyID())) {
		t.Error("the key ID is part of the key")
	}
}

func TestParseCheckpointRefusesMalformed(t *testing.T) {
	s := NewSigner(testKey)
	good, _ := json.Marshal(s.Sign(uuid.New(), 7, chain(1)[0].Hash, time.Now()))
	var fields map[string]any
	_ = json.Unmarshal(good, &fields)
	with := func(k string, v any) string {
		m := map[string]any{}
		for k2, v2 := range fields {
			m[k2] = v2
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	for name, raw := range map[string]string{
		"empty":          "",
		"not JSON":       "checkpoint",
		"an array":       "[" + string(good) + "]",
		"two values":     string(good) + string(good),
		"null":           "null",
		"unknown field":  with("extra", 1),
		"no tenant":      with("tenant_id", nil),
		"seq 0":          with("seq", 0),
		"short hash":     with("hash", "abcd"),
		"hash not hex":   with("hash", strings.Repeat("zz", 32)),
		"no time":        with("at", nil),
		"short key id":   with("key_id", "ab"),
		"no signature":   with("signature", nil),
		"over the bound": string(good) + strings.Repeat(" ", MaxCheckpointJSON),
	} {
		if _, err := ParseCheckpoint([]byte(raw)); err == nil {
			t.Errorf("%s: parsed %s", name, raw)
		}
	}
}

func TestVerifierAgainstCheckpoints(t *testing.T) {
	s := NewSigner(testKey)
	rows := chain(6)
	at := time.Now()
	run := func(rows []Row, headSeq int64, head []byte, cps ...Checkpoint) (*Broken, int64) {
		v := NewVerifier()
		for _, c := range cps {
			v.Expect(c, "the checkpoint given", !s.Valid(c))
		}
		for _, r := range rows {
			if b := v.Check(r); b != nil {
				return b, v.Checkpoints
			}
		}
		return v.Finish(headSeq, head), v.Checkpoints
	}
	cp4 := s.Sign(rows[0].TenantID, 4, rows[3].Hash, at)
	cp6 := s.Sign(rows[0].TenantID, 6, rows[5].Hash, at)
	if b, n := run(rows, 6, rows[5].Hash, cp4, cp6); b != nil || n != 2 {
		t.Fatalf("an intact chain: %+v, %d checkpoints agreed, want 2", b, n)
	}

	// The owner rewrites from row 3 on and moves the head with it: the
	// chain is consistent, and only the checkpoints tell.
	forged := chain(6)
	prev := Genesis
	for i := range forged {
		forged[i].TenantID, forged[i].DeliveryID, forged[i].EventID, forged[i].At = rows[i].TenantID, rows[i].DeliveryID, rows[i].EventID, rows[i].At
		if i == 2 {
			forged[i].Status = "failed"
		}
		forged[i].PrevHash = prev
		forged[i].Hash = Hash(prev, forged[i])
		prev = forged[i].Hash
	}
	if b, _ := run(forged[:2], 2, forged[1].Hash); b != nil {
		t.Fatalf("the first two rows should be the original's: %+v", b)
	}
	if b, _ := run(forged, 6, forged[5].Hash); b != nil {
		t.Fatalf("a consistent rewrite without checkpoints: %+v (the test's forgery is wrong)", b)
	}
	if b, _ := run(forged, 6, forged[5].Hash, cp4); b == nil || b.Seq != 4 || !strings.Contains(b.Problem, "rewritten") {
		t.Errorf("a rewrite against the checkpoint at 4: %+v, want row 4 reported rewritten", b)
	}
	if b, _ := run(forged, 6, forged[5].Hash, cp6); b == nil || b.Seq != 6 {
		t.Errorf("a rewrite against the checkpoint at 6: %+v, want row 6 reported", b)
	}

	// Rows removed from the end with the head moved back.
	if b, _ := run(rows[:4], 4, rows[3].Hash, cp6); b == nil || !strings.Contains(b.Problem, "removed") {
		t.Errorf("a chain rolled back past a checkpoint: %+v, want removed rows reported", b)
	}

	// A checkpoint claiming the key without its signature is a forgery,
	// reported where its row is, or past the end.
	bad := cp4
	bad.Signature = make(Hex, len(cp4.Signature))
	if b, _ := run(rows, 6, rows[5].Hash, bad); b == nil || b.Seq != 4 || !strings.Contains(b.Problem, "forged") {
		t.Errorf("a forged checkpoint: %+v", b)
	}
	if b, _ := run(rows[:2], 2, rows[1].Hash, bad); b == nil || b.Seq != 4 || !strings.Contains(b.Problem, "forged") {
		t.Errorf("a forged checkpoint past the end: %+v", b)
	}

	// Resuming at a checkpoint reads only what follows it.
	v := ResumeVerifier(4, rows[3].Hash)
	v.Expect(cp6, "a stored checkpoint", false)
	for _, r := range rows[4:] {
		if b := v.Check(r); b != nil {
			t.Fatalf("resumed: %+v", b)
		}
	}
	if b := v.Finish(6, rows[5].Hash); b != nil || v.Rows != 2 || v.Checkpoints != 1 {
		t.Errorf("resumed at 4: %+v after %d rows and %d checkpoints, want ok after 2 and 1", b, v.Rows, v.Checkpoints)
	}
	if b := ResumeVerifier(4, rows[3].Hash).Check(forged[4]); b == nil {
		t.Error("resumed at 4, a row chained on a rewritten row 4 passed")
	}
}
