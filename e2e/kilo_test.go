package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/emitter"
	"github.com/heraldhq/herald/intake"
)

// impliedSlackView is GET /v1/integrations/slack with the implied flag of
// its routes.
type impliedSlackView struct {
	WebhookURLSet bool `json:"webhook_url_set"`
	Routes        []struct {
		Channel  string   `json:"channel"`
		Purposes []string `json:"purposes"`
		Implied  bool     `json:"implied"`
	} `json:"routes"`
}

// hookTexts are the texts of the posts an incoming webhook received.
func hookTexts(t *testing.T, h *hookServer) []string {
	t.Helper()
	var out []string
	for _, c := range h.calls() {
		var msg struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(c.body, &msg); err != nil {
			t.Fatalf("a post that is not Slack's JSON: %s", c.body)
		}
		out = append(out, msg.Text)
	}
	return out
}

// Kilo's setup: a tenant pastes its Slack webhook URL and sets nothing
// else. Lead briefs and usage alerts post on it, other types do not, a GET
// shows the implied route, and a jump straight past the limit sends the
// 100 % alert alone.
func TestPastedSlackWebhookPostsLeadBriefsAndUsageAlerts(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	hook := newHookServer(t)
	tn.putUser("kim", "kim-kilo@example.com", "role", "owner")

	put := decodeAs[impliedSlackView](t, tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{"webhook_url": hook.URL})))
	got := decodeAs[impliedSlackView](t, tn.must(200, tn.do("GET", "/v1/integrations/slack", nil)))
	for _, v := range []impliedSlackView{put, got} {
		if !v.WebhookURLSet || len(v.Routes) != 1 || !v.Routes[0].Implied || v.Routes[0].Channel != "incoming-webhook" ||
			len(v.Routes[0].Purposes) != 1 || v.Routes[0].Purposes[0] != "*" {
			t.Fatalf("the Slack integration of a pasted URL: %+v, want one implied route *", v)
		}
	}

	// A jump straight to 100 %: one alert, the 100 % one, by email and on Slack.
	jump := tn.evaluated(tn.postInput("usage.updated", map[string]any{"metric": "calls", "used": 500, "limit": 500, "period": "2026-05"}))
	if o := outcome(t, jump, "usage_80"); o.Fired || o.Reason != "superseded" {
		t.Errorf("usage_80 on a jump to 100%%: %+v, want held as superseded", o)
	}
	reached := outcome(t, jump, "usage_100")
	if !reached.Fired {
		t.Fatalf("usage_100 on a jump to 100%%: %+v", reached)
	}
	if ev := tn.waitSettled(reached.EmittedEventID, time.Minute); ev.Status != "delivered" {
		t.Fatalf("the 100%% alert: %+v", ev)
	}
	texts := hookTexts(t, hook)
	if len(texts) != 1 || !strings.Contains(texts[0], "paused until you add a top-up pack or the billing cycle resets") {
		t.Fatalf("the webhook got %q, want the 100%% alert once", texts)
	}
	if mail := mailFor(reached.EmittedEventID); len(mail) != 1 || mail[0].To[0] != "kim-kilo@example.com" {
		t.Errorf("want the owner's one 100%% email, got %v", recipientsOf(mail))
	}
	// Later and lower in the same period (a corrected count): the 80 % alert
	// would be stale, and stays unsent.
	lower := tn.evaluated(tn.postInput("usage.updated", map[string]any{"metric": "calls", "used": 450, "limit": 500, "period": "2026-05"}))
	if o := outcome(t, lower, "usage_80"); o.Fired {
		t.Errorf("usage_80 fired after usage_100 in the same period: %+v", o)
	}
	if w := tn.emittedOf("usage.quota_warning"); w != 0 {
		t.Errorf("%d 80%% warnings emitted, want none", w)
	}

	// The 80 % alert of another metric posts too, suggesting a top-up or an upgrade.
	warn := outcome(t, tn.evaluated(tn.postInput("usage.updated", map[string]any{"metric": "seats", "used": 8, "limit": 10, "period": "2026-05"})), "usage_80")
	if !warn.Fired {
		t.Fatalf("usage_80 at 80%%: %+v", warn)
	}
	tn.waitSettled(warn.EmittedEventID, time.Minute)

	// A lead brief posts.
	lead := outcome(t, tn.evaluated(tn.postInput("lead.scored", map[string]any{"lead_id": "L-7", "score": 91, "company": "Acme"})), "lead_threshold")
	if !lead.Fired {
		t.Fatalf("lead_threshold: %+v", lead)
	}
	tn.waitSettled(lead.EmittedEventID, time.Minute)

	// A type that does not send to Slack posts nothing.
	notice := tn.postEvent(map[string]any{"type": "billing.notice", "data": map[string]any{"title": "Invoice ready"}})
	tn.waitSettled(notice.EventID, time.Minute)

	texts = hookTexts(t, hook)
	if len(texts) != 3 || !strings.Contains(texts[1], "consider a top-up pack or an upgrade") || !strings.Contains(texts[2], "Acme") {
		t.Fatalf("the webhook got %q, want the 100%% alert, the 80%% alert and the lead brief", texts)
	}

	// The GET sent back as it came changes nothing; routes of its own
	// replace the implied one.
	again := decodeAs[impliedSlackView](t, tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{"routes": got.Routes})))
	if len(again.Routes) != 1 || !again.Routes[0].Implied {
		t.Errorf("after a PUT of the GET's routes: %+v, want the implied route still", again)
	}
	if n := count(t, `SELECT count(*) FROM integrations WHERE tenant_id = $1 AND kind = 'slack' AND config->'routes' = '[]'::jsonb`, tn.id); n != 1 {
		t.Errorf("the implied route was stored")
	}
	r := tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{"routes": []map[string]any{{"channel": "#leads", "purposes": []string{"leads"}}}}))
	if own := decodeAs[slackView](t, r); len(own.Routes) != 1 || own.Routes[0].Channel != "#leads" || strings.Contains(string(r.raw), "implied") {
		t.Errorf("routes of the tenant's own: %s", r.raw)
	}
}

