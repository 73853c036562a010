package prefs

// Retention says how long a tenant's records are kept, in days: inbox
// items that are read or archived (unread ones stay), and final deliveries
// with their audit rows and the closed events none of whose deliveries is
// left. A period left out is the default.
type Retention struct {
	InboxDays      *int `json:"inbox_days,omitempty"`
	DeliveriesDays *int `json:"deliveries_days,omitempty"`
}

// Retention defaults and bounds. Deliveries are kept at least 30 days: a
// failed delivery's run waits up to 7 days for a retry, a weekly digest
// reads its items a week after the first, and audit_prune (migration 037)
// refuses audit rows younger than 30 days whatever a tenant sets.
const (
	DefaultInboxDays      = 90
	DefaultDeliveriesDays = 180
	MinInboxDays          = 1
	MinDeliveriesDays     = 30
	MaxRetentionDays      = 3650
)

// Inbox is the inbox period in effect.
func (r Retention) Inbox() int { return orDefault(r.InboxDays, DefaultInboxDays) }

// Deliveries is the deliveries period in effect.
func (r Retention) Deliveries() int { return orDefault(r.DeliveriesDays, DefaultDeliveriesDays) }

func orDefault(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

// Validate names the first period out of bounds.
func (r Retention) Validate() *FieldError {
	for _, f := range []struct {
		name     string
		days     *int
		min, max int
	}{
		{"retention.inbox_days", r.InboxDays, MinInboxDays, MaxRetentionDays},
		{"retention.deliveries_days", r.DeliveriesDays, MinDeliveriesDays, MaxRetentionDays},
	} {
		if f.days != nil && (*f.days < f.min || *f.days > f.max) {
			return fieldErr(f.name, "want a number of days from %d to %d", f.min, f.max)
		}
	}
	return nil
}
