package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/emitter"
	"github.com/heraldhq/herald/intake"
	"github.com/heraldhq/herald/rules"
)

// ruleView is one rule's decision on an input event.
type ruleView struct {
	Rule           string `json:"rule"`
	Fired          bool   `json:"fired"`
	Reason         string `json:"reason"`
	Detail         string `json:"detail,omitempty"`
	EmittedType    string `json:"emitted_type,omitempty"`
	EmittedEventID string `json:"emitted_event_id,omitempty"`
}

// inputView is GET /v1/events/{id} of an input event, or of an event a
// rule emitted.
type inputView struct {
	EventID       string     `json:"event_id"`
	Type          string     `json:"type"`
	Status        string     `json:"status"`
	SourceEventID string     `json:"source_event_id,omitempty"`
	Rules         []ruleView `json:"rules,omitempty"`
}

// postInput posts an input event under a fresh key.
func (tn *tenant) postInput(typ string, data map[string]any) string {
	tn.t.Helper()
	return tn.postEvent(map[string]any{"type": typ, "data": data}).EventID
}

// evaluated waits for an input event's rules to have decided.
func (tn *tenant) evaluated(id string) inputView {
	tn.t.Helper()
	var v inputView
	waitFor(tn.t, time.Minute, "event "+id+" to be evaluated", func() bool {
		v = decodeAs[inputView](tn.t, tn.must(200, tn.do("GET", "/v1/events/"+id, nil)))
		if v.Status == "failed" {
			tn.t.Fatalf("evaluating %s failed: %+v", id, v)
		}
		return v.Status == "evaluated"
	})
	return v
}

// outcome is the decision of one rule in v.
func outcome(t *testing.T, v inputView, rule string) ruleView {
	t.Helper()
	for _, r := range v.Rules {
		if r.Rule == rule {
			return r
		}
	}
	t.Fatalf("event %s has no outcome for rule %s: %+v", v.EventID, rule, v.Rules)
	return ruleView{}
}

// emittedOf counts the tenant's events of a type.
func (tn *tenant) emittedOf(typ string) int {
	tn.t.Helper()
	return count(tn.t, "SELECT count(*) FROM events WHERE tenant_id = $1 AND type = $2", tn.id, typ)
}

// Twenty concurrent breaches of one campaign fire the bounce-rate rule
// once: one alert, one email per subscriber; the other nineteen say they
// were held back by the cooldown.
func TestBounceRateAlertsOncePerCampaign(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("ann", "ann-bounce@example.com")

	ids := make([]string, 20)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = tn.postInput("outreach.campaign_stats", map[string]any{"campaign_id": "spring", "name": "Spring", "sent": 100 + i, "bounced": 9})
		}()
	}
	wg.Wait()
	fired, cooldown := []inputView{}, 0
	for _, id := range ids {
		v := tn.evaluated(id)
		switch o := outcome(t, v, "bounce_rate"); {
		case o.Fired:
			fired = append(fired, v)
		case o.Reason == "cooldown":
			cooldown++
			if !strings.Contains(o.Detail, "quiet until") {
				t.Errorf("a held breach does not say until when: %q", o.Detail)
			}
		default:
			t.Errorf("breach %s: %+v", id, o)
		}
	}
	if len(fired) != 1 || cooldown != 19 {
		t.Fatalf("%d fired and %d held by the cooldown; want 1 and 19", len(fired), cooldown)
	}
	recordHistory(t, "rules/"+fired[0].EventID, "rules_fired")
	alert := outcome(t, fired[0], "bounce_rate")
	ev := tn.waitEvent(alert.EmittedEventID)
	if ev.Type != "outreach.bounce_rate_alert" || ev.Status != "delivered" {
		t.Fatalf("the alert: %+v", ev)
	}
	src := decodeAs[inputView](t, tn.must(200, tn.do("GET", "/v1/events/"+alert.EmittedEventID, nil)))
	if src.SourceEventID != fired[0].EventID {
		t.Errorf("the alert's source is %q, want the breach %s", src.SourceEventID, fired[0].EventID)
	}
	mail := mailFor(alert.EmittedEventID)
	if len(mail) != 1 || !strings.Contains(mail[0].Subject, "High bounce rate on campaign spring") ||
		!strings.Contains(mail[0].Text, "bounced 9 of") || !strings.Contains(mail[0].Text, "%)") {
		t.Fatalf("want one alert email with the rate, got %d: %+v", len(mail), subjects(mail))
	}
	if n := tn.emittedOf("outreach.bounce_rate_alert"); n != 1 {
		t.Errorf("%d bounce-rate alerts, want 1", n)
	}

	// Below the threshold, at exactly 5 %, and under 10 sent: held, and saying why.
	for _, d := range []map[string]any{
		{"campaign_id": "summer", "sent": 100, "bounced": 5},
		{"campaign_id": "autumn", "sent": 9, "bounced": 9},
	} {
		o := outcome(t, tn.evaluated(tn.postInput("outreach.campaign_stats", d)), "bounce_rate")
		if o.Fired || o.Reason != "condition_false" {
			t.Errorf("%v: %+v, want held as condition_false", d, o)
		}
	}
	// A repeated post of the firing breach is the same event: no second alert.
	if n := tn.emittedOf("outreach.bounce_rate_alert"); n != 1 {
		t.Errorf("%d bounce-rate alerts after the quiet ones, want 1", n)
	}
}

