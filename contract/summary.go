package contract

import "github.com/google/uuid"

// SummaryWorkflowName is the registered name of Summary.
const SummaryWorkflowName = "Summary"

// SummaryScheduleID is the ID of a tenant's schedule for one scheduled
// summary (prefs.SummaryWeekly, prefs.SummaryDaily); its runs' IDs start
// with it.
func SummaryScheduleID(tenantID uuid.UUID, kind string) string {
	return "summary/" + tenantID.String() + "/" + kind
}

// SummaryInput is what a tenant's summary schedule starts: one summary of
// kind, for the period that ends when the run starts.
type SummaryInput struct {
	TenantID uuid.UUID `json:"tenant_id"`
	Kind     string    `json:"kind"`
}
