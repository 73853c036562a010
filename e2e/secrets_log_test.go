package e2e

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/dev/localstack"
	"github.com/heraldhq/herald/internal/dev/mailcatch"
)

// TestLogsCarryNoSecrets runs a Herald whose every log line (API and worker,
// debug level) is captured through a full run with secrets in play: an SMTP
// password, a Slack bot token and incoming-webhook URL, a webhook signing
// secret, API keys, the signing key and unsubscribe tokens; failures
// included, since errors are where secrets leak. None may appear.
func TestLogsCarryNoSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mc, err := mailcatch.Start("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	const smtpPassword = "smtp-pa55word-do-not-log"
	var logs localstack.LogBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := env.servers.StartHeraldWith(ctx, localstack.HeraldOptions{
		SMTPURL:     "smtp://herald:" + smtpPassword + "@" + mc.SMTPAddr() + "?tls=none",
		TaskQueue:   "herald-e2e-secrets",
		SlackAPIURL: env.slack.GetAPIURL(),
	}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop()
	tn := newTenantOn(t, st.API.URL)
	const botToken, hookSecretPath = "xoxb-bot-token-do-not-log", "/services/T0/B0/hook-secret-do-not-log"
	slackHook := newHookServer(t, http.StatusNotFound) // the incoming webhook is refused: its URL must not be logged either
	tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{"bot_token": botToken, "webhook_url": slackHook.URL + hookSecretPath,
		"routes": []map[string]any{{"channel": "#notfound-secrets"}, {"channel": "#ok-secrets"}}}))
	hook := newHookServer(t, http.StatusInternalServerError)
	created := decodeAs[webhookView](t, tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": hook.URL + "/in?token=query-secret-do-not-log"})))
	tn.putUser("s1", "s1@example.com", "slack_user_id", "U0SECRET")
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"s1"}}, "data": map[string]any{"issue_key": "SEC-1"}})
	tn.waitWebhookStatus(acc.EventID, "delivered") // a 500, then the retry 5 s later
	var link string
	waitFor(t, 20*time.Second, "the email", func() bool {
		for _, m := range mc.Messages() {
			if h := m.Header["List-Unsubscribe"]; len(h) > 0 {
				link = strings.Trim(h[0], "<>")
				return true
			}
		}
		return false
	})
	token := link[strings.LastIndex(link, "/")+1:]
	for _, method := range []string{"GET", "POST"} {
		req, _ := http.NewRequest(method, link, strings.NewReader("List-Unsubscribe=One-Click"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if res, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	}
	// A tenant with only an incoming webhook, on a port nobody listens on:
	// the transport error would name the URL (a credential), and the
	// attempt's error is logged.
	hookOnly := newTenantOn(t, st.API.URL)
	hookOnly.must(200, hookOnly.do("PUT", "/v1/integrations/slack", map[string]any{"webhook_url": "http://127.0.0.1:1" + hookSecretPath, "routes": []map[string]any{{"channel": "#x"}}}))
	hookOnly.putUser("s2", "s2@example.com")
	acc2 := hookOnly.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"s2"}}, "data": map[string]any{"issue_key": "SEC-2"}})
	waitFor(t, 30*time.Second, "the refused post's error", func() bool {
		for _, d := range hookOnly.event(acc2.EventID).Deliveries {
			if d.Target != "" && d.Error != "" {
				return true
			}
		}
		return false
	})
	// A bad key is logged as a refusal, not as the key.
	bad := &tenant{t: t, key: "hk_" + strings.Repeat("x", 43), base: st.API.URL}
	bad.do("GET", "/v1/event-types", nil)

	out := logs.String()
	if !strings.Contains(out, acc.EventID) && !strings.Contains(out, "notify/") {
		t.Fatalf("the captured logs do not cover the run (%d bytes)", len(out))
	}
	// Lines about an event say which (grep by event ID), and a delivery's
	// which delivery and channel.
	found := false
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, `"msg":"delivery deferred"`) && strings.Contains(line, `"event_id":"`+acc.EventID+`"`) &&
			strings.Contains(line, `"tenant":"`+tn.id.String()+`"`) && strings.Contains(line, `"channel":"webhook"`) &&
			strings.Contains(line, `"delivery_id":"`) && strings.Contains(line, `"WorkflowID":"`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no log line of the webhook's failed try carries the tenant, event, workflow, delivery and channel")
	}
	for name, secret := range map[string]string{
		"SMTP password": smtpPassword, "Slack bot token": botToken, "Slack webhook URL": hookSecretPath,
		"webhook secret": strings.TrimPrefix(created.Secret, "whsec_"), "webhook URL query": "query-secret-do-not-log",
		"API key": tn.key, "other API key": hookOnly.key, "bad API key": bad.key, "signing key": localstack.TestSigningKey, "unsubscribe token": token,
		"signing key (base64)":        base64.StdEncoding.EncodeToString([]byte(localstack.TestSigningKey)),
		"SMTP password (URL-escaped)": url.QueryEscape(smtpPassword),
	} {
		if secret != "" && strings.Contains(out, secret) {
			i := strings.Index(out, secret)
			t.Errorf("the logs show the %s: …%s…", name, out[max(0, i-200):min(len(out), i+len(secret)+50)])
		}
	}
}
