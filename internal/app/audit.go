package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldhq/herald/audit"
	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/internal/periodic"
)

// VerifyAuditAll verifies every tenant's chain (or one, when tenant is set:
// an ID or a name), each in its own snapshot, against its stored checkpoints
// and, for its tenant, the checkpoint given. It prints progress every
// 100,000 rows to progressOut and one line per tenant to out, with the
// checkpoint of what it verified (signed and stored, for the operator to
// keep). It reports whether every chain is intact.
func VerifyAuditAll(ctx context.Context, pool *pgxpool.Pool, signer *audit.Signer, tenant string, given *audit.Checkpoint, out, progressOut io.Writer) (bool, error) {
	var tenants []uuid.UUID
	switch {
	case tenant != "":
		t, err := FindTenant(ctx, dbq.New(pool), tenant)
		if err != nil {
			return false, err
		}
		if given != nil && given.TenantID != t.ID {
			return false, fmt.Errorf("the checkpoint is tenant %s's, not %s's", given.TenantID, t.ID)
		}
		tenants = []uuid.UUID{t.ID}
	case given != nil:
		tenants = []uuid.UUID{given.TenantID}
	default:
		var err error
		if tenants, err = dbq.New(pool).AuditTenants(ctx); err != nil {
			return false, fmt.Errorf("listing audited tenants: %w", err)
		}
	}
	ok := true
	for _, id := range tenants {
		var next int64 = 100000
		v, err := db.VerifyAudit(ctx, pool, id, db.VerifyOptions{Signer: signer, Given: given, Progress: func(rows int64) {
			if rows >= next {
				fmt.Fprintf(progressOut, "tenant %s: %d rows verified\n", id, rows)
				next += 100000
			}
		}})
		if err != nil {
			return false, err
		}
		if b := v.Broken; b != nil {
			ok = false
			fmt.Fprintf(out, "tenant %s: BROKEN after %d rows: row %d (seq %d, delivery %s): %s\n", id, v.Rows, b.ID, b.Seq, b.DeliveryID, b.Problem)
			continue
		}
		line := fmt.Sprintf("tenant %s: ok, %d rows, %d checkpoints agree", id, v.Rows, v.Checkpoints)
		if v.From > 1 {
			line += fmt.Sprintf(", from seq %d (retention pruned the rows before it)", v.From)
		}
		if v.HeadSeq > 0 {
			cp, err := db.IssueAuditCheckpoint(ctx, dbq.New(pool), signer, id, v.HeadSeq, v.HeadHash)
			if err != nil {
				return false, err
			}
			raw, _ := json.Marshal(cp)
			line += "; checkpoint " + string(raw)
		}
		fmt.Fprintln(out, line)
	}
	return ok, nil
}

// runAuditCheckpointer signs a checkpoint of every chain that has grown,
// every so often, after verifying what was appended since the last one: a
// rewrite of anything checkpointed shows in every later verify, even one
// nobody asked for before the rewrite. A broken chain is logged once per
// head, not checkpointed.
func runAuditCheckpointer(ctx context.Context, pool *pgxpool.Pool, signer *audit.Signer, every time.Duration, log *slog.Logger) {
	reported := map[uuid.UUID]int64{}
	periodic.Run(ctx, every, log, "checkpointing the audit trail", func(ctx context.Context) error {
		return CheckpointAudit(ctx, pool, signer, log, reported)
	})
}

// CheckpointAudit checkpoints each chain that has grown since its last
// checkpoint. reported keeps the heads of broken chains already logged.
func CheckpointAudit(ctx context.Context, pool *pgxpool.Pool, signer *audit.Signer, log *slog.Logger, reported map[uuid.UUID]int64) error {
	q := dbq.New(pool)
	tenants, err := q.AuditTenantsPastCheckpoint(ctx, signer.KeyID())
	if err != nil {
		return fmt.Errorf("listing chains to checkpoint: %w", err)
	}
	for _, id := range tenants {
		v, err := db.VerifyAudit(ctx, pool, id, db.VerifyOptions{Signer: signer, Incremental: true})
		if err != nil {
			return err
		}
		if b := v.Broken; b != nil {
			if seq, seen := reported[id]; !seen || seq != b.Seq {
				reported[id] = b.Seq
				log.Error("the audit trail is broken; no checkpoint is signed until it is repaired", "tenant", id, "seq", b.Seq, "row", b.ID, "problem", b.Problem)
			}
			continue
		}
		delete(reported, id)
		if v.HeadSeq > 0 {
			if _, err := db.IssueAuditCheckpoint(ctx, q, signer, id, v.HeadSeq, v.HeadHash); err != nil {
				return err
			}
		}
	}
	return nil
}

