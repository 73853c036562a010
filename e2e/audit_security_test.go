package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heraldhq/herald/audit"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/internal/app"
	"github.com/heraldhq/herald/internal/dev/localstack"
)

// checkpointSigner is the test Heralds' checkpoint key.
var checkpointSigner = audit.NewSigner(localstack.TestSigningKey)

type verifyView struct {
	OK          bool            `json:"ok"`
	Rows        int64           `json:"rows"`
	From        int64           `json:"from"`
	Checkpoints int64           `json:"checkpoints"`
	Checkpoint  json.RawMessage `json:"checkpoint,omitempty"`
	Broken      *struct {
		ID      int64  `json:"id"`
		Seq     int64  `json:"seq"`
		Problem string `json:"problem"`
	} `json:"broken,omitempty"`
}

// verifyWith verifies the tenant's chain against a checkpoint it kept
// (none when cp is empty).
func (tn *tenant) verifyWith(cp json.RawMessage) verifyView {
	tn.t.Helper()
	path := "/v1/audit/verify"
	if len(cp) > 0 {
		path += "?checkpoint=" + url.QueryEscape(string(cp))
	}
	return decodeAs[verifyView](tn.t, tn.must(200, tn.do("GET", path, nil)))
}

// TestAuditVerifyHoldsWhileAppending: verifies running while deliveries
// reach outcomes (each appending a row in its own transaction) all find
// the chain intact, through the API and the command. Read outside one
// snapshot, an append landing between the rows and the head looked like
// rows removed from the end.
func TestAuditVerifyHoldsWhileAppending(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("w1", "w1@example.com")
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"w1"}}, "data": map[string]any{"issue_key": "LIVE-1"}})
	tn.waitSettled(acc.EventID, 30*time.Second)

	var stop atomic.Bool
	var appended atomic.Int64
	done := make(chan error, 1)
	go func() {
		ctx := context.Background()
		for i := 0; !stop.Load(); i++ {
			// As the service appends: a delivery row with an outcome, chained
			// by the trigger.
			if _, err := env.pool.Exec(ctx, `INSERT INTO deliveries (tenant_id, event_id, user_id, channel, status)
				VALUES ($1, $2, $3, 'in_app', 'delivered')`, tn.id, acc.EventID, fmt.Sprintf("live-%05d", i)); err != nil {
				done <- err
				return
			}
			appended.Add(1)
		}
		done <- nil
	}()
	waitFor(t, 10*time.Second, "appends to begin", func() bool { return appended.Load() > 10 })
	var failures []string
	for i := 0; i < 60; i++ {
		if v := tn.verifyWith(nil); !v.OK {
			failures = append(failures, fmt.Sprintf("API verify %d: %+v", i, v.Broken))
		}
		var out bytes.Buffer
		ok, err := app.VerifyAuditAll(context.Background(), env.pool, checkpointSigner, tn.id.String(), nil, &out, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			failures = append(failures, fmt.Sprintf("herald audit verify %d: %s", i, out.String()))
		}
	}
	stop.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(failures) > 0 {
		t.Errorf("%d of 120 verifies on a live chain reported it broken; first: %s", len(failures), failures[0])
	}
	n := appended.Load()
	if n < 60 {
		t.Errorf("only %d rows were appended during 120 verifies: the verifies did not overlap appends", n)
	}
	if v := tn.verifyWith(nil); !v.OK || v.Rows != 2+n || v.Checkpoints < 1 {
		t.Errorf("after the appends: %+v, want ok over %d rows with stored checkpoints agreeing", v, 2+n)
	}
}

// rewriteTail rewrites a tenant's chain from seq on as the database owner
// can: with the append-only guard dropped, change the row at seq, rehash
// it and every row after it, and move the head to match. Without signed
// checkpoints the result is a valid chain.
func rewriteTail(t *testing.T, tenantID uuid.UUID, seq int64, change func(*audit.Row)) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, env.owner, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`); err != nil {
			return err
		}
		stored, err := dbq.New(tx).AuditRowsAfter(ctx, dbq.AuditRowsAfterParams{TenantID: tenantID, AfterSeq: seq - 1, Batch: 100000})
		if err != nil || len(stored) == 0 {
			return fmt.Errorf("reading the tail: %v (%d rows)", err, len(stored))
		}
		prev := stored[0].PrevHash
		for i, s := range stored {
			r := audit.Row(s)
			if i == 0 {
				change(&r)
			}
			r.PrevHash, r.Hash = prev, audit.Hash(prev, r)
			prev = r.Hash
			if _, err := tx.Exec(ctx, `UPDATE audit_log SET recipient = $2, channel = $3, status = $4, reason = $5, prev_hash = $6, hash = $7 WHERE id = $1`,
				r.ID, r.Recipient, r.Channel, r.Status, r.Reason, r.PrevHash, r.Hash); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE audit_heads SET hash = $2 WHERE tenant_id = $1`, tenantID, prev); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// asOwner runs statements in one transaction as the database owner.
