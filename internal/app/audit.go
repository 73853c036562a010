package app

import (
	"context"
	"fmt"
	"io"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/db/dbq"
)

// VerifyAuditAll verifies every tenant's chain (or one, when tenant is set:
// an ID or a name), printing progress every 100,000 rows and one line per
// tenant to out. It reports whether every chain is intact.
func VerifyAuditAll(ctx context.Context, pool *pgxpool.Pool, tenant string, out, progressOut io.Writer) (bool, error) {
	var tenants []uuid.UUID
	if tenant != "" {
		t, err := FindTenant(ctx, dbq.New(pool), tenant)
		if err != nil {
			return false, err
		}
		tenants = []uuid.UUID{t.ID}
	} else {
		var err error
		if tenants, err = dbq.New(pool).AuditTenants(ctx); err != nil {
			return false, fmt.Errorf("listing audited tenants: %w", err)
		}
	}
	ok := true
	for _, id := range tenants {
		var next int64 = 100000
		n, broken, err := db.VerifyAudit(ctx, dbq.New(pool), id, func(rows int64) {
			if rows >= next {
				fmt.Fprintf(progressOut, "tenant %s: %d rows verified\n", id, rows)
				next += 100000
			}
		})
		if err != nil {
			return false, err
		}
		if broken != nil {
			ok = false
			fmt.Fprintf(out, "tenant %s: BROKEN after %d rows: row %d (seq %d, delivery %s): %s\n", id, n, broken.ID, broken.Seq, broken.DeliveryID, broken.Problem)
			continue
		}
		fmt.Fprintf(out, "tenant %s: ok, %d rows\n", id, n)
	}
	return ok, nil
}
