package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// userHookView is the webhook channel of a preferences answer.
type userHookView struct {
	URL                     string     `json:"url"`
	Secret                  string     `json:"secret,omitempty"`
	SecretSet               bool       `json:"secret_set"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
}

func (tn *tenant) putUserHook(user string, hook map[string]any) (userHookView, response) {
	tn.t.Helper()
	r := tn.do("PUT", "/v1/users/"+user+"/preferences", map[string]any{"channels": map[string]any{"webhook": hook}})
	var v struct {
		Channels map[string]userHookView `json:"channels"`
	}
	if r.status == 200 {
		v = decodeAs[struct {
			Channels map[string]userHookView `json:"channels"`
		}](tn.t, r)
	}
	return v.Channels["webhook"], r
}

// verifies reports whether a webhook call verifies with secret.
func verifies(t *testing.T, secret string, c hookCall) bool {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	return wh.Verify(c.body, c.header) == nil
}

// TestUserWebhookSignedWithItsOwnSecret: a user's own endpoint gets a
// secret of its own when its URL is first set, answered once and never
// again (GET says it is set); what it receives verifies with that secret and
// not with the tenant's; rotate_secret signs with both for 24 hours; a
// secret the client makes up is refused and changes nothing; an endpoint
// set before users had secrets gets nothing until it is set again; and a
// tenant without a webhook of its own still reaches its users' endpoints.
func TestUserWebhookSignedWithItsOwnSecret(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tenantHook, userHook := newHookServer(t), newHookServer(t)
	tenantSecret := decodeAs[webhookView](t, tn.must(200, tn.do("PUT", "/v1/integrations/webhook",
		map[string]any{"url": tenantHook.URL, "event_types": []string{"project.update"}}))).Secret
	tn.putUser("w1", "w1@example.com")
	first, r := tn.putUserHook("w1", map[string]any{"url": userHook.URL + "/w1"})
	if r.status != 200 {
		t.Fatalf("PUT the user's endpoint: %d %s", r.status, r.raw)
	}
	assign := func(key string) hookCall {
		t.Helper()
		before := len(userHook.calls())
		acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"w1"}}, "data": map[string]any{"issue_key": key}})
		tn.waitSettled(acc.EventID, time.Minute)
		waitFor(t, 30*time.Second, "the user's webhook call", func() bool { return len(userHook.calls()) > before })
		return userHook.calls()[len(userHook.calls())-1]
	}
	call := assign("UW-1")
	if verifies(t, tenantSecret, call) {
		t.Fatal("a message to the user's own endpoint verifies with the tenant's secret: the user could pass it off at the tenant's endpoint")
	}
	if !strings.HasPrefix(first.Secret, "whsec_") || !first.SecretSet || first.URL != userHook.URL+"/w1" {
		t.Fatalf("the first PUT answered %+v, want the new secret", first)
	}
	if !verifies(t, first.Secret, call) {
		t.Fatal("the user's webhook does not verify with their own secret")
	}
	var payload struct {
		UserID string `json:"user_id"`
	}
	if _ = json.Unmarshal(call.body, &payload); payload.UserID != "w1" {
		t.Errorf("payload %s", call.body)
	}

	// Never shown again: GET and later PUTs say it is set.
	get := tn.must(200, tn.do("GET", "/v1/users/w1/preferences", nil))
	if strings.Contains(string(get.raw), "whsec_") || !strings.Contains(string(get.raw), `"secret_set":true`) {
		t.Errorf("GET preferences: %s", get.raw)
	}
	again, r := tn.putUserHook("w1", map[string]any{"url": userHook.URL + "/w1-moved"})
	if r.status != 200 || again.Secret != "" || !again.SecretSet || strings.Contains(string(r.raw), "whsec_") {
		t.Fatalf("a second PUT answered %d %s", r.status, r.raw)
	}
	// Sending the answer back (a client that round-trips the document) is
	// harmless; a secret of the client's own is refused and changes nothing.
	if _, r := tn.putUserHook("w1", map[string]any{"url": userHook.URL + "/w1-moved", "secret": first.Secret, "secret_set": true}); r.status != 200 {
		t.Errorf("the current secret sent back: %d %s", r.status, r.raw)
	}
	for name, hook := range map[string]map[string]any{
		"a secret of the client's own": {"url": userHook.URL + "/elsewhere", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		"rotate_secret without a url":  {"rotate_secret": true},
	} {
		if _, r := tn.putUserHook("w1", hook); r.status != 400 || r.errCode() != "invalid_field" {
			t.Errorf("%s: %d %s, want 400 invalid_field", name, r.status, r.raw)
		}
	}
	if r := tn.do("PUT", "/v1/users/w1/preferences", map[string]any{"channels": map[string]any{"email": map[string]any{"rotate_secret": true}}}); r.status != 400 {
		t.Errorf("rotate_secret on email: %d %s", r.status, r.raw)
	}
	if r := tn.do("PUT", "/v1/tenant/settings", map[string]any{"defaults": map[string]any{"channels": map[string]any{"webhook": map[string]any{"rotate_secret": true}}}}); r.status != 400 {
		t.Errorf("rotate_secret in the tenant's defaults: %d %s", r.status, r.raw)
	}
	call = assign("UW-2")
	if !verifies(t, first.Secret, call) {
		t.Fatal("after the refused PUTs the endpoint no longer verifies with its secret")
	}

	// Rotation: a new secret, answered once; both sign for 24 hours.
	rotated, r := tn.putUserHook("w1", map[string]any{"url": userHook.URL + "/w1-moved", "rotate_secret": true})
	if r.status != 200 || !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.Secret == first.Secret || rotated.PreviousSecretExpiresAt == nil ||
		rotated.PreviousSecretExpiresAt.Before(time.Now().Add(23*time.Hour)) {
		t.Fatalf("rotation answered %d %s", r.status, r.raw)
	}
	call = assign("UW-3")
	if !verifies(t, first.Secret, call) || !verifies(t, rotated.Secret, call) || verifies(t, tenantSecret, call) {
		t.Fatal("during the rotation the message verifies with neither or with the tenant's secret")
	}
	if get := tn.must(200, tn.do("GET", "/v1/users/w1/preferences", nil)); strings.Contains(string(get.raw), "whsec_") ||
		!strings.Contains(string(get.raw), "previous_secret_expires_at") {
		t.Errorf("GET after the rotation: %s", get.raw)
	}

	// Removing the endpoint (channels reset) drops its secret; setting one
	// again makes a new one.
	tn.must(200, tn.do("PUT", "/v1/users/w1/preferences", map[string]any{"channels": nil}))
	renewed, _ := tn.putUserHook("w1", map[string]any{"url": userHook.URL + "/w1"})
	if renewed.Secret == "" || renewed.Secret == rotated.Secret || renewed.Secret == first.Secret {
		t.Fatalf("setting the endpoint again answered %+v", renewed)
	}
	call = assign("UW-4")
	if !verifies(t, renewed.Secret, call) || verifies(t, rotated.Secret, call) {
		t.Fatal("the endpoint set again is not signed with its new secret alone")
	}

	// An endpoint set before users' endpoints had secrets is skipped until
	// it is set again.
	tn.putUser("w2", "w2@example.com")
	if _, err := env.pool.Exec(context.Background(), `UPDATE users SET preferences = jsonb_build_object('channels', jsonb_build_object('webhook', jsonb_build_object('url', $3::text)))
		WHERE tenant_id = $1 AND id = $2`, tn.id, "w2", userHook.URL+"/w2"); err != nil {
		t.Fatal(err)
	}
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"w2"}}, "data": map[string]any{"issue_key": "UW-5"}})
	if d := deliveryOf(tn.waitSettled(acc.EventID, time.Minute), "w2", "webhook"); d.Status != "skipped" || d.Reason != "no_address" {
		t.Errorf("an endpoint without its own secret: %+v, want skipped no_address", d)
	}
	if legacy, _ := tn.putUserHook("w2", map[string]any{"url": userHook.URL + "/w2"}); legacy.Secret == "" {
		t.Errorf("setting a secretless endpoint again answered %+v, want its first secret", legacy)
	}
	if n := len(tenantHook.calls()); n != 0 {
		t.Errorf("the tenant's endpoint (project.update only) got %d calls", n)
	}

	// A tenant with no webhook of its own reaches its users' endpoints.
	other := newTenant(t)
	other.putUser("w3", "w3@example.com")
	own, _ := other.putUserHook("w3", map[string]any{"url": userHook.URL + "/w3"})
	before := len(userHook.calls())
	acc = other.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"w3"}}, "data": map[string]any{"issue_key": "UW-6"}})
	if d := deliveryOf(other.waitSettled(acc.EventID, time.Minute), "w3", "webhook"); d.Status != "delivered" {
		t.Fatalf("a user's endpoint in a tenant without a webhook: %+v", d)
	}
	if calls := userHook.calls(); len(calls) != before+1 || !verifies(t, own.Secret, calls[len(calls)-1]) {
		t.Fatal("the user's endpoint in a tenant without a webhook was not reached or does not verify")
	}
}