// A connection alerts on changes only, both ways: the first ok is silent,
// degraded alerts, degraded again is silent, ok recovers.
func TestConnectionTransitionsAlertOnChange(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("cy", "cy-conn@example.com")
	steps := []struct {
		status, emits string
	}{{"ok", ""}, {"degraded", "outreach.connection_degraded"}, {"degraded", ""}, {"ok", "outreach.connection_recovered"}, {"ok", ""}}
	for i, st := range steps {
		v := tn.evaluated(tn.postInput("outreach.connection_status", map[string]any{"connection_id": "smtp-main", "kind": "smtp", "status": st.status}))
		o := outcome(t, v, "connection_transition")
		if o.Fired != (st.emits != "") || o.EmittedType != st.emits {
			t.Fatalf("step %d (%s): %+v, want emits %q", i, st.status, o, st.emits)
		}
		if !o.Fired && o.Reason != "unchanged" {
			t.Errorf("step %d: held as %s, want unchanged", i, o.Reason)
		}
		if o.Fired {
			ev := tn.waitEvent(o.EmittedEventID)
			if m := mailFor(ev.EventID); len(m) != 1 || !strings.Contains(m[0].Subject, "smtp connection") {
				t.Errorf("step %d: %d emails %v", i, len(m), subjects(m))
			}
		}
	}
	// Another connection has its own state: its first degraded alerts.
	o := outcome(t, tn.evaluated(tn.postInput("outreach.connection_status", map[string]any{"connection_id": "imap-2", "status": "degraded"})), "connection_transition")
	if !o.Fired {
		t.Errorf("a second connection's first degraded: %+v", o)
	}
	if d, r := tn.emittedOf("outreach.connection_degraded"), tn.emittedOf("outreach.connection_recovered"); d != 2 || r != 1 {
		t.Errorf("%d degraded and %d recovered alerts, want 2 and 1", d, r)
	}
}

