package contract

import "github.com/google/uuid"

// RetentionWorkflowName is the registered name of Retention.
const RetentionWorkflowName = "Retention"

// RetentionScheduleID is the one Temporal schedule that starts Retention;
// every worker makes sure it exists, so its runs never overlap however many
// workers run.
const RetentionScheduleID = "herald-retention"

// RetentionInput is where a Retention run resumes: after the tenant it
// pruned last (none: from the first), with what the runs before it pruned.
type RetentionInput struct {
	AfterTenant uuid.UUID      `json:"after_tenant"`
	Tally       RetentionTally `json:"tally"`
}

// RetentionTally counts what retention pruned.
type RetentionTally struct {
	Tenants       int   `json:"tenants"`
	Notifications int64 `json:"notifications"`
	Deliveries    int64 `json:"deliveries"`
	Events        int64 `json:"events"`
	AuditRows     int64 `json:"audit_rows"`
}

// Add sums two tallies.
func (t RetentionTally) Add(o RetentionTally) RetentionTally {
	return RetentionTally{Tenants: t.Tenants + o.Tenants, Notifications: t.Notifications + o.Notifications,
		Deliveries: t.Deliveries + o.Deliveries, Events: t.Events + o.Events, AuditRows: t.AuditRows + o.AuditRows}
}