func asOwner(t *testing.T, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	if err := pgx.BeginFunc(ctx, env.owner, func(tx pgx.Tx) error {
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestAuditCheckpointsCatchARewrite: the owner rewrites a chain's tail and
// its head consistently, which a plain recomputation cannot tell from the
// real thing. The signed checkpoints Herald stored catch it; with those
// deleted too, a checkpoint a client kept from an earlier verify still
// does, and so does one kept from before rows were rolled back.
func TestAuditCheckpointsCatchARewrite(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("k1", "k1@example.com")
	post := func(key string) {
		acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"k1"}}, "data": map[string]any{"issue_key": key}})
		tn.waitSettled(acc.EventID, 30*time.Second)
	}
	post("CP-1")
	post("CP-2")
	first := tn.verifyWith(nil)
	if !first.OK || first.Rows != 4 || len(first.Checkpoint) == 0 {
		t.Fatalf("first verify: %+v, want ok over 4 rows with a checkpoint", first)
	}
	cp4, err := audit.ParseCheckpoint(first.Checkpoint)
	if err != nil || cp4.Seq != 4 || cp4.TenantID != tn.id || !checkpointSigner.Valid(cp4) {
		t.Fatalf("checkpoint %s: %v, want tenant %s at seq 4, signed", first.Checkpoint, err, tn.id)
	}
	post("CP-3")
	second := tn.verifyWith(first.Checkpoint)
	if !second.OK || second.Rows != 6 || second.Checkpoints < 2 {
		t.Fatalf("second verify, given the first checkpoint: %+v, want ok over 6 rows, the given and the stored checkpoint agreeing", second)
	}

	// Row 3 said delivered; the rewrite says failed, and everything after
	// it and the head agree.
	rewriteTail(t, tn.id, 3, func(r *audit.Row) { r.Status, r.Reason = "failed", "" })
	v := tn.verifyWith(nil)
	// Row 4's checkpoint, or row 3's if the worker's checkpointer (or
	// TestAuditCheckpointerSignsWhatItVerified's) made one between the
	// appends of the second event.
	if v.OK || v.Broken == nil || v.Broken.Seq < 3 || v.Broken.Seq > 4 || !strings.Contains(v.Broken.Problem, "rewritten") {
		t.Fatalf("after the rewrite: %+v, want row 4 (or 3) reported against a stored checkpoint", v)
	}
	var out bytes.Buffer
	if ok, err := app.VerifyAuditAll(context.Background(), env.pool, checkpointSigner, tn.id.String(), nil, &out, io.Discard); err != nil || ok || !strings.Contains(out.String(), "rewritten") {
		t.Errorf("herald audit verify after the rewrite: ok=%v err=%v %s", ok, err, out.String())
	}

	// The owner deletes the stored checkpoints too: the chain alone looks
	// intact again, which is why clients keep checkpoints.
	asOwner(t, `ALTER TABLE audit_checkpoints DISABLE TRIGGER audit_checkpoints_append_only`,
		fmt.Sprintf(`DELETE FROM audit_checkpoints WHERE tenant_id = '%s'`, tn.id),
		`ALTER TABLE audit_checkpoints ENABLE TRIGGER audit_checkpoints_append_only`)
	if v := tn.verifyWith(nil); !v.OK {
		t.Fatalf("with the stored checkpoints gone: %+v (the forgery is consistent, so this should pass)", v)
	}
	for name, cp := range map[string]json.RawMessage{"the first": first.Checkpoint, "the second": second.Checkpoint} {
		v := tn.verifyWith(cp)
		if v.OK || v.Broken == nil || !strings.Contains(v.Broken.Problem, "the checkpoint given") {
			t.Errorf("given %s checkpoint: %+v, want the rewrite reported against it", name, v)
		}
	}
	out.Reset()
	ok, err := app.VerifyAuditAll(context.Background(), env.pool, checkpointSigner, "", &cp4, &out, io.Discard)
	if err != nil || ok || !strings.Contains(out.String(), "BROKEN") || !strings.Contains(out.String(), "the checkpoint given") {
		t.Errorf("herald audit verify --checkpoint: ok=%v err=%v %s", ok, err, out.String())
	}

	// Rolled back: the last two rows removed and the head moved back. A
	// checkpoint of the longer chain says rows went.
	other := newTenant(t)
	other.putUser("k2", "k2@example.com")
	acc := other.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"k2"}}, "data": map[string]any{"issue_key": "CP-9"}})
	other.waitSettled(acc.EventID, 30*time.Second)
	kept := other.verifyWith(nil).Checkpoint
	asOwner(t, `ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`,
		fmt.Sprintf(`DELETE FROM audit_log WHERE tenant_id = '%s' AND seq = 2`, other.id),
		fmt.Sprintf(`UPDATE audit_heads h SET seq = 1, hash = l.hash FROM audit_log l WHERE h.tenant_id = '%[1]s' AND l.tenant_id = '%[1]s' AND l.seq = 1`, other.id),
		`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`)
	if v := other.verifyWith(nil); v.OK || v.Broken == nil || !strings.Contains(v.Broken.Problem, "removed") {
		t.Errorf("rolled back past the stored checkpoint: %+v, want removed rows reported", v)
	}
	if v := other.verifyWith(kept); v.OK || v.Broken == nil || !strings.Contains(v.Broken.Problem, "removed") {
		t.Errorf("rolled back, given the checkpoint: %+v, want removed rows reported", v)
	}
}

