package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/heraldhq/herald/internal/app"
)

// hookServer is a webhook receiver that records what it was sent and
// answers as told.
type hookServer struct {
	*httptest.Server
	mu       sync.Mutex
	got      []hookCall
	statuses []int // answered in turn; then 200
}

type hookCall struct {
	header http.Header
	body   []byte
}

func newHookServer(t *testing.T, statuses ...int) *hookServer {
	h := &hookServer{statuses: statuses}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, hookCall{header: r.Header.Clone(), body: body})
		status := http.StatusOK
		if len(h.statuses) > 0 {
			status, h.statuses = h.statuses[0], h.statuses[1:]
		}
		h.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) calls() []hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookCall(nil), h.got...)
}

type slackView struct {
	WebhookURLSet bool `json:"webhook_url_set"`
	BotTokenSet   bool `json:"bot_token_set"`
	Routes        []struct {
		Channel  string   `json:"channel"`
		Purposes []string `json:"purposes"`
	} `json:"routes"`
}

type webhookView struct {
	URL        string     `json:"url"`
	EventTypes []string   `json:"event_types"`
	Secret     string     `json:"secret,omitempty"`
	SecretSet  bool       `json:"secret_set"`
	DisabledAt *time.Time `json:"disabled_at"`
}

func TestSlackSettingsKeepSecretsWriteOnly(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const token, hook = "xoxb-123-secret-token", "https://hooks.slack.example/services/T1/B1/secretpart"
	got := decodeAs[slackView](t, tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{
		"bot_token": token, "webhook_url": hook,
		"routes": []map[string]any{{"channel": "#sales", "purposes": []string{"outreach"}}, {"channel": "#all", "purposes": []string{"*"}}},
	})))
	if !got.BotTokenSet || !got.WebhookURLSet || len(got.Routes) != 2 {
		t.Errorf("PUT slack answered %+v", got)
	}
	for _, r := range []response{tn.do("GET", "/v1/integrations/slack", nil), tn.do("PUT", "/v1/integrations/slack", map[string]any{})} {
		if strings.Contains(string(r.raw), "secret") || strings.Contains(string(r.raw), "xoxb") {
			t.Errorf("an answer shows a secret: %s", r.raw)
		}
	}
	var stored string
	if err := env.pool.QueryRow(context.Background(), `SELECT config::text || secrets FROM integrations WHERE tenant_id = $1 AND kind = 'slack'`, tn.id).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, "secret") || strings.Contains(stored, "xoxb") {
		t.Errorf("secrets are readable at rest: %s", stored)
	}
	// Leaving secrets out keeps them; an empty string removes one.
	got = decodeAs[slackView](t, tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{"webhook_url": ""})))
	if !got.BotTokenSet || got.WebhookURLSet || len(got.Routes) != 2 {
		t.Errorf("after removing the webhook URL: %+v, want the token and routes kept", got)
	}
	for body, field := range map[string]string{
		`{"bot_token":"not-a-token"}`:                            "bot_token",
		`{"routes":[{"channel":"#x","purposes":["marketing"]}]}`: "routes[0].purposes[0]",
		`{"routes":[{"channel":""}]}`:                            "routes[0].channel",
		`{"webhook_url":"ftp://hooks.example"}`:                  "webhook_url",
	} {
		r := tn.do("PUT", "/v1/integrations/slack", body)
		if r.status != 400 || r.errorBody().Error.Details["field"] != field {
			t.Errorf("PUT slack %s: %d %s, want 400 naming %s", body, r.status, r.raw, field)
		}
	}
}