// A lead qualifies once, at the tenant's threshold, and its owner's email
// carries the brief.
func TestLeadQualifiesOnceAtTheThreshold(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("olga", "olga-lead@example.com", "role", "owner")
	tn.putUser("mo", "mo-lead@example.com")
	leads := "#leads-" + tn.id.String()[:8]
	tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{"bot_token": "xoxb-e2e",
		"routes": []map[string]any{{"channel": leads, "purposes": []string{"lead.qualified"}}}}))
	lead := func(id string, score int) ruleView {
		return outcome(t, tn.evaluated(tn.postInput("lead.scored", map[string]any{
			"lead_id": id, "score": score, "persona": "CTO", "company": "Initech",
			"fields": map[string]any{"budget": "50k", "timeline": "Q3"}, "summary": "Wants SSO.",
			"transcript_url": "https://calls.example/t/" + id,
		})), "lead_threshold")
	}
	if o := lead("l1", 59); o.Fired || o.Reason != "condition_false" {
		t.Fatalf("59: %+v", o)
	}
	o := lead("l1", 60)
	if !o.Fired || o.EmittedType != "lead.qualified" {
		t.Fatalf("60: %+v", o)
	}
	ev := tn.waitEvent(o.EmittedEventID)
	mail := mailFor(ev.EventID)
	if len(mail) != 1 || mail[0].To[0] != "olga-lead@example.com" {
		t.Fatalf("want one email to the owner, got %d: %v", len(mail), mail)
	}
	for _, want := range []string{"CTO at Initech scored 60", "budget: 50k", "timeline: Q3", "Wants SSO.", "https://calls.example/t/l1"} {
		if !strings.Contains(mail[0].Text, want) {
			t.Errorf("the owner's email lacks %q:\n%s", want, mail[0].Text)
		}
	}
	if !strings.Contains(mail[0].HTML, `href="https://calls.example/t/l1"`) {
		t.Errorf("the owner's email has no one-click link to the call:\n%s", mail[0].HTML)
	}
	// The brief in the leads channel.
	waitFor(t, 10*time.Second, "the Slack brief", func() bool { return len(slackPosts(leads)) == 1 })
	brief, _ := json.Marshal(slackPosts(leads)[0].Blocks)
	for _, want := range []string{`*Persona*\nCTO`, `*Company*\nInitech`, `*Score*\n60`, `*budget*\n50k`, `*Summary*\nWants SSO.`, `"url":"https://calls.example/t/l1"`} {
		if !strings.Contains(string(brief), want) {
			t.Errorf("the Slack brief lacks %s: %s", want, brief)
		}
	}
	if o := lead("l1", 90); o.Fired || o.Reason != "already_fired" {
		t.Errorf("the same lead again: %+v", o)
	}

	// The tenant raises the threshold to 75.
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"lead_threshold": 75}))
	if o := lead("l2", 70); o.Fired {
		t.Errorf("70 under a threshold of 75: %+v", o)
	}
	if o := lead("l3", 75); !o.Fired {
		t.Errorf("75 under a threshold of 75: %+v", o)
	}
	if n := tn.emittedOf("lead.qualified"); n != 2 {
		t.Errorf("%d leads qualified, want 2", n)
	}
}

// Usage warns at 80 % and stops at 100 %, once each per metric and period.
func TestUsageAlertsOncePerPeriod(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("ursula", "ursula-usage@example.com", "role", "owner")
	usage := func(used int, period string) inputView {
		return tn.evaluated(tn.postInput("usage.updated", map[string]any{"metric": "seats", "used": used, "limit": 300, "period": period}))
	}
	fired := func(v inputView) string {
		var out []string
		for _, r := range v.Rules {
			if r.Fired {
				out = append(out, r.Rule)
			}
		}
		return strings.Join(out, ",")
	}
	for _, step := range []struct {
		used   int
		period string
		want   string
	}{
		{239, "2026-11", ""}, {240, "2026-11", "usage_80"}, {299, "2026-11", ""},
		{300, "2026-11", "usage_100"}, {310, "2026-11", ""}, {240, "2026-12", "usage_80"},
	} {
		v := usage(step.used, step.period)
		if got := fired(v); got != step.want {
			t.Errorf("%d of 300 in %s fired %q, want %q: %+v", step.used, step.period, got, step.want, v.Rules)
		}
	}
	var warning string
	for _, m := range env.mail.Messages() {
		if len(m.To) > 0 && m.To[0] == "ursula-usage@example.com" && strings.Contains(m.Subject, "80%") {
			warning = m.Text
		}
	}
	if !strings.Contains(warning, "240 of 300 seats used this period (80%)") || !strings.Contains(warning, "At 100%") {
		t.Errorf("the warning email: %q", warning)
	}
	if w, r := tn.emittedOf("usage.quota_warning"), tn.emittedOf("usage.quota_reached"); w != 2 || r != 1 {
		t.Errorf("%d warnings and %d reached, want 2 and 1", w, r)
	}
}

