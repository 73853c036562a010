package db

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heraldhq/herald/audit"
	"github.com/heraldhq/herald/db/dbq"
)

// auditBatch is how many rows a verifier holds at once: a million-row chain
// is read in batches, in bounded memory.
const auditBatch = 5000

// VerifyAudit recomputes one tenant's audit chain, streaming it in batches,
// and returns the rows checked and the first broken row (nil: intact).
// progress, if not nil, is called after each batch with the rows so far.
func VerifyAudit(ctx context.Context, q *dbq.Queries, tenantID uuid.UUID, progress func(int64)) (int64, *audit.Broken, error) {
	v := audit.NewVerifier()
	var after int64
	for {
		rows, err := q.AuditRowsAfter(ctx, dbq.AuditRowsAfterParams{TenantID: tenantID, AfterSeq: after, Batch: auditBatch})
		if err != nil {
			return v.Rows, nil, fmt.Errorf("reading the audit trail: %w", err)
		}
		for _, r := range rows {
			if b := v.Check(audit.Row(r)); b != nil {
				return v.Rows, b, nil
			}
			after = r.Seq
		}
		if progress != nil && len(rows) > 0 {
			progress(v.Rows)
		}
		if len(rows) < auditBatch {
			break
		}
	}
	head, err := q.AuditHead(ctx, tenantID)
	if errors.Is(err, pgx.ErrNoRows) {
		if v.Rows == 0 {
			return 0, nil, nil // nothing was ever appended
		}
		return v.Rows, &audit.Broken{Problem: "the chain has rows but no head: the head was removed"}, nil
	}
	if err != nil {
		return v.Rows, nil, fmt.Errorf("reading the audit head: %w", err)
	}
	return v.Rows, v.Finish(head.Seq, head.Hash), nil
}
