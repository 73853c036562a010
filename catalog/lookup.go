package catalog

import (
	"context"

	"github.com/google/uuid"
)

// Definitions reads the event type definitions a tenant stored, as raw JSON
// documents. The database layer implements it; the catalog stays free of I/O.
type Definitions interface {
	// Definition returns key's stored definition, or nil when the tenant has none.
	Definition(ctx context.Context, tenantID uuid.UUID, key string) ([]byte, error)
	// Definitions returns every stored definition of the tenant by key.
	Definitions(ctx context.Context, tenantID uuid.UUID) (map[string][]byte, error)
}

// ForTenant resolves one event type for a tenant: its own definition over the
// built-in one.
func ForTenant(ctx context.Context, defs Definitions, tenantID uuid.UUID, key string) (EventType, bool, error) {
	def, err := defs.Definition(ctx, tenantID, key)
	if err != nil {
		return EventType{}, false, err
	}
	return BuiltIn().Resolve(key, def)
}

// TenantCatalog is the built-in catalog with a tenant's own event types over it.
func TenantCatalog(ctx context.Context, defs Definitions, tenantID uuid.UUID) (Catalog, error) {
	all, err := defs.Definitions(ctx, tenantID)
	if err != nil {
		return Catalog{}, err
	}
	return BuiltIn().WithTenant(all)
}
