package stdwebhooks

import (
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The spec's own library verifies what Herald signs, with either secret of a
// rotation.
func TestReceiversVerifyWithTheSpecLibrary(t *testing.T) {
	oldSecret, newSecret := NewSecret(), NewSecret()
	if !strings.HasPrefix(newSecret, "whsec_") || len(newSecret) < len("whsec_")+32 {
		t.Fatalf("secret %q, want whsec_ and base64 of 32 bytes", newSecret)
	}
	body := []byte(`{"event_type":"issue.assigned","user_id":"u1"}`)
	h := http.Header{}
	now := time.Now()
	if err := Headers(h, []string{newSecret, oldSecret}, "msg_2b", now, body); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{newSecret, oldSecret} {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, h); err != nil {
			t.Errorf("verify with a signing secret: %v", err)
		}
	}
	other, _ := standardwebhooks.NewWebhook(NewSecret())
	if other.Verify(body, h) == nil {
		t.Error("a stranger's secret verified the message")
	}
	wh, _ := standardwebhooks.NewWebhook(newSecret)
	if wh.Verify([]byte(`{"event_type":"issue.assigned","user_id":"u2"}`), h) == nil {
		t.Error("a changed body verified")
	}
	stale := http.Header{}
	if err := Headers(stale, []string{newSecret}, "msg_2b", now.Add(-time.Hour), body); err != nil {
		t.Fatal(err)
	}
	if wh.Verify(body, stale) == nil {
		t.Error("an hour-old timestamp verified; receivers must refuse replays")
	}
	if err := Headers(http.Header{}, []string{"whsec_%%%"}, "m", now, body); err == nil {
		t.Error("a malformed secret signed")
	}
}