// TestAuditCheckpointsRefuseForgeries: a checkpoint handed to verify must
// be the caller's and carry Herald's signature (400 otherwise, changing
// nothing); one the owner plants in the table without the key is reported.
func TestAuditCheckpointsRefuseForgeries(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("f1", "f1@example.com")
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"f1"}}, "data": map[string]any{"issue_key": "FG-1"}})
	tn.waitSettled(acc.EventID, 30*time.Second)
	good := tn.verifyWith(nil).Checkpoint
	cp, err := audit.ParseCheckpoint(good)
	if err != nil {
		t.Fatal(err)
	}
	stored := count(t, `SELECT count(*) FROM audit_checkpoints WHERE tenant_id = $1`, tn.id)

	altered := cp
	altered.Hash = append(audit.Hex(nil), cp.Hash...)
	altered.Hash[0] ^= 1
	foreign := checkpointSigner.Sign(uuid.New(), cp.Seq, cp.Hash, cp.At)
	rotated := audit.NewSigner(localstack.TestSigningKey+"-old").Sign(tn.id, cp.Seq, cp.Hash, cp.At)
	var fields map[string]any
	_ = json.Unmarshal(good, &fields)
	fields["extra"] = true
	extra, _ := json.Marshal(fields)
	for name, raw := range map[string]string{
		"altered":       string(mustJSON(t, altered)),
		"another's":     string(mustJSON(t, foreign)),
		"old key":       string(mustJSON(t, rotated)),
		"not JSON":      "seq=1",
		"unknown field": string(extra),
		"oversized":     string(good) + strings.Repeat(" ", audit.MaxCheckpointJSON),
	} {
		r := tn.do("GET", "/v1/audit/verify?checkpoint="+url.QueryEscape(raw), nil)
		if r.status != 400 || r.errCode() != "invalid_field" || r.errorBody().Error.Details["field"] != "checkpoint" {
			t.Errorf("%s checkpoint: %d %s, want 400 invalid_field naming checkpoint", name, r.status, r.raw)
		}
	}
	if n := count(t, `SELECT count(*) FROM audit_checkpoints WHERE tenant_id = $1`, tn.id); n != stored {
		t.Errorf("refused verifies stored checkpoints: %d, was %d", n, stored)
	}

	// Planted in the table under Herald's key ID without its signature (past
	// the end, where no checkpoint can be yet).
	asOwner(t, fmt.Sprintf(`INSERT INTO audit_checkpoints (tenant_id, seq, hash, at, key_id, signature)
		SELECT tenant_id, 3, hash, now(), '\x%x', '\x%x' FROM audit_heads WHERE tenant_id = '%s'`,
		checkpointSigner.KeyID(), make([]byte, 32), tn.id))
	if v := tn.verifyWith(nil); v.OK || v.Broken == nil || v.Broken.Seq != 3 || !strings.Contains(v.Broken.Problem, "forged") {
		t.Errorf("with a forged checkpoint stored: %+v, want it reported at seq 3", v)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAuditCheckpointerSignsWhatItVerified: the worker's checkpointer
// signs the head of each grown chain after verifying what was appended
// since the last checkpoint, and signs nothing over a broken chain.
func TestAuditCheckpointerSignsWhatItVerified(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	tn.putUser("p1", "p1@example.com")
	post := func(key string) {
		acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"p1"}}, "data": map[string]any{"issue_key": key}})
		tn.waitSettled(acc.EventID, 30*time.Second)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	reported := map[uuid.UUID]int64{}
	latest := func() (seq int64) {
		_ = env.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM audit_checkpoints WHERE tenant_id = $1`, tn.id).Scan(&seq)
		return seq
	}
	post("PT-1")
	if err := app.CheckpointAudit(ctx, env.pool, checkpointSigner, log, reported); err != nil {
		t.Fatal(err)
	}
	if got := latest(); got != 2 {
		t.Fatalf("after the first round the latest checkpoint is at %d, want 2", got)
	}
	post("PT-2")
	if err := app.CheckpointAudit(ctx, env.pool, checkpointSigner, log, reported); err != nil {
		t.Fatal(err)
	}
	if got := latest(); got != 4 {
		t.Fatalf("after the second round the latest checkpoint is at %d, want 4", got)
	}

	// Row 1 rewritten through the head: the checkpoint at 2 no longer holds.
	rewriteTail(t, tn.id, 1, func(r *audit.Row) { r.Status = "failed" })
	post("PT-3")
	for range 2 {
		if err := app.CheckpointAudit(ctx, env.pool, checkpointSigner, log, reported); err != nil {
			t.Fatal(err)
		}
	}
	if got := latest(); got != 4 {
		t.Errorf("over a rewritten chain the latest checkpoint is at %d, want none after 4", got)
	}
	if n := strings.Count(logs.String(), tn.id.String()); n != 1 {
		t.Errorf("the broken chain was logged %d times over two rounds, want once: %s", n, logs.String())
	}
}
