package e2e

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/internal/dev/localstack"
	"github.com/heraldhq/herald/seal"
)

// TestInboxToken: a browser's token opens its user's inbox (as a bearer or
// ?token=) and nothing else.
func TestInboxToken(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("tok", "tok@example.com")
	tn.putUser("other", "other@example.com")
	acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"tok", "other"}}, "data": map[string]any{"issue_key": "TK-1"}})
	tn.waitSettled(acc.EventID, 30*time.Second)
	got := decodeAs[struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}](t, tn.must(201, tn.do("POST", "/v1/users/tok/inbox-token", nil)))
	if got.Token == "" || got.ExpiresAt.Before(time.Now().Add(50*time.Minute)) || got.ExpiresAt.After(time.Now().Add(61*time.Minute)) {
		t.Fatalf("token answered %+v, want one valid for an hour", got)
	}
	browser := &tenant{t: t, key: got.Token, base: tn.base} // the token as a bearer
	items := decodeAs[listPage[inboxItem]](t, browser.must(200, browser.do("GET", "/v1/users/tok/notifications", nil)))
	if len(items.Data) != 1 {
		t.Fatalf("the token's inbox lists %d items", len(items.Data))
	}
	browser.must(200, browser.do("PATCH", "/v1/users/tok/notifications/"+items.Data[0].ID+"/read", nil))
	noHeader := &tenant{t: t, base: tn.base}
	if c := decodeAs[countView](t, noHeader.must(200, noHeader.do("GET", "/v1/users/tok/notifications/unread_count?token="+got.Token, nil))); c.Count != 0 {
		t.Errorf("?token= unread count %+v, want 0 after the read", c)
	}
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/v1/users/other/notifications", 403},
		{"GET", "/v1/users/tok", 401},
		{"GET", "/v1/events/" + acc.EventID, 401},
		{"POST", "/v1/users/tok/inbox-token", 401},
	} {
		if r := browser.do(tc.method, tc.path, nil); r.status != tc.status {
			t.Errorf("%s %s with an inbox token: %d %s, want %d", tc.method, tc.path, r.status, r.raw, tc.status)
		}
	}
	sealer, err := seal.New(localstack.TestSigningKey)
	if err != nil {
		t.Fatal(err)
	}
	expired := &tenant{t: t, base: tn.base, key: sealer.SealInbox(seal.Inbox{TenantID: tn.id, UserID: "tok", Expires: time.Now().Add(-time.Minute)})}
	if r := expired.do("GET", "/v1/users/tok/notifications", nil); r.status != 401 {
		t.Errorf("an expired token: %d", r.status)
	}
	forged := &tenant{t: t, base: tn.base, key: sealer.SealInbox(seal.Inbox{TenantID: uuid.New(), UserID: "tok", Expires: time.Now().Add(time.Hour)})}
	if r := forged.do("GET", "/v1/users/tok/notifications", nil); r.status != 401 {
		t.Errorf("a token for a tenant that does not exist: %d", r.status)
	}
}