// ExportAudit writes a tenant's (an ID or a name) audit rows older than
// before, those retention has not pruned, to out as an archive (see
// audit.ArchiveHeader), after verifying the chain and signing a
// checkpoint at the last of them. It deletes nothing: retention prunes.
func ExportAudit(ctx context.Context, pool *pgxpool.Pool, signer *audit.Signer, tenant string, before time.Time, out io.Writer) (audit.ArchiveHeader, error) {
	var h audit.ArchiveHeader
	t, err := FindTenant(ctx, dbq.New(pool), tenant)
	if err != nil {
		return h, err
	}
	cp, from, ok, err := db.AnchorAudit(ctx, pool, signer, t.ID, before)
	if err != nil {
		return h, err
	}
	if !ok {
		if from > 1 {
			return h, fmt.Errorf("tenant %s has no audit rows before %s: retention pruned the chain up to seq %d", t.ID, before.Format(time.RFC3339), from-1)
		}
		return h, fmt.Errorf("tenant %s has no audit rows before %s", t.ID, before.Format(time.RFC3339))
	}
	// One snapshot, taken after the checkpoint, holds every row up to it
	// but those pruned meanwhile: the archive starts at its first row.
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return h, fmt.Errorf("opening the audit snapshot: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	q := dbq.New(tx)
	first, err := q.AuditRowsAfter(ctx, dbq.AuditRowsAfterParams{TenantID: t.ID, AfterSeq: 0, Batch: 1})
	if err != nil {
		return h, fmt.Errorf("reading the audit trail: %w", err)
	}
	if len(first) == 0 || first[0].Seq > cp.Seq {
		return h, fmt.Errorf("retention pruned tenant %s's rows before %s while they were exported", t.ID, before.Format(time.RFC3339))
	}
	h = audit.ArchiveHeader{TenantID: t.ID, Before: before.UTC(), ExportedAt: time.Now().UTC(), FirstSeq: first[0].Seq,
		LastSeq: cp.Seq, Rows: cp.Seq - first[0].Seq + 1, Checkpoint: cp}
	w, err := audit.NewArchiveWriter(out, h)
	if err != nil {
		return h, err
	}
	for after := first[0].Seq - 1; after < cp.Seq; {
		rows, err := q.AuditRowsAfter(ctx, dbq.AuditRowsAfterParams{TenantID: t.ID, AfterSeq: after, Batch: int32(min(5000, cp.Seq-after))})
		if err != nil {
			return h, fmt.Errorf("reading the audit trail: %w", err)
		}
		if len(rows) == 0 {
			return h, fmt.Errorf("the audit trail ends at seq %d, before its checkpoint at %d", after, cp.Seq)
		}
		for _, r := range rows {
			if err := w.Write(audit.Row(r)); err != nil {
				return h, err
			}
			after = r.Seq
		}
	}
	return h, nil
}

// VerifyArchive verifies an exported archive with the signing key alone
// and prints what it found to out. It reports whether the archive is intact.
func VerifyArchive(in io.Reader, signer *audit.Signer, out io.Writer) (bool, error) {
	v, err := audit.VerifyArchive(in, signer)
	if err != nil {
		return false, err
	}
	h := v.Header
	if b := v.Broken; b != nil {
		fmt.Fprintf(out, "archive of tenant %s: BROKEN after %d rows: seq %d (delivery %s): %s\n", h.TenantID, v.Rows, b.Seq, b.DeliveryID, b.Problem)
		return false, nil
	}
	fmt.Fprintf(out, "archive of tenant %s: ok, %d rows (seq %d to %d, before %s), checkpoint signed at %s agrees\n",
		h.TenantID, v.Rows, h.FirstSeq, h.LastSeq, h.Before.Format(time.RFC3339), h.Checkpoint.At.Format(time.RFC3339))
	return true, nil
}