// The lead brief's email to the owner is required by default: the owner
// cannot turn it off, a category opt-out does not stop it and it carries
// no one-click unsubscribe. The tenant lifts the requirement by naming the
// type with no channels; then the owner's opt-out holds.
func TestLeadBriefEmailRequiredUntilTheTenantLiftsIt(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("olive", "olive-lead@example.com", "role", "owner")
	brief := func(lead string) eventView {
		t.Helper()
		o := outcome(t, tn.evaluated(tn.postInput("lead.scored", map[string]any{"lead_id": lead, "score": 88, "company": "Globex"})), "lead_threshold")
		if !o.Fired {
			t.Fatalf("lead %s did not qualify: %+v", lead, o)
		}
		return tn.waitSettled(o.EmittedEventID, time.Minute)
	}

	st := decodeAs[settingsView](t, tn.must(200, tn.do("GET", "/v1/tenant/settings", nil)))
	if got := st.Required["events"]["lead.qualified"]; len(got) != 1 || got[0] != "email" {
		t.Fatalf("a new tenant's required lead.qualified = %v, want [email]", got)
	}
	r := tn.do("PUT", "/v1/users/olive/preferences", map[string]any{"events": map[string]any{"lead.qualified": map[string]any{"email": false}}})
	if e := r.errorBody().Error; r.status != 422 || e.Code != "required_notification" || e.Details["field"] != "events.lead.qualified.email" {
		t.Fatalf("the owner turning the lead brief email off: %d %s, want 422 required_notification", r.status, r.raw)
	}
	tn.must(200, tn.do("PUT", "/v1/users/olive/preferences", map[string]any{"categories": map[string]any{"leads": map[string]any{"email": false}}}))
	ev := brief("L-1")
	mail := mailFor(ev.EventID)
	if len(mail) != 1 || mail[0].To[0] != "olive-lead@example.com" {
		t.Fatalf("the required brief email: %v, want olive's one", recipientsOf(mail))
	}
	if h := mail[0].Header["List-Unsubscribe"]; len(h) != 0 {
		t.Errorf("a required email offers one-click unsubscribe: %q", h)
	}

	// Lifted: the default no longer holds, and the owner may opt out.
	st = decodeAs[settingsView](t, tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{
		"required": map[string]any{"events": map[string]any{"lead.qualified": []string{}}}})))
	if got, named := st.Required["events"]["lead.qualified"]; !named || len(got) != 0 {
		t.Fatalf("after lifting, required lead.qualified = %v (named %v), want []", got, named)
	}
	// The category opt-out is removed (null: the PUT rule), so the lifted
	// brief email goes out, now with one-click unsubscribe.
	tn.must(200, tn.do("PUT", "/v1/users/olive/preferences", map[string]any{"categories": nil}))
	mail = mailFor(brief("L-2").EventID)
	if len(mail) != 1 || len(mail[0].Header["List-Unsubscribe"]) != 1 {
		t.Fatalf("the brief email once lifted: %d messages, want one with List-Unsubscribe", len(mail))
	}
	tn.must(200, tn.do("PUT", "/v1/users/olive/preferences", map[string]any{"events": map[string]any{"lead.qualified": map[string]any{"email": false}}}))
	ev = brief("L-3")
	if n := len(mailFor(ev.EventID)); n != 0 {
		t.Errorf("%d emails after the owner opted out of a lifted requirement, want 0", n)
	}
	if d := deliveryOf(ev, "olive", "email"); d.Status != "skipped" || d.Reason != "preference_disabled" {
		t.Errorf("olive's email: %+v, want skipped preference_disabled", d)
	}
	if d := deliveryOf(ev, "olive", "in_app"); d.Status != "delivered" {
		t.Errorf("olive's in-app: %+v, want delivered", d)
	}
}

