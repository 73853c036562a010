package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/internal/apikey"
)

// CreateTenant creates a tenant and its first API key, returned once.
func CreateTenant(ctx context.Context, pool *pgxpool.Pool, name string) (dbq.Tenant, string, error) {
	if name == "" || len(name) > 200 {
		return dbq.Tenant{}, "", errors.New("tenant name must be 1-200 characters")
	}
	var tenant dbq.Tenant
	var key string
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		q := dbq.New(tx)
		var err error
		if tenant, err = q.CreateTenant(ctx, name); err != nil {
			return err
		}
		key, err = addKey(ctx, q, tenant.ID, apikey.New())
		return err
	})
	return tenant, key, err
}

// CreateAPIKey adds a key to a tenant named by ID or name. A non-empty fixed
// key is used as given (the dev stack's HERALD_DEV_API_KEY).
func CreateAPIKey(ctx context.Context, pool *pgxpool.Pool, tenant, fixed string) (string, error) {
	q := dbq.New(pool)
	t, err := FindTenant(ctx, q, tenant)
	if err != nil {
		return "", err
	}
	if fixed == "" {
		fixed = apikey.New()
	}
	return addKey(ctx, q, t.ID, fixed)
}

func addKey(ctx context.Context, q *dbq.Queries, tenantID uuid.UUID, key string) (string, error) {
	if !apikey.Plausible(key) {
		return "", fmt.Errorf("an API key must start with %q and be 16-200 characters", apikey.Prefix)
	}
	_, err := q.CreateAPIKey(ctx, dbq.CreateAPIKeyParams{TenantID: tenantID, Prefix: apikey.Display(key), KeyHash: apikey.Hash(key)})
	return key, err
}

// FindTenant looks a tenant up by ID, or else by name.
func FindTenant(ctx context.Context, q *dbq.Queries, ref string) (dbq.Tenant, error) {
	if id, err := uuid.Parse(ref); err == nil {
		t, err := q.GetTenant(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return t, fmt.Errorf("no tenant with ID %s", ref)
		}
		return t, err
	}
	t, err := q.FindTenantByName(ctx, ref)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fmt.Errorf("no tenant named %q", ref)
	}
	return t, err
}

// ListAPIKeys returns the keys of a tenant named by ID or name, oldest
// first, revoked ones included.
func ListAPIKeys(ctx context.Context, pool *pgxpool.Pool, tenant string) ([]dbq.ListAPIKeysRow, error) {
	q := dbq.New(pool)
	t, err := FindTenant(ctx, q, tenant)
	if err != nil {
		return nil, err
	}
	return q.ListAPIKeys(ctx, t.ID)
}

// RevokedKey names a key just revoked, without revealing it.
type RevokedKey struct {
	ID     uuid.UUID
	Prefix string
}

// RevokeAPIKey revokes a key given by its ID or in full.
func RevokeAPIKey(ctx context.Context, pool *pgxpool.Pool, ref string) (RevokedKey, error) {
	q := dbq.New(pool)
	var k RevokedKey
	var err error
	if id, perr := uuid.Parse(ref); perr == nil {
		var row dbq.RevokeAPIKeyByIDRow
		row, err = q.RevokeAPIKeyByID(ctx, id)
		k = RevokedKey(row)
	} else {
		var row dbq.RevokeAPIKeyByHashRow
		row, err = q.RevokeAPIKeyByHash(ctx, apikey.Hash(ref))
		k = RevokedKey(row)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		// Never echo ref: it may be the key itself.
		return k, errors.New("no active API key matches")
	}
	return k, err
}
