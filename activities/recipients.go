package activities

import (
	"context"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/audience"
	"github.com/heraldhq/herald/db/dbq"
)

// Recipients is an event's stored recipient specification.
type Recipients = audience.Spec

// recipientsPage returns the next page of users spec reaches, in ID order.
func recipientsPage(ctx context.Context, q *dbq.Queries, tenantID uuid.UUID, spec Recipients, after string, limit int) ([]dbq.User, error) {
	return q.RecipientsPage(ctx, dbq.RecipientsPageParams{
		TenantID: tenantID, AfterID: after, Everyone: spec.Subscribers,
		UserIds: spec.Users, Roles: spec.RoleNames(), PageSize: int32(limit),
	})
}