func TestSlackPostsByRouteAndDMs(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	suffix := tn.id.String()[:8]
	sales, all, leads := "#sales-"+suffix, "#all-"+suffix, "#leads-"+suffix
	tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{
		"bot_token": "xoxb-e2e",
		"routes": []map[string]any{{"channel": sales, "purposes": []string{"issues"}}, {"channel": all, "purposes": []string{"*"}},
			{"channel": leads, "purposes": []string{"lead.qualified"}}},
	}))
	dm := "U" + strings.ToUpper(suffix)
	tn.putUser("withslack", "withslack@example.com", "slack_user_id", dm)
	tn.putUser("noslack", "noslack@example.com")
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"withslack", "noslack"}},
		"data": map[string]any{"issue_key": "SL-1", "title": "Fix <login> & more"}, "link": "https://app.example/issues/SL-1"})
	ev := tn.waitSettled(acc.EventID, time.Minute)
	if ev.Status != "delivered" {
		t.Fatalf("event %s: %+v", ev.Status, ev.Deliveries)
	}
	waitFor(t, 10*time.Second, "the posts to reach Slack", func() bool {
		return len(slackPosts(sales)) == 1 && len(slackPosts(all)) == 1 && len(slackPosts(dm)) == 1
	})
	if n := len(slackPosts(leads)); n != 0 {
		t.Errorf("%d posts to a route for another purpose", n)
	}
	post := slackPosts(sales)[0]
	blocks, _ := json.Marshal(post.Blocks)
	for _, want := range []string{"SL-1", "https://app.example/issues/SL-1", `"type":"header"`, `"type":"button"`} {
		if !strings.Contains(string(blocks), want) {
			t.Errorf("posted blocks lack %s: %s", want, blocks)
		}
	}
	if post.Text == "" || !strings.Contains(post.Text, "SL-1") {
		t.Errorf("post without a fallback text: %q", post.Text)
	}
	if d := deliveryOf(ev, "noslack", "slack"); d.Status != "skipped" || d.Reason != "no_address" {
		t.Errorf("a user without a Slack ID: %+v, want skipped no_address", d)
	}
	targets := map[string]string{}
	for _, d := range ev.Deliveries {
		if d.UserID == "" {
			targets[d.Target] = d.Status
		}
	}
	if targets["slack:"+sales] != "delivered" || targets["slack:"+all] != "delivered" || len(targets) != 2 {
		t.Errorf("event-level deliveries %v, want the two routed channels delivered", targets)
	}
}