// Tenants edit rules in their settings: a bad expression is refused with
// the compiler's message and changes nothing; an edit takes effect.
func TestTenantEditsRules(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("ed", "ed-rules@example.com", "role", "owner")
	type settings struct {
		LeadThreshold int               `json:"lead_threshold"`
		Rules         []json.RawMessage `json:"rules"`
	}
	before := tn.must(200, tn.do("GET", "/v1/tenant/settings", nil))
	if s := decodeAs[settings](t, before); len(s.Rules) != len(rules.BuiltIn) || !strings.Contains(string(before.raw), `"when":"data.sent >= 10`) {
		t.Fatalf("the built-in rules are not shown: %s", before.raw)
	}

	bad := tn.do("PUT", "/v1/tenant/settings", map[string]any{"lead_threshold": 70,
		"rules": []map[string]any{{"name": "bounce_rate", "when": "data.sent >= 10 &&"}}})
	if bad.status != 422 || bad.errCode() != "invalid_rule" || !strings.Contains(bad.errorBody().Error.Message, "Syntax error") {
		t.Fatalf("a bad expression: %d %s", bad.status, bad.raw)
	}
	for _, body := range []map[string]any{
		{"rules": []map[string]any{{"name": "mine", "on": "issue.assigned", "when": "true", "emit": "system.notice", "key": []string{"x"}, "at_most": "once"}}},
		{"rules": []map[string]any{{"name": "mine", "on": "usage.updated", "when": "true", "emit": "lead.scored", "key": []string{"metric"}, "at_most": "once"}}},
		{"rules": []map[string]any{{"name": "usage_80", "at_most": "sometimes"}}},
		{"rules": []map[string]any{{"name": "usage_80", "when": "data.used"}}},
	} {
		if r := tn.do("PUT", "/v1/tenant/settings", body); r.status != 422 || r.errCode() != "invalid_rule" {
			t.Errorf("%v: %d %s", body, r.status, r.raw)
		}
	}
	// An expression over 1 KiB is refused before it is compiled, and so is
	// every expression of a request refused for a cheap reason: refused
	// settings leave no compiled program behind.
	long := tn.do("PUT", "/v1/tenant/settings", map[string]any{"rules": []map[string]any{{"name": "usage_80", "when": "data.used > 0 || '" + strings.Repeat("x", 1024) + "' == ''"}}})
	if long.status != 422 || long.errCode() != "invalid_rule" || long.errorBody().Error.Details["field"] != "when" {
		t.Errorf("an expression over 1 KiB: %d %s", long.status, long.raw)
	}
	unique := "data.used > 0 && '" + tn.id.String() + "' != ''"
	refused := tn.do("PUT", "/v1/tenant/settings", map[string]any{"rules": []map[string]any{
		{"name": "usage_80", "when": unique},
		{"name": "mine", "on": "usage.updated", "when": unique + " ", "emit": "no.such_type", "key": []string{"metric"}, "at_most": "once"}}})
	if refused.status != 422 || refused.errCode() != "invalid_rule" {
		t.Errorf("a rule emitting an unknown type: %d %s", refused.status, refused.raw)
	}
	if rules.Cached(unique) || rules.Cached(unique+" ") {
		t.Error("a refused request left compiled programs behind")
	}
	if after := tn.must(200, tn.do("GET", "/v1/tenant/settings", nil)); string(after.raw) != string(before.raw) {
		t.Fatalf("refused settings changed them:\n%s\n%s", before.raw, after.raw)
	}

	// Bounce alerts above 20 % only; the 80 % usage warning off; a rule of
	// the tenant's own that emits a notice when usage passes half.
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"rules": []map[string]any{
		{"name": "bounce_rate", "when": "data.sent >= 10 && data.bounced / data.sent > 0.2"},
		{"name": "usage_80", "disabled": true},
		{"name": "usage_half", "on": "usage.updated", "when": "data.used * 2.0 >= data.limit", "emit": "billing.notice",
			"key": []string{"metric", "period"}, "at_most": "once"},
	}}))
	got := tn.must(200, tn.do("GET", "/v1/tenant/settings", nil))
	if s := decodeAs[settings](t, got); len(s.Rules) != len(rules.BuiltIn)+1 || !strings.Contains(string(got.raw), "0.2") {
		t.Fatalf("the edited rules: %s", got.raw)
	}
	if o := outcome(t, tn.evaluated(tn.postInput("outreach.campaign_stats", map[string]any{"campaign_id": "c", "sent": 100, "bounced": 10})), "bounce_rate"); o.Fired {
		t.Errorf("10 %% under a 20 %% rule fired: %+v", o)
	}
	v := tn.evaluated(tn.postInput("usage.updated", map[string]any{"metric": "api_calls", "used": 900, "limit": 1000, "period": "p1", "title": "Half your API calls are used"}))
	var names []string
	for _, r := range v.Rules {
		names = append(names, fmt.Sprintf("%s:%v", r.Rule, r.Fired))
	}
	if got := strings.Join(names, " "); got != "usage_100:false usage_half:true usage_projection:false usage_trend:false" {
		t.Errorf("rules on 90%% usage: %s, want usage_100 held, usage_80 off, usage_half fired and a first reading measuring no pace", got)
	}

	// [] restores the built-ins.
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"rules": []any{}}))
	if s := decodeAs[settings](t, tn.must(200, tn.do("GET", "/v1/tenant/settings", nil))); len(s.Rules) != len(rules.BuiltIn) {
		t.Errorf("after [] the tenant runs %d rules, want the %d built-ins", len(s.Rules), len(rules.BuiltIn))
	}
}

