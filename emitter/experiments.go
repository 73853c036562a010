package emitter

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/quiet"
)

// PlanExperimentCheck returns an experiment's next check: the first time
// after `after` that the tenant's clock reads checkAt, in the tenant's zone
// as it is now (a tenant that moves zone is checked at its new 09:00).
func (a *Activities) PlanExperimentCheck(ctx context.Context, tenantID uuid.UUID, checkAt string, after time.Time) (time.Time, error) {
	c, err := quiet.ParseClock(checkAt)
	if err != nil {
		return time.Time{}, temporal.NewNonRetryableApplicationError("check_at: "+err.Error(), "BadCheckAt", err)
	}
	t, err := dbq.New(a.Pool).GetTenant(ctx, tenantID)
	if err != nil {
		return time.Time{}, fmt.Errorf("loading the tenant: %w", err)
	}
	loc, err := time.LoadLocation(t.Timezone)
	if err != nil || t.Timezone == "" {
		loc = time.UTC
	}
	return quiet.Next(c, loc, after).UTC(), nil
}
