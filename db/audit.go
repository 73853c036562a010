package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldhq/herald/audit"
	"github.com/heraldhq/herald/db/dbq"
)

// auditBatch is how many rows a verifier holds at once: a million-row chain
// is read in batches, in bounded memory.
const auditBatch = 5000

// Beginner opens transactions (a pool or a connection).
type Beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// VerifyOptions say what a verification compares the chain with.
type VerifyOptions struct {
	// Signer checks the stored checkpoints it signed, and Given.
	Signer *audit.Signer
	// Given is a checkpoint a client kept; it must be the tenant's and
	// carry Signer's signature (ErrCheckpoint otherwise).
	Given *audit.Checkpoint
	// Incremental starts at the newest checkpoint Signer made, taking the
	// rows before it as that checkpoint vouches for them, so a process that
	// checkpoints often reads only what was appended since.
	Incremental bool
	// Progress, if not nil, is called after each batch with the rows so far.
	Progress func(int64)
}

// AuditVerdict is what a verification found.
type AuditVerdict struct {
	// Rows counts the rows checked.
	Rows int64
	// Broken is the first row that breaks the chain (nil: intact).
	Broken *audit.Broken
	// Checkpoints counts the checkpoints the chain agreed with.
	Checkpoints int64
	// HeadSeq and HeadHash are the end of the chain verified.
	HeadSeq  int64
	HeadHash []byte
	// From is the chain's first retained seq: 1 unless retention pruned
	// the rows before it (or they were removed: then Broken says so).
	From int64
}

// ErrCheckpoint is a checkpoint given to verify that is another tenant's
// or that the configured key did not sign.
var ErrCheckpoint = errors.New("invalid checkpoint")