// Push is listed as coming soon, and naming it in a preference (channel,
// category, event type), a tenant setting or an event type is 422
// channel_not_available, storing nothing.
func TestPushIsListedButNotAvailable(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("pat", "pat-push@example.com")

	type channelInfo struct {
		Key       string `json:"key"`
		Title     string `json:"title"`
		Available bool   `json:"available"`
		Status    string `json:"status"`
	}
	list := decodeAs[struct {
		Data []channelInfo `json:"data"`
	}](t, tn.must(200, tn.do("GET", "/v1/channels", nil)))
	avail := map[string]string{}
	for _, c := range list.Data {
		avail[c.Key] = c.Status
		if c.Available != (c.Status == "available") {
			t.Errorf("channel %+v: available and status disagree", c)
		}
	}
	if len(avail) != 5 || avail["push"] != "coming_soon" || avail["email"] != "available" || avail["in_app"] != "available" ||
		avail["slack"] != "available" || avail["webhook"] != "available" {
		t.Errorf("GET /v1/channels = %+v, want four available and push coming soon", list.Data)
	}

	prefsBefore := tn.do("GET", "/v1/users/pat/preferences", nil).raw
	settingsBefore := tn.do("GET", "/v1/tenant/settings", nil).raw
	for _, tc := range []struct{ path, body, field string }{
		{"/v1/users/pat/preferences", `{"channels":{"push":{"enabled":true}}}`, "channels.push"},
		{"/v1/users/pat/preferences", `{"categories":{"issues":{"push":true}}}`, "categories.issues.push"},
		{"/v1/users/pat/preferences", `{"events":{"issue.assigned":{"push":true}}}`, "events.issue.assigned.push"},
		{"/v1/tenant/settings", `{"defaults":{"channels":{"push":{"enabled":true}}}}`, "defaults.channels.push"},
		{"/v1/tenant/settings", `{"required":{"events":{"issue.assigned":["push"]}}}`, "required.events.issue.assigned"},
		{"/v1/event-types/acme.push_only", `{"category":"issues","title":"Push only","channels":["push"],"templates":{"subject":"Hi","text":"Hi"}}`, "channels"},
	} {
		r := tn.do("PUT", tc.path, tc.body)
		if e := r.errorBody().Error; r.status != 422 || e.Code != "channel_not_available" || e.Details["field"] != tc.field {
			t.Errorf("PUT %s %s: %d %s, want 422 channel_not_available naming %s", tc.path, tc.body, r.status, r.raw, tc.field)
		}
	}
	if after := tn.do("GET", "/v1/users/pat/preferences", nil).raw; string(after) != string(prefsBefore) {
		t.Errorf("a refused document changed the stored preferences")
	}
	if after := tn.do("GET", "/v1/tenant/settings", nil).raw; string(after) != string(settingsBefore) {
		t.Errorf("refused settings changed what is stored")
	}
	if n := count(t, `SELECT count(*) FROM event_types WHERE tenant_id = $1`, tn.id); n != 0 {
		t.Errorf("a refused event type was stored")
	}
	// A channel that is not listed at all is still bad input.
	if r := tn.do("PUT", "/v1/users/pat/preferences", `{"channels":{"pager":{"enabled":true}}}`); r.status != 400 {
		t.Errorf("an unknown channel: %d %s, want 400", r.status, r.raw)
	}
}

