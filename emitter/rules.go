package emitter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/prefs"
	"github.com/heraldhq/herald/rules"
)

// Error types of an input event that no retry can decide: its tenant's
// settings or its data cannot be read.
const (
	errTypeBadSettings = "BadSettings"
	errTypeBadData     = "BadData"
)

// Why a rule held back, as GET /v1/events/{id} shows it.
const (
	ReasonFired        = "fired"
	ReasonCondition    = "condition_false" // below the threshold
	ReasonCooldown     = "cooldown"        // fired for this key within its cooldown
	ReasonOnce         = "already_fired"   // a once rule fired for this key before
	ReasonUnchanged    = "unchanged"       // on_change: the value is the one last seen
	ReasonMissingKey   = "missing_key"     // the data lacks a key field
	ReasonInvalidRule  = "invalid_rule"    // the expression no longer compiles or runs
	ReasonNoEmitForNow = "no_event"        // on_change: the new value emits nothing
	ReasonSuperseded   = "superseded"      // a rule that supersedes it holds for this event
)

// EvaluateRules decides every enabled rule of the tenant fed by an input
// event, records each outcome, and submits the events of those that fired.
// Each rule's decision, its state change and its outcome row commit in one
// transaction; a retry finds the outcome and repeats it, so a rule fires at
// most once per event however often this runs, and the emitted event, keyed
// by rule and input event, is submitted as the same event.
func (a *Activities) EvaluateRules(ctx context.Context, in contract.RulesInput) (contract.RulesResult, error) {
	var res contract.RulesResult
	q := dbq.New(a.Pool)
	ev, err := q.GetEvent(ctx, dbq.GetEventParams{TenantID: in.TenantID, ID: in.EventID})
	if err != nil {
		return res, fmt.Errorf("loading the event: %w", err)
	}
	if ev.Status == delivery.EventCancelled {
		return res, nil // cancelled before its rules ran: it feeds none
	}
	t, err := q.GetTenant(ctx, in.TenantID)
	if err != nil {
		return res, fmt.Errorf("loading the tenant: %w", err)
	}
	st, err := prefs.ParseSettings(t.Settings, t.Timezone)
	if err != nil {
		return res, temporal.NewNonRetryableApplicationError("reading tenant settings: "+err.Error(), errTypeBadSettings, err)
	}
	data, err := catalog.DecodeData(ev.Data)
	if err != nil {
		return res, temporal.NewNonRetryableApplicationError(err.Error(), errTypeBadData, err)
	}
	tenant := map[string]any{"lead_threshold": json.Number(strconv.Itoa(st.LeadThreshold)), "timezone": st.Timezone,
		"usage_trend_percent": json.Number(strconv.Itoa(st.UsageTrendPercent))}
	if ev.Type == UsageInput {
		facts, err := a.usageFacts(ctx, ev, data, st.Timezone)
		if err != nil {
			return res, fmt.Errorf("measuring usage: %w", err)
		}
		// Herald's measures replace fields of the same names: a rule
		// reading growth_percent reads Herald's.
		for k, v := range facts {
			data[k] = v
		}
	}
	effective := rules.Effective(st.Rules)
	for _, r := range effective {
		if r.On != ev.Type || r.Disabled {
			continue
		}
		out, err := a.decide(ctx, ev, r, effective, data, tenant)
		if err != nil {
			return res, fmt.Errorf("rule %s: %w", r.Name, err)
		}
		if !out.Fired {
			res.Held++
			continue
		}
		res.Fired++
		if _, err := a.SubmitEvent(ctx, emission(ev, r.Name, out.EmittedType, data, st.LeadThreshold)); err != nil {
			return res, fmt.Errorf("rule %s: emitting %s: %w", r.Name, out.EmittedType, err)
		}
		res.Emitted = append(res.Emitted, out.EmittedEventID.UUID)
	}
	return res, nil
}

