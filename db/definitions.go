package db

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heraldhq/herald/db/dbq"
)

// Definitions reads tenants' stored event type definitions for the catalog.
type Definitions struct{ Q *dbq.Queries }

// Definition returns key's stored definition, or nil when there is none.
func (d Definitions) Definition(ctx context.Context, tenantID uuid.UUID, key string) ([]byte, error) {
	row, err := d.Q.GetTenantEventType(ctx, dbq.GetTenantEventTypeParams{TenantID: tenantID, Key: key})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading event type %s: %w", key, err)
	}
	return row.Definition, nil
}

// Definitions returns every stored definition of a tenant by key.
func (d Definitions) Definitions(ctx context.Context, tenantID uuid.UUID) (map[string][]byte, error) {
	rows, err := d.Q.GetTenantEventTypes(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("loading event types: %w", err)
	}
	out := make(map[string][]byte, len(rows))
	for _, r := range rows {
		out[r.Key] = r.Definition
	}
	return out, nil
}