// VerifyAudit recomputes one tenant's audit chain, streaming it in batches,
// and compares it with its head and with its checkpoints: every stored one
// Signer made (a stored checkpoint claiming Signer's key without its
// signature is a forgery, and is reported), and the one given.
//
// Everything is read in one read-only REPEATABLE READ transaction: rows
// appended while it runs are not in its snapshot, nor is the head they
// move, so a verify on a live system never mistakes an append for a
// removal.
func VerifyAudit(ctx context.Context, pool Beginner, tenantID uuid.UUID, opts VerifyOptions) (AuditVerdict, error) {
	if g := opts.Given; g != nil {
		if g.TenantID != tenantID {
			return AuditVerdict{}, fmt.Errorf("%w: it is another tenant's", ErrCheckpoint)
		}
		if !opts.Signer.Valid(*g) {
			return AuditVerdict{}, fmt.Errorf("%w: its signature does not verify with HERALD_SIGNING_KEY (Herald did not sign it, it was altered, or the key changed)", ErrCheckpoint)
		}
	}
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return AuditVerdict{}, fmt.Errorf("opening the audit snapshot: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	verdict, err := verifyIn(ctx, dbq.New(tx), tenantID, opts)
	if err != nil {
		return verdict, err
	}
	return verdict, tx.Commit(ctx)
}

func verifyIn(ctx context.Context, q *dbq.Queries, tenantID uuid.UUID, opts VerifyOptions) (AuditVerdict, error) {
	var out AuditVerdict
	keyID := opts.Signer.KeyID()
	floor, b, err := retainedFrom(ctx, q, opts.Signer, tenantID, false)
	if err != nil || b != nil {
		out.Broken = b
		if b != nil {
			out.From = b.Seq // the retained start nothing vouches for
		}
		return out, err
	}
	out.From = floor.seq + 1
	fromFloor := func() *audit.Verifier {
		if floor.seq == 0 {
			return audit.NewVerifier()
		}
		return audit.ResumeVerifier(floor.seq, floor.hash)
	}
	v, after := fromFloor(), floor.seq
	if opts.Incremental {
		cp, err := q.LatestAuditCheckpoint(ctx, dbq.LatestAuditCheckpointParams{TenantID: tenantID, KeyID: keyID})
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return out, fmt.Errorf("reading the latest audit checkpoint: %w", err)
		case cp.Seq > floor.seq: // at the floor, the floor is where it starts
			start := checkpointOf(cp)
			if b, err := startAt(ctx, q, opts.Signer, start); err != nil || b != nil {
				out.Broken = b
				return out, err
			}
			v, after = audit.ResumeVerifier(start.Seq, start.Hash), start.Seq
			v.Checkpoints++
		}
	}
	if g := opts.Given; g != nil {
		switch {
		case g.Seq < floor.seq:
			return out, fmt.Errorf("%w: the rows it covers (up to seq %d) were pruned by retention; the chain starts at seq %d (check the checkpoint against an archive: herald audit verify --archive)", ErrCheckpoint, g.Seq, floor.seq+1)
		case g.Seq == floor.seq:
			if !bytes.Equal(g.Hash, floor.hash) {
				out.Broken = &audit.Broken{Seq: floor.seq + 1, Problem: "the chain's first retained row does not follow the checkpoint given: the chain was rewritten at or before it"}
				return out, nil
			}
		case g.Seq <= after:
			// The start is a checkpoint this key signed; the given one must
			// agree with the chain there too, which startAt checked for
			// the start's row only, so the verify goes back to the floor.
			v, after = fromFloor(), floor.seq
		}
		if g.Seq > floor.seq {
			v.Expect(*g, "the checkpoint given", false)
		}
	}
	expectStored := func(upto int64, max int32) error {
		cps, err := q.AuditCheckpointsBetween(ctx, dbq.AuditCheckpointsBetweenParams{TenantID: tenantID, KeyID: keyID, AfterSeq: after, UptoSeq: upto, Max: max})
		if err != nil {
			return fmt.Errorf("reading the audit checkpoints: %w", err)
		}
		for _, c := range cps {
			cp := checkpointOf(c)
			v.Expect(cp, "a stored checkpoint", !opts.Signer.Valid(cp))
		}
		return nil
	}
	for {
		rows, err := q.AuditRowsAfter(ctx, dbq.AuditRowsAfterParams{TenantID: tenantID, AfterSeq: after, Batch: auditBatch})
		if err != nil {
			return out, fmt.Errorf("reading the audit trail: %w", err)
		}
		if len(rows) > 0 {
			// At most one checkpoint per row.
			if err := expectStored(rows[len(rows)-1].Seq, auditBatch); err != nil {
				return out, err
			}
		}
		for _, r := range rows {
			if b := v.Check(audit.Row(r)); b != nil {
				out.Rows, out.Broken, out.Checkpoints = v.Rows, b, v.Checkpoints
				return out, nil
			}
			after = r.Seq
		}
		if opts.Progress != nil && len(rows) > 0 {
			opts.Progress(v.Rows)
		}
		if len(rows) < auditBatch {
			break
		}
	}
	// A checkpoint past the end means rows went with the head; the first
	// one says so.
	if err := expectStored(math.MaxInt64, 1); err != nil {
		return out, err
	}
	out.Rows, out.Checkpoints = v.Rows, v.Checkpoints
	head, err := q.AuditHead(ctx, tenantID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if _, end := v.End(); v.Rows > 0 || !bytes.Equal(end, audit.Genesis) {
			out.Broken = &audit.Broken{Problem: "the chain has rows but no head: the head was removed"}
			return out, nil
		}
		out.Broken = v.Finish(0, audit.Genesis) // nothing was ever appended, unless a checkpoint says otherwise
		return out, nil
	case err != nil:
		return out, fmt.Errorf("reading the audit head: %w", err)
	}
	out.Broken = v.Finish(head.Seq, head.Hash)
	out.Checkpoints = v.Checkpoints
	if out.Broken == nil {
		out.HeadSeq, out.HeadHash = v.End()
	}
	return out, nil
}

// floor is where the retained part of a chain starts: the seq before its
// first retained row (0: nothing was pruned) and that seq's hash.
type floor struct {
	seq  int64
	hash []byte
}