// The bounce-rate cooldown ends after its 24 hours: on the rule's clock,
// a breach 23 hours after an alert is held, one just past 24 hours alerts
// again, and the next is held by the new cooldown. Two alert emails reach
// the subscriber. The inputs are stored on a task queue no worker serves,
// so only this test's evaluator, with its clock, decides them; what it
// emits is delivered by the shared worker.
func TestBounceRateCooldownFiresAgainAfterItsWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	tn.putUser("cleo", "cleo-cooldown@example.com")
	idle := &intake.Service{Pool: env.pool, Temporal: env.temporal, TaskQueue: "idle-" + tn.id.String()}
	clock := time.Now()
	acts := &emitter.Activities{Pool: env.pool, Now: func() time.Time { return clock },
		Intake: &intake.Service{Pool: env.pool, Temporal: env.temporal, TaskQueue: "herald-e2e"}}
	breach := func(after time.Duration, sent int) (fired bool, detail, emitted string) {
		t.Helper()
		clock = clock.Add(after)
		acc, err := idle.Submit(ctx, tn.id, intake.Request{Type: "outreach.campaign_stats",
			Data: map[string]any{"campaign_id": "winter", "sent": sent, "bounced": 12}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.temporal.TerminateWorkflow(context.Background(), acc.WorkflowID, "", "test done") })
		if _, err := acts.EvaluateRules(ctx, contract.RulesInput{TenantID: tn.id, EventID: acc.EventID, Type: "outreach.campaign_stats"}); err != nil {
			t.Fatal(err)
		}
		var reason string
		var id *uuid.UUID
		if err := env.pool.QueryRow(ctx, `SELECT fired, reason, detail, emitted_event_id FROM rule_outcomes WHERE event_id = $1 AND rule = 'bounce_rate'`,
			acc.EventID).Scan(&fired, &reason, &detail, &id); err != nil {
			t.Fatal(err)
		}
		if !fired && reason != "cooldown" {
			t.Fatalf("a breach held as %s (%s), want cooldown", reason, detail)
		}
		if id != nil {
			emitted = id.String()
		}
		return fired, detail, emitted
	}

	var alerts []string
	for i, step := range []struct {
		after time.Duration
		fires bool
	}{
		{0, true},
		{23 * time.Hour, false},
		{time.Hour + time.Minute, true}, // 24 h 1 min after the first alert
		{time.Hour, false},
	} {
		fired, detail, emitted := breach(step.after, 100+i)
		if fired != step.fires {
			t.Fatalf("breach %d (%v on): fired %v, want %v (%s)", i, step.after, fired, step.fires, detail)
		}
		if fired {
			alerts = append(alerts, emitted)
		}
	}
	for _, id := range alerts {
		tn.waitEvent(id)
	}
	var got []string
	for _, id := range alerts {
		for _, m := range mailFor(id) {
			if m.To[0] == "cleo-cooldown@example.com" && strings.Contains(m.Subject, "High bounce rate on campaign winter") {
				got = append(got, id)
			}
		}
	}
	if len(got) != 2 {
		t.Errorf("%d bounce-rate emails reached cleo, want 2 (the first alert and the one after the window)", len(got))
	}
	if n := tn.emittedOf("outreach.bounce_rate_alert"); n != 2 {
		t.Errorf("%d alerts emitted, want 2", n)
	}
}

// An urgent type (ai.risk_alert) reaches a user in their quiet hours at
// once, without the per-event urgent flag; a normal type's email to the
// same user waits for the window's end.
func TestUrgentTypeBypassesQuietHours(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("nox", "nox-urgent@example.com")
	tn.must(200, tn.do("PUT", "/v1/users/nox/preferences", map[string]any{"quiet_hours": quietNow(3 * time.Hour)}))
	to := map[string]any{"users": []string{"nox"}}

	normal := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": to, "data": map[string]any{"issue_key": "UT-1"}})
	risk := tn.postEvent(map[string]any{"type": "ai.risk_alert", "recipients": to, "data": map[string]any{"title": "Churn risk at Acme"}})

	ev := tn.waitSettled(risk.EventID, time.Minute)
	if d := deliveryOf(ev, "nox", "email"); d.Status != "delivered" || d.NotBefore != nil {
		t.Errorf("the urgent type's email: %+v, want delivered at once", d)
	}
	if mail := mailFor(risk.EventID); len(mail) != 1 || !strings.Contains(mail[0].Subject, "Churn risk at Acme") {
		t.Errorf("want the risk alert's one email now, got %d", len(mail))
	}
	var waiting deliveryView
	waitFor(t, 30*time.Second, "the normal email to be deferred", func() bool {
		waiting = deliveryOf(tn.event(normal.EventID), "nox", "email")
		return waiting.NotBefore != nil
	})
	if waiting.Status != "pending" || time.Until(*waiting.NotBefore) < 2*time.Hour {
		t.Errorf("the normal type's email: %+v, want pending until the window ends in about 3 h", waiting)
	}
	if n := len(mailFor(normal.EventID)); n != 0 {
		t.Errorf("%d emails of the normal type during quiet hours, want 0", n)
	}
}
