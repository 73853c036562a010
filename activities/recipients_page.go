package activities

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/audience"
	"github.com/heraldhq/herald/db/dbq"
)

// recipientsPage returns up to limit of the users spec reaches whose IDs sort
// after after, in ID order, each once. A page shorter than limit is the last.
//
// Each audience kind has its own query, so a page costs about limit index
// reads whatever the tenant's size: everyone walks the primary key, roles walk
// users_by_role, and named users are looked up by primary key one by one.
func recipientsPage(ctx context.Context, q *dbq.Queries, tenantID uuid.UUID, spec audience.Spec, after string, limit int) ([]dbq.User, error) {
	if limit <= 0 || limit > math.MaxInt32 {
		return nil, fmt.Errorf("recipient page size %d out of range", limit)
	}
	size := int32(limit)
	switch {
	case spec.Subscribers:
		// Everyone includes whoever is also named or has a listed role.
		return q.TenantRecipientsPage(ctx, dbq.TenantRecipientsPageParams{TenantID: tenantID, AfterID: after, PageSize: size})
	case len(spec.Users) > 0:
		return q.NamedRecipientsPage(ctx, dbq.NamedRecipientsPageParams{
			TenantID: tenantID, AfterID: after, UserIds: spec.Users, Roles: distinct(spec.RoleNames()), PageSize: size,
		})
	case len(spec.RoleNames()) > 0:
		return q.RoleRecipientsPage(ctx, dbq.RoleRecipientsPageParams{
			TenantID: tenantID, AfterID: after, Roles: distinct(spec.RoleNames()), PageSize: size,
		})
	}
	return nil, nil
}

// distinct returns s without repeats: the role queries read one index range
// per listed role, so a repeated role would list its members twice.
func distinct(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}
