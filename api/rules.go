package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/rules"
)

// maxTenantRules bounds a tenant's rule list: each input event runs every
// rule fed by its type.
const maxTenantRules = 50

// validateRules checks a tenant's rules as they will run (merged over the
// built-ins): names first (400), then each rule's shape and the event types
// it reads and emits, and only then, the request having passed every cheap
// check, the expressions, whose compiler message a tenant needs to fix them
// (422 invalid_rule).
func (s *Server) validateRules(ctx context.Context, tenantID uuid.UUID, own []rules.Rule) error {
	if len(own) > maxTenantRules {
		return invalidField("rules", "at most %d rules", maxTenantRules)
	}
	seen := map[string]bool{}
	for i, r := range own {
		if r.Name == "" {
			return invalidField(fmt.Sprintf("rules[%d].name", i), "every rule needs a name")
		}
		if seen[r.Name] {
			return invalidField(fmt.Sprintf("rules[%d].name", i), "rule %s is listed twice", r.Name)
		}
		seen[r.Name] = true
	}
	var edited []rules.Rule // a built-in the tenant left alone needs no check
	for _, r := range rules.Effective(own) {
		if seen[r.Name] {
			edited = append(edited, r)
		}
	}
	cat, err := catalog.TenantCatalog(ctx, db.Definitions{Q: dbq.New(s.pool)}, tenantID)
	if err != nil {
		return fmt.Errorf("loading the catalog: %w", err)
	}
	for _, r := range edited {
		if err := rules.CheckShape(r); err != nil {
			e := &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_rule",
				Message: fmt.Sprintf("rule %s: %v", r.Name, err), Details: map[string]any{"rule": r.Name}}
			if errors.Is(err, rules.ErrWhenTooLong) {
				e.Details["field"] = "when"
			}
			return e
		}
		if on, ok := cat.Lookup(r.On); !ok || !on.Input {
			return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_rule",
				Message: fmt.Sprintf("rule %s: on must be an input event type (such as outreach.campaign_stats), not %q", r.Name, r.On),
				Details: map[string]any{"rule": r.Name, "field": "on"}}
		}
		for _, emit := range r.Emits() {
			if t, ok := cat.Lookup(emit); !ok || !t.Notifies() || t.Internal {
				return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_rule",
					Message: fmt.Sprintf("rule %s: it emits %q, which is not an event type that notifies; see GET /v1/event-types", r.Name, emit),
					Details: map[string]any{"rule": r.Name, "field": "emit"}}
			}
		}
	}
	for _, r := range edited {
		if _, err := rules.Compile(r.When); err != nil {
			return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_rule",
				Message: fmt.Sprintf("rule %s: the expression does not compile: %v", r.Name, err),
				Details: map[string]any{"rule": r.Name, "field": "when", "compiler": err.Error()}}
		}
	}
	return nil
}

// ruleOutcome is one rule's decision on an input event, as GET
// /v1/events/{id} shows it: whether it fired, and if not, why not.
type ruleOutcome struct {
	Rule           string     `json:"rule"`
	Fired          bool       `json:"fired"`
	Reason         string     `json:"reason"`
	Detail         string     `json:"detail,omitempty"`
	EmittedType    string     `json:"emitted_type,omitempty"`
	EmittedEventID *uuid.UUID `json:"emitted_event_id,omitempty"`
	EvaluatedAt    time.Time  `json:"evaluated_at"`
}

func (s *Server) ruleOutcomes(ctx context.Context, eventID uuid.UUID) ([]ruleOutcome, error) {
	rows, err := dbq.New(s.pool).EventRuleOutcomes(ctx, eventID)
	if err != nil {
		return nil, err
	}
	out := make([]ruleOutcome, 0, len(rows))
	for _, r := range rows {
		o := ruleOutcome{Rule: r.Rule, Fired: r.Fired, Reason: r.Reason, Detail: r.Detail, EmittedType: r.EmittedType,
			EvaluatedAt: r.EvaluatedAt}
		if r.EmittedEventID.Valid {
			o.EmittedEventID = &r.EmittedEventID.UUID
		}
		out = append(out, o)
	}
	return out, nil
}