// retainedFrom finds where the retained rows start. Retention removes a
// chain's oldest rows only up to a seq where it stored a checkpoint first
// (migration 037 refuses otherwise), so the first retained row must chain
// onto a checkpoint at the seq before it, signed with the current key. Rows
// gone from the start without one were removed, not pruned. oldKey takes
// the start on trust when that checkpoint names an earlier key: retention
// does, so that after HERALD_SIGNING_KEY is rotated it can prune again and
// sign the new start with the current key; verifies for people never do.
func retainedFrom(ctx context.Context, q *dbq.Queries, signer *audit.Signer, tenantID uuid.UUID, oldKey bool) (floor, *audit.Broken, error) {
	rows, err := q.AuditRowsAfter(ctx, dbq.AuditRowsAfterParams{TenantID: tenantID, AfterSeq: 0, Batch: 1})
	if err != nil {
		return floor{}, nil, fmt.Errorf("reading the audit trail: %w", err)
	}
	var f floor
	switch {
	case len(rows) == 1:
		f.seq = rows[0].Seq - 1
	default: // no rows: pruned to the head, or nothing was ever appended
		head, err := q.AuditHead(ctx, tenantID)
		if errors.Is(err, pgx.ErrNoRows) {
			return floor{}, nil, nil
		}
		if err != nil {
			return floor{}, nil, fmt.Errorf("reading the audit head: %w", err)
		}
		f.seq = head.Seq
	}
	if f.seq == 0 {
		return floor{}, nil, nil
	}
	cp, err := q.AuditCheckpointAt(ctx, dbq.AuditCheckpointAtParams{TenantID: tenantID, Seq: f.seq})
	if errors.Is(err, pgx.ErrNoRows) {
		return f, &audit.Broken{Seq: f.seq + 1, Problem: fmt.Sprintf("the chain starts at seq %d: the rows before it were removed, and no checkpoint at seq %d vouches for where it starts (retention prunes only up to a checkpoint)", f.seq+1, f.seq)}, nil
	}
	if err != nil {
		return f, nil, fmt.Errorf("reading the audit checkpoints: %w", err)
	}
	if c := checkpointOf(cp); !signer.Valid(c) && (!oldKey || signer.Mine(c)) {
		return f, &audit.Broken{Seq: f.seq + 1, Problem: fmt.Sprintf("the checkpoint at seq %d, where the pruned chain starts, is not signed with HERALD_SIGNING_KEY: it was forged or altered, or the key changed since", f.seq)}, nil
	}
	// The first retained row must chain onto it, which the verifier checks
	// from here (or, with no rows left, the head must be it).
	f.hash = cp.Hash
	return f, nil, nil
}

// startAt checks that the chain still holds what the checkpoint an
// incremental verify starts from vouches for: its signature, and the row at
// its seq, intact and with its hash.
func startAt(ctx context.Context, q *dbq.Queries, signer *audit.Signer, start audit.Checkpoint) (*audit.Broken, error) {
	if !signer.Valid(start) {
		return &audit.Broken{Seq: start.Seq, Problem: fmt.Sprintf("the latest stored checkpoint at seq %d is not signed with HERALD_SIGNING_KEY: it was forged or altered", start.Seq)}, nil
	}
	rows, err := q.AuditRowsAfter(ctx, dbq.AuditRowsAfterParams{TenantID: start.TenantID, AfterSeq: start.Seq - 1, Batch: 1})
	if err != nil {
		return nil, fmt.Errorf("reading the audit trail: %w", err)
	}
	if len(rows) == 0 || rows[0].Seq != start.Seq {
		return &audit.Broken{Seq: start.Seq, Problem: fmt.Sprintf("the row at seq %d, which the latest stored checkpoint vouches for, is missing", start.Seq)}, nil
	}
	r := audit.Row(rows[0])
	if !bytes.Equal(r.Hash, audit.Hash(r.PrevHash, r)) || !bytes.Equal(r.Hash, start.Hash) {
		return &audit.Broken{ID: r.ID, Seq: r.Seq, DeliveryID: r.DeliveryID, Problem: "the row does not hash to what the latest stored checkpoint holds: the chain was rewritten at or before this row"}, nil
	}
	return nil, nil
}

func checkpointOf(c dbq.AuditCheckpoint) audit.Checkpoint {
	return audit.Checkpoint{TenantID: c.TenantID, Seq: c.Seq, Hash: c.Hash, At: c.At, KeyID: c.KeyID, Signature: c.Signature}
}

// IssueAuditCheckpoint signs a tenant's chain at a verified end and stores
// the checkpoint. When one is stored for that seq already (another process
// made it), that one is returned, so every caller hands out the same.
func IssueAuditCheckpoint(ctx context.Context, q *dbq.Queries, signer *audit.Signer, tenantID uuid.UUID, seq int64, hash []byte) (audit.Checkpoint, error) {
	cp := signer.Sign(tenantID, seq, hash, time.Now())
	if err := q.InsertAuditCheckpoint(ctx, dbq.InsertAuditCheckpointParams{TenantID: cp.TenantID, Seq: cp.Seq, Hash: cp.Hash,
		At: cp.At, KeyID: cp.KeyID, Signature: cp.Signature}); err != nil {
		return cp, fmt.Errorf("storing an audit checkpoint: %w", err)
	}
	stored, err := q.AuditCheckpointAt(ctx, dbq.AuditCheckpointAtParams{TenantID: tenantID, Seq: seq})
	if err != nil {
		return cp, fmt.Errorf("reading the audit checkpoint back: %w", err)
	}
	if s := checkpointOf(stored); signer.Valid(s) && bytes.Equal(s.Hash, hash) {
		return s, nil
	}
	return cp, nil
}