// decide returns the rule's outcome for the event: the stored one, if an
// earlier attempt decided, else a fresh decision, stored with the state it
// changes.
func (a *Activities) decide(ctx context.Context, ev dbq.Event, r rules.Rule, all []rules.Rule, data, tenant map[string]any) (dbq.RuleOutcome, error) {
	tx, err := a.Pool.Begin(ctx)
	if err != nil {
		return dbq.RuleOutcome{}, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	q := dbq.New(tx)
	prev, err := q.GetRuleOutcome(ctx, dbq.GetRuleOutcomeParams{EventID: ev.ID, Rule: r.Name})
	if err == nil {
		return prev, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return prev, err
	}
	var at *time.Time
	if a.Now != nil {
		at = ptr(a.Now())
	}
	out, err := judge(ctx, q, ev, r, all, data, tenant, at)
	if err != nil {
		return out, err
	}
	if out.Fired {
		if err := claimSuperseded(ctx, q, ev, r, all, data); err != nil {
			return out, err
		}
	}
	out.EventID, out.Rule = ev.ID, r.Name
	if out.Fired {
		out.EmittedEventID = uuid.NullUUID{UUID: contract.EventID(ev.TenantID, emitKey(r.Name, ev.ID)), Valid: true}
	}
	if err := q.InsertRuleOutcome(ctx, dbq.InsertRuleOutcomeParams{EventID: ev.ID, Rule: r.Name, Fired: out.Fired,
		Reason: out.Reason, Detail: out.Detail, EmittedType: out.EmittedType, EmittedEventID: out.EmittedEventID}); err != nil {
		return out, err
	}
	return out, tx.Commit(ctx)
}

// judge decides a rule within the caller's transaction: the condition
// (pure), then the rule's limit, whose state changes with one conditional
// upsert, so concurrent events with one key fire it once.
func judge(ctx context.Context, q *dbq.Queries, ev dbq.Event, r rules.Rule, all []rules.Rule, data, tenant map[string]any, at *time.Time) (dbq.RuleOutcome, error) {
	held := func(reason, format string, args ...any) (dbq.RuleOutcome, error) {
		return dbq.RuleOutcome{Reason: reason, Detail: fmt.Sprintf(format, args...)}, nil
	}
	limit, err := rules.ParseLimit(r.AtMost)
	if err != nil {
		return held(ReasonInvalidRule, "%v", err)
	}
	prg, err := rules.Compile(r.When)
	if err != nil {
		return held(ReasonInvalidRule, "%v", err)
	}
	ok, err := prg.Eval(data, tenant)
	if err != nil {
		return held(ReasonInvalidRule, "evaluating %s: %v", r.When, err)
	}
	if !ok {
		return held(ReasonCondition, "%s is false for this event", r.When)
	}
	// Pure, like the condition: whatever order concurrent events commit
	// in, an event past the superseding threshold never fires this rule.
	for _, by := range rules.SupersededBy(r, all) {
		if p, err := rules.Compile(by.When); err == nil {
			if over, err := p.Eval(data, tenant); err == nil && over {
				return held(ReasonSuperseded, "rule %s holds for this event too (%s), which makes this one stale", by.Name, by.When)
			}
		}
	}
	key, err := rules.KeyOf(r, data)
	if err != nil {
		return held(ReasonMissingKey, "%v", err)
	}
	state := func() dbq.RuleState {
		s, _ := q.GetRuleState(ctx, dbq.GetRuleStateParams{TenantID: ev.TenantID, Rule: r.Name, Key: key})
		return s
	}
	fired := dbq.RuleOutcome{Fired: true, Reason: ReasonFired, EmittedType: r.Emit}
	switch {
	case limit.OnChange:
		now := fmt.Sprint(data[r.Field])
		if data[r.Field] == nil {
			return held(ReasonMissingKey, "data.%s is missing: rule %s watches it", r.Field, r.Name)
		}
		inserted, err := q.RecordValue(ctx, dbq.RecordValueParams{TenantID: ev.TenantID, Rule: r.Name, Key: key,
			Value: &now, SourceEventID: ev.ID})
		if errors.Is(err, pgx.ErrNoRows) {
			return held(ReasonUnchanged, "%s is still %q for %s", r.Field, now, key)
		}
		if err != nil {
			return dbq.RuleOutcome{}, err
		}
		// A row came back: the value is the first seen for the key
		// (compared with the rule's assumed initial state), or it differs
		// from the last one seen (the upsert's condition).
		emit := r.EmitOn[now]
		if inserted {
			emit = rules.Transition(r, "", false, now)
		}
		if emit == "" {
			if inserted {
				return held(ReasonUnchanged, "the first %s seen for %s is %q, the assumed state", r.Field, key, now)
			}
			return held(ReasonNoEmitForNow, "%s changed to %q, which emits nothing", r.Field, now)
		}
		fired.EmittedType = emit
		fired.Detail = fmt.Sprintf("%s changed to %q for %s", r.Field, now, key)
		return fired, nil
	case limit.Once:
		_, err := q.FireOnce(ctx, dbq.FireOnceParams{TenantID: ev.TenantID, Rule: r.Name, Key: key, SourceEventID: ev.ID})
		if errors.Is(err, pgx.ErrNoRows) {
			s := state()
			return held(ReasonOnce, "already fired for %s at %s (event %s)", key, stamp(s.FiredAt), s.SourceEventID)
		}
		if err != nil {
			return dbq.RuleOutcome{}, err
		}
		fired.Detail = "first time for " + key
		return fired, nil
	default:
		_, err := q.FireAfterCooldown(ctx, dbq.FireAfterCooldownParams{TenantID: ev.TenantID, Rule: r.Name, Key: key,
			At: at, SourceEventID: ev.ID, CooldownSeconds: limit.Cooldown.Seconds()})
		if errors.Is(err, pgx.ErrNoRows) {
			s := state()
			next := "later"
			if s.FiredAt != nil {
				next = stamp(ptr(s.FiredAt.Add(limit.Cooldown)))
			}
			return held(ReasonCooldown, "fired for %s at %s (event %s); quiet until %s", key, stamp(s.FiredAt), s.SourceEventID, next)
		}
		if err != nil {
			return dbq.RuleOutcome{}, err
		}
		fired.Detail = fmt.Sprintf("fired for %s; the next alert for it waits %s", key, limit.Cooldown)
		return fired, nil
	}
}

// claimSuperseded marks the once rules r supersedes as fired for this
// event's key, in r's transaction: an input that arrives later and lower
// (a count corrected down, a delayed sample) finds them fired and sends
// nothing stale. A rule already fired for the key keeps its record.
func claimSuperseded(ctx context.Context, q *dbq.Queries, ev dbq.Event, r rules.Rule, all []rules.Rule, data map[string]any) error {
	for _, other := range all {
		if other.On != r.On || !slices.Contains(r.Supersedes, other.Name) {
			continue
		}
		if l, err := rules.ParseLimit(other.AtMost); err != nil || !l.Once {
			continue
		}
		key, err := rules.KeyOf(other, data)
		if err != nil {
			continue // it could not fire for this event either
		}
		_, err = q.FireOnce(ctx, dbq.FireOnceParams{TenantID: ev.TenantID, Rule: other.Name, Key: key, SourceEventID: ev.ID})
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("marking %s superseded: %w", other.Name, err)
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func stamp(t *time.Time) string {
	if t == nil {
		return "an unknown time"
	}
	return t.UTC().Format(time.RFC3339)
}

// emitKey is the idempotency key of what a rule emits for an input event.
func emitKey(rule string, source uuid.UUID) string { return "rule:" + rule + ":" + source.String() }

// emission is the event a fired rule submits: the input's data, with what
// a reader wants computed (the bounce rate, the share of a quota used),
// to the emitted type's default recipients.
func emission(ev dbq.Event, rule, typ string, data map[string]any, leadThreshold int) contract.EmitRequest {
	out := make(map[string]any, len(data)+3)
	for k, v := range data {
		out[k] = v
	}
	out["rule"] = rule
	// Rate writes nothing when either number is missing or the whole is 0.
	for key, share := range map[string][2]string{"bounce_rate": {"bounced", "sent"}, "reply_rate": {"replies", "sent"}, "percent": {"used", "limit"}} {
		if r := catalog.Rate(data[share[0]], data[share[1]]); r != "" {
			out[key] = r
		}
	}
	if typ == catalog.LeadQualified {
		out["threshold"] = leadThreshold
	}
	link := ev.Link
	if u, ok := data["transcript_url"].(string); ok && link == "" && typ == catalog.LeadQualified && strings.HasPrefix(u, "https://") {
		link = u // the owner's one click goes to the call
	}
	return contract.EmitRequest{TenantID: ev.TenantID, Type: typ, Data: out, IdempotencyKey: emitKey(rule, ev.ID),
		Urgent: ev.Urgent, Link: link, Source: ev.ID}
}