func TestWebhookSignedRetriedAndDisabled(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	hook := newHookServer(t, http.StatusServiceUnavailable) // the first try fails, the retry (5 s later) lands
	created := decodeAs[webhookView](t, tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": hook.URL})))
	if !strings.HasPrefix(created.Secret, "whsec_") || !created.SecretSet {
		t.Fatalf("first PUT answered %+v, want the signing secret once", created)
	}
	again := decodeAs[webhookView](t, tn.must(200, tn.do("GET", "/v1/integrations/webhook", nil)))
	if again.Secret != "" || !again.SecretSet || again.URL != hook.URL {
		t.Errorf("GET answered %+v: the secret must not be shown again", again)
	}
	tn.putUser("w1", "w1@example.com")
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"w1"}},
		"data": map[string]any{"issue_key": "WH-1", "big": json.Number("12345678901234567890")}})
	ev := tn.waitSettled(acc.EventID, time.Minute)
	recordHistory(t, acc.WorkflowID, "notify_webhook_next_try")
	calls := hook.calls()
	if len(calls) != 2 {
		t.Fatalf("the endpoint got %d calls, want 2 (a 503, then the retry)", len(calls))
	}
	wh, err := standardwebhooks.NewWebhook(created.Secret)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range calls {
		if err := wh.Verify(c.body, c.header); err != nil {
			t.Errorf("call %d does not verify: %v", i, err)
		}
	}
	if calls[0].header.Get("webhook-id") != calls[1].header.Get("webhook-id") {
		t.Errorf("webhook-id changed between tries: %q, %q", calls[0].header.Get("webhook-id"), calls[1].header.Get("webhook-id"))
	}
	var payload struct {
		EventType string          `json:"event_type"`
		EventID   string          `json:"event_id"`
		Timestamp time.Time       `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(calls[1].body, &payload); err != nil {
		t.Fatal(err)
	}
	if payload.EventType != "issue.assigned" || payload.EventID != acc.EventID || payload.Timestamp.IsZero() ||
		!strings.Contains(string(payload.Data), "12345678901234567890") {
		t.Errorf("payload %s", calls[1].body)
	}
	var wd deliveryView
	for _, d := range ev.Deliveries {
		if d.Target == "webhook" {
			wd = d
		}
	}
	if wd.Status != "delivered" || wd.Attempts != 2 {
		t.Errorf("the webhook delivery %+v, want delivered after 2 attempts", wd)
	}

	// 410 Gone disables the endpoint until it is set again.
	gone := newHookServer(t, http.StatusGone)
	tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": gone.URL}))
	acc = tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"w1"}}, "data": map[string]any{"issue_key": "WH-2"}})
	tn.waitSettled(acc.EventID, time.Minute)
	if v := decodeAs[webhookView](t, tn.must(200, tn.do("GET", "/v1/integrations/webhook", nil))); v.DisabledAt == nil {
		t.Errorf("after a 410 the endpoint is not disabled: %+v", v)
	}
	acc = tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"w1"}}, "data": map[string]any{"issue_key": "WH-3"}})
	tn.waitSettled(acc.EventID, time.Minute)
	if n := len(gone.calls()); n != 1 {
		t.Errorf("a disabled endpoint got %d calls, want only the one that answered 410", n)
	}

	// Other 4xx fail at once; redirects are not followed.
	for _, status := range []int{http.StatusBadRequest, http.StatusFound} {
		h := newHookServer(t, status)
		tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": h.URL}))
		acc = tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"w1"}}, "data": map[string]any{"issue_key": "WH-4"}})
		ev = tn.waitSettled(acc.EventID, time.Minute)
		for _, d := range ev.Deliveries {
			if d.Target == "webhook" && (d.Status != "failed" || d.Attempts != 1) {
				t.Errorf("HTTP %d: webhook delivery %+v, want failed after one attempt", status, d)
			}
		}
		if n := len(h.calls()); n != 1 {
			t.Errorf("HTTP %d: %d calls, want 1", status, n)
		}
	}
}

func TestWebhookRotationSignsWithBothSecrets(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	hook := newHookServer(t)
	first := decodeAs[webhookView](t, tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": hook.URL, "event_types": []string{"issue.assigned"}})))
	rotated := decodeAs[webhookView](t, tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": hook.URL, "event_types": []string{"issue.assigned"}, "rotate_secret": true})))
	if rotated.Secret == "" || rotated.Secret == first.Secret {
		t.Fatalf("rotation answered %+v", rotated)
	}
	tn.putUser("r1", "r1@example.com")
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"r1"}}, "data": map[string]any{"issue_key": "RO-1"}})
	tn.waitSettled(acc.EventID, time.Minute)
	other := tn.postEvent(map[string]any{"type": "issue.commented", "recipients": map[string]any{"users": []string{"r1"}}, "data": map[string]any{"issue_key": "RO-1"}})
	tn.waitSettled(other.EventID, time.Minute)
	calls := hook.calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls, want 1: event_types limits the endpoint to issue.assigned", len(calls))
	}
	for _, secret := range []string{first.Secret, rotated.Secret} {
		wh, _ := standardwebhooks.NewWebhook(secret)
		if err := wh.Verify(calls[0].body, calls[0].header); err != nil {
			t.Errorf("during the rotation a receiver with one of the secrets cannot verify: %v", err)
		}
	}
}

func TestUserWebhooksAndEventLevelCallCount(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	suffix := tn.id.String()[:8]
	tenantHook, userHook := newHookServer(t), newHookServer(t)
	tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": tenantHook.URL}))
	tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{"bot_token": "xoxb-e2e",
		"routes": []map[string]any{{"channel": "#a-" + suffix}, {"channel": "#b-" + suffix, "purposes": []string{"projects"}}}}))
	for _, u := range []string{"p1", "p2", "p3", "p4", "p5"} {
		tn.putUser(u, u+"@example.com")
	}
	tn.must(200, tn.do("PUT", "/v1/users/p1/preferences", map[string]any{"channels": map[string]any{"webhook": map[string]any{"url": userHook.URL + "/p1"}}}))
	tn.must(200, tn.do("PUT", "/v1/users/p2/preferences", map[string]any{"channels": map[string]any{"webhook": map[string]any{"url": userHook.URL + "/p2", "enabled": false}}}))
	acc := tn.postEvent(map[string]any{"type": "project.update", "data": map[string]any{"project": "Apollo", "message": "moved"}})
	ev := tn.waitSettled(acc.EventID, time.Minute)
	if n := len(tenantHook.calls()); n != 1 {
		t.Errorf("the tenant webhook got %d calls for one event to 5 users, want 1", n)
	}
	waitFor(t, 10*time.Second, "both routed posts", func() bool {
		return len(slackPosts("#a-"+suffix)) == 1 && len(slackPosts("#b-"+suffix)) == 1
	})
	calls := userHook.calls()
	if len(calls) != 1 {
		t.Fatalf("user endpoints got %d calls, want p1's only (p2 turned webhooks off)", len(calls))
	}
	var payload struct {
		UserID string `json:"user_id"`
	}
	_ = json.Unmarshal(calls[0].body, &payload)
	if payload.UserID != "p1" {
		t.Errorf("user webhook payload names %q, want p1", payload.UserID)
	}
	if d := deliveryOf(ev, "p2", "webhook"); d.Status != "skipped" || d.Reason != "preference_disabled" {
		t.Errorf("p2's webhook %+v, want skipped preference_disabled", d)
	}
}

func TestTestNotificationReportsEveryChannel(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	suffix := tn.id.String()[:8]
	tn.putUser("boss", "boss@example.com", "role", "owner")
	hook := newHookServer(t, http.StatusBadRequest)
	tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": hook.URL, "event_types": []string{"lead.qualified"}}))
	tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{"bot_token": "xoxb-e2e",
		"routes": []map[string]any{{"channel": "#ops-" + suffix, "purposes": []string{"leads"}}}}))
	type outcome struct {
		Channel string `json:"channel"`
		Target  string `json:"target"`
		Status  string `json:"status"`
		Error   string `json:"error,omitempty"`
	}
	res := decodeAs[struct {
		EventID  string    `json:"event_id"`
		UserID   string    `json:"user_id"`
		Channels []outcome `json:"channels"`
	}](t, tn.must(200, tn.do("POST", "/v1/test-notification", nil)))
	got := map[string]outcome{}
	for _, o := range res.Channels {
		got[o.Channel+"/"+o.Target] = o
	}
	if res.UserID != "boss" || got["email/boss"].Status != "delivered" || got["in_app/boss"].Status != "delivered" {
		t.Errorf("test notification to the owner: %+v", res)
	}
	if got["slack/slack:#ops-"+suffix].Status != "delivered" {
		t.Errorf("the Slack route (for another purpose) was not tested: %+v", res.Channels)
	}
	if w := got["webhook/webhook"]; w.Status != "failed" || !strings.Contains(w.Error, "400") {
		t.Errorf("the webhook answering 400: %+v, want failed naming the status", w)
	}
	if len(mailFor(res.EventID)) != 1 {
		t.Errorf("no test email caught")
	}
	other := newTenant(t)
	if r := other.do("POST", "/v1/test-notification", nil); r.status != 400 {
		t.Errorf("a tenant without an owner: %d %s, want 400", r.status, r.raw)
	}
}

// TestOutboundURLsRefusedOnPrivateAddresses runs an API with the SSRF guard
// on (the shared one allows loopback, as dev does).
func TestOutboundURLsRefusedOnPrivateAddresses(t *testing.T) {
	t.Parallel()
	cfg := env.cfg
	cfg.WebhookAllowPrivate = false
	handler, err := app.NewHandler(cfg, env.pool, env.temporal, logger)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	tn := newTenantOn(t, srv.URL)
	for _, u := range []string{"http://127.0.0.1:9/hook", "http://[::ffff:127.0.0.1]/x", "http://2130706433/", "http://0x7f.1/", "http://localhost/", "http://169.254.169.254/latest", "http://10.1.2.3/"} {
		r := tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": u})
		if r.status != 400 || r.errorBody().Error.Details["field"] != "url" {
			t.Errorf("PUT webhook %s: %d %s, want 400 naming url", u, r.status, r.raw)
		}
		r = tn.do("PUT", "/v1/integrations/slack", map[string]any{"webhook_url": u})
		if r.status != 400 {
			t.Errorf("PUT slack webhook_url %s: %d %s, want 400", u, r.status, r.raw)
		}
	}
}

func TestSlackAnswersAndIncomingWebhook(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	suffix := tn.id.String()[:8]
	tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{"bot_token": "xoxb-e2e",
		"routes": []map[string]any{{"channel": "#notfound-" + suffix}, {"channel": "#ratelimited-" + suffix}}}))
	tn.putUser("s1", "s1@example.com")
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"s1"}}, "data": map[string]any{"issue_key": "SA-1"}})
	ev := tn.waitSettled(acc.EventID, time.Minute)
	for _, d := range ev.Deliveries {
		switch d.Target {
		case "slack:#notfound-" + suffix:
			if d.Status != "failed" || d.Attempts != 1 || !strings.Contains(d.Error, "channel_not_found") {
				t.Errorf("a post to a missing channel: %+v, want failed at once naming channel_not_found", d)
			}
		case "slack:#ratelimited-" + suffix:
			if d.Status != "delivered" {
				t.Errorf("a rate-limited post: %+v, want delivered after Retry-After", d)
			}
		}
	}
	if n := len(slackPosts("#ratelimited-" + suffix)); n != 1 {
		t.Errorf("%d posts landed after the 429, want 1", n)
	}

	// With only an incoming-webhook URL, every routed post goes to it, once.
	other := newTenant(t)
	hook := newHookServer(t)
	other.must(200, other.do("PUT", "/v1/integrations/slack", map[string]any{"webhook_url": hook.URL,
		"routes": []map[string]any{{"channel": "#one"}, {"channel": "#two", "purposes": []string{"issues"}}}}))
	other.putUser("s2", "s2@example.com", "slack_user_id", "U0S2")
	acc = other.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"s2"}}, "data": map[string]any{"issue_key": "SA-2"}})
	ev = other.waitSettled(acc.EventID, time.Minute)
	calls := hook.calls()
	if len(calls) != 1 {
		t.Fatalf("the incoming webhook got %d posts, want 1", len(calls))
	}
	var msg struct {
		Text   string            `json:"text"`
		Blocks []json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(calls[0].body, &msg); err != nil || !strings.Contains(msg.Text, "SA-2") || len(msg.Blocks) == 0 {
		t.Errorf("incoming webhook body %s", calls[0].body)
	}
	for _, d := range ev.Deliveries {
		if d.Channel == "slack" && d.UserID != "" {
			t.Errorf("a DM was planned without a bot token: %+v", d)
		}
	}
}

// TestWebhookThatNeverAnswersIsRetried: a receiver that accepts and hangs is
// a failed try after 10 s, tried again on the schedule.
func TestWebhookThatNeverAnswersIsRetried(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			select {
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	defer srv.CloseClientConnections() // the hung first request, if still open
	tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": srv.URL}))
	tn.putUser("h1", "h1@example.com")
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"h1"}}, "data": map[string]any{"issue_key": "HANG-1"}})
	ev := tn.waitSettled(acc.EventID, time.Minute)
	for _, d := range ev.Deliveries {
		if d.Target == "webhook" && (d.Status != "delivered" || d.Attempts != 2) {
			t.Errorf("webhook delivery %+v, want delivered on the second try", d)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 {
		t.Errorf("%d calls, want 2", calls)
	}
}

// TestUserWebhooksPerHostBound: many users' endpoints on one host get at most
// 4 requests at a time.
func TestUserWebhooksPerHostBound(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	var inFlight, most, total atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
		inFlight.Add(-1)
		total.Add(1)
	}))
	defer srv.Close()
	tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": ""}))
	var users []string
	for i := range 12 {
		u := "hb" + strconv.Itoa(i)
		users = append(users, u)
		tn.putUser(u, u+"@example.com")
		tn.must(200, tn.do("PUT", "/v1/users/"+u+"/preferences", map[string]any{"channels": map[string]any{"webhook": map[string]any{"url": srv.URL + "/" + u}}}))
	}
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": users}, "data": map[string]any{"issue_key": "HB-1"}})
	ev := tn.waitSettled(acc.EventID, time.Minute)
	if ev.Status != "delivered" || total.Load() != 12 {
		t.Fatalf("event %s with %d webhook calls, want delivered with 12", ev.Status, total.Load())
	}
	if m := most.Load(); m > 4 || m < 2 {
		t.Errorf("at most %d requests at once to one host, want between 2 and 4", m)
	}
}

// TestSlackPostUnansweredIsNotRepeated: an incoming webhook that takes the
// whole post and hangs up without answering may have posted it. Slack has
// no idempotency key, so the post is failed uncertain, never tried again by
// Herald itself.
func TestSlackPostUnansweredIsNotRepeated(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	posts := 0
	hangUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		mu.Lock()
		posts++
		mu.Unlock()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(hangUp.Close)
	tn := newTenant(t)
	tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{"webhook_url": hangUp.URL,
		"routes": []map[string]any{{"channel": "#hang"}}}))
	tn.putUser("hu", "hu@example.com")
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"hu"}},
		"data": map[string]any{"issue_key": "HU-1"}})
	ev := tn.waitSettled(acc.EventID, time.Minute)
	var post deliveryView
	for _, d := range ev.Deliveries {
		if d.Channel == "slack" {
			post = d
		}
	}
	if post.Status != "failed" || post.Reason != "uncertain" || !strings.Contains(post.Error, "may have been posted") {
		t.Fatalf("the unanswered post: %+v, want failed uncertain", post)
	}
	// A first retry would come 5 s later.
	time.Sleep(7 * time.Second)
	mu.Lock()
	defer mu.Unlock()
	if posts != 1 {
		t.Errorf("the endpoint got %d posts, want 1", posts)
	}
}

// TestHangingWebhookHostCostsAFewTimeouts: 24 users' endpoints on a host
// that takes requests and never answers. The attempt stops trying the host
// after three unanswered requests: the rest wait for their next try without
// being sent, and the attempt ends after one round of timeouts rather than
// one per delivery (at 4 requests at a time, 6 rounds of 10 s).
func TestHangingWebhookHostCostsAFewTimeouts(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := 0
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	tn := newTenant(t)
	tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": srv.URL + "/tenant",
		"event_types": []string{"team.invitation"}}))
	var users []string
	for i := range hanging {
		u := fmt.Sprintf("hang%02d", i)
		tn.putUser(u, u+"@example.com")
		tn.must(200, tn.do("PUT", "/v1/users/"+u+"/preferences", map[string]any{
			"channels": map[string]any{"webhook": map[string]any{"enabled": true, "url": srv.URL + "/" + u}}}))
		users = append(users, u)
	}
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": users},
		"data": map[string]any{"issue_key": "HANG-2"}})
	// What a failure leaves to read: the deliveries and the run's history.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, d := range tn.event(acc.EventID).Deliveries {
			t.Logf("%s %s: %s attempts=%d not_before=%v error=%q", d.Channel, d.UserID, d.Status, d.Attempts, d.NotBefore, d.Error)
		}
		for _, e := range historyOf(t, "notify/"+acc.EventID) {
			t.Logf("%d %s %s", e.EventId, e.EventTime.AsTime().Format("15:04:05.000"), e.EventType)
		}
	})
	waitFor(t, 2*time.Minute, "every user's webhook to wait for its next try", func() bool {
		ev := tn.event(acc.EventID)
		waiting := 0
		for _, d := range ev.Deliveries {
			if d.Channel == "webhook" && d.UserID != "" && d.Status == "pending" && d.Attempts == 1 && d.NotBefore != nil {
				waiting++
			}
		}
		return waiting == hanging
	})
	mu.Lock()
	n := calls
	mu.Unlock()
	// Four at a time to one host; once one timed out, no request starts
	// until the others are over, and the three more timeouts open the
	// breaker: one round of timeouts, no more requests.
	if n > 4 {
		t.Errorf("the hanging host got %d requests in the first attempt, want at most 4", n)
	}
}

// hanging is more than the fast path takes (20), so one regular attempt
// sends them all.
const hanging = 24