// ErrAuditBroken is a chain that does not verify: nothing of it is
// checkpointed, pruned or exported until it is repaired.
var ErrAuditBroken = errors.New("the audit trail is broken")

// AnchorAudit verifies the prefix of a tenant's retained chain older than
// before, then signs and stores a checkpoint at its last row: the
// checkpoint that vouches for the rows after the prefix once it is pruned,
// and for the prefix in an export. ok is false, and nothing is verified,
// when no retained row is older than before; from is the first retained
// seq.
//
// It reads the prefix and the rows linking it to the first checkpoint
// signed after it (the checkpointer signs one every few minutes), not the
// whole chain: retention runs hourly, and the chain behind the prefix was
// verified when those checkpoints were signed.
func AnchorAudit(ctx context.Context, pool *pgxpool.Pool, signer *audit.Signer, tenantID uuid.UUID, before time.Time) (cp audit.Checkpoint, from int64, ok bool, err error) {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return cp, 0, false, fmt.Errorf("opening the audit snapshot: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	q := dbq.New(tx)
	end, err := q.AuditPrefixEnd(ctx, dbq.AuditPrefixEndParams{TenantID: tenantID, Before: before})
	if err != nil {
		return cp, 0, false, fmt.Errorf("finding the audit rows before %s: %w", before.Format(time.RFC3339), err)
	}
	f, b, err := retainedFrom(ctx, q, signer, tenantID, true)
	if err != nil {
		return cp, 0, false, err
	}
	if b != nil {
		return cp, 0, false, fmt.Errorf("%w at seq %d: %s", ErrAuditBroken, b.Seq, b.Problem)
	}
	if end <= f.seq {
		return cp, f.seq + 1, false, nil
	}
	endHash, b, err := verifyFrom(ctx, q, signer, tenantID, f, end)
	if err != nil {
		return cp, 0, false, err
	}
	if b != nil {
		return cp, 0, false, fmt.Errorf("%w at seq %d: %s", ErrAuditBroken, b.Seq, b.Problem)
	}
	if err := tx.Commit(ctx); err != nil {
		return cp, 0, false, err
	}
	cp, err = IssueAuditCheckpoint(ctx, dbq.New(pool), signer, tenantID, end, endHash)
	return cp, f.seq + 1, err == nil, err
}

// verifyFrom checks a chain's rows from its retained start through seq end
// and on to the first checkpoint signed with the current key at or after
// end (or the head, when there is none), and answers the hash of the row
// at end.
func verifyFrom(ctx context.Context, q *dbq.Queries, signer *audit.Signer, tenantID uuid.UUID, f floor, end int64) ([]byte, *audit.Broken, error) {
	v := audit.NewVerifier()
	if f.seq > 0 {
		v = audit.ResumeVerifier(f.seq, f.hash)
	}
	var target int64
	var targetHash []byte
	c, err := q.FirstAuditCheckpointFrom(ctx, dbq.FirstAuditCheckpointFromParams{TenantID: tenantID, KeyID: signer.KeyID(), Seq: end})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		head, err := q.AuditHead(ctx, tenantID)
		if err != nil {
			return nil, nil, fmt.Errorf("reading the audit head: %w", err)
		}
		target, targetHash = head.Seq, head.Hash
	case err != nil:
		return nil, nil, fmt.Errorf("reading the audit checkpoints: %w", err)
	default:
		cp := checkpointOf(c)
		v.Expect(cp, "a stored checkpoint", !signer.Valid(cp))
		target, targetHash = cp.Seq, cp.Hash
	}
	var endHash []byte
	for after := f.seq; after < target; {
		rows, err := q.AuditRowsAfter(ctx, dbq.AuditRowsAfterParams{TenantID: tenantID, AfterSeq: after, Batch: int32(min(auditBatch, target-after))})
		if err != nil {
			return nil, nil, fmt.Errorf("reading the audit trail: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		for _, r := range rows {
			if b := v.Check(audit.Row(r)); b != nil {
				return nil, b, nil
			}
			if r.Seq == end {
				endHash = r.Hash
			}
			after = r.Seq
		}
	}
	if b := v.Finish(target, targetHash); b != nil {
		return nil, b, nil
	}
	return endHash, nil, nil
}