// Once and on-change rules are race-free too: twenty concurrent first
// scores of one lead qualify it once, and twenty concurrent first
// "degraded" reports of one connection alert once.
func TestConcurrentInputsFireOnce(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("owen", "owen-race@example.com", "role", "owner")
	for _, tc := range []struct {
		typ, rule string
		data      map[string]any
	}{
		{"lead.scored", "lead_threshold", map[string]any{"lead_id": "hot", "score": 88}},
		{"outreach.connection_status", "connection_transition", map[string]any{"connection_id": "smtp-9", "status": "degraded"}},
	} {
		ids := make([]string, 20)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := map[string]any{"attempt": i}
				for k, v := range tc.data {
					d[k] = v
				}
				ids[i] = tn.postInput(tc.typ, d)
			}()
		}
		wg.Wait()
		fired := 0
		for _, id := range ids {
			if outcome(t, tn.evaluated(id), tc.rule).Fired {
				fired++
			}
		}
		if fired != 1 {
			t.Errorf("%s: %d of 20 concurrent inputs fired, want 1", tc.rule, fired)
		}
	}
	if q, d := tn.emittedOf("lead.qualified"), tn.emittedOf("outreach.connection_degraded"); q != 1 || d != 1 {
		t.Errorf("%d leads qualified and %d degraded alerts, want 1 each", q, d)
	}
}

// An evaluation that runs again (an activity retry after a crash, say)
// repeats its stored outcomes and submits the same emitted events: the
// lead is still qualified once, and the answer names the same event.
func TestRuleEvaluationRetriesEmitOnce(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("rita", "rita-retry@example.com", "role", "owner")
	id := tn.postInput("lead.scored", map[string]any{"lead_id": "again", "score": 99})
	first := outcome(t, tn.evaluated(id), "lead_threshold")
	if !first.Fired {
		t.Fatalf("the lead did not qualify: %+v", first)
	}
	acts := &emitter.Activities{Pool: env.pool, Intake: &intake.Service{Pool: env.pool, Temporal: env.temporal, TaskQueue: "herald-e2e"}}
	for range 2 {
		res, err := acts.EvaluateRules(context.Background(), contract.RulesInput{TenantID: tn.id, EventID: uuid.MustParse(id), Type: "lead.scored"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Fired != 1 || len(res.Emitted) != 1 || res.Emitted[0].String() != first.EmittedEventID {
			t.Fatalf("a second evaluation: %+v, want the first's event %s", res, first.EmittedEventID)
		}
	}
	tn.waitEvent(first.EmittedEventID)
	if n := tn.emittedOf("lead.qualified"); n != 1 {
		t.Errorf("%d lead.qualified events, want 1", n)
	}
	if m := mailFor(first.EmittedEventID); len(m) != 1 {
		t.Errorf("%d emails to the owner, want 1", len(m))
	}
	if r := tn.do("DELETE", "/v1/events/"+id, nil); r.status != 409 || r.errCode() != "already_evaluated" {
		t.Errorf("cancelling an evaluated input: %d %s", r.status, r.raw)
	}
}
