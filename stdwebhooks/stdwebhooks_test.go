package stdwebhooks

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
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

// Post sends what the spec's library verifies, the same webhook-id on every
// attempt, and reports the receiver's status for the caller to judge.
func TestPostIsVerifiableAndReportsTheAnswer(t *testing.T) {
	secret := NewSecret()
	wh, _ := standardwebhooks.NewWebhook(secret)
	var ids []string
	code := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := wh.Verify(body, r.Header); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("receiver: verify %v, content type %q", err, r.Header.Get("Content-Type"))
		}
		ids = append(ids, r.Header.Get(HeaderID))
		w.WriteHeader(code)
	}))
	defer srv.Close()
	body := []byte(`{"type":"approval.outcome"}`)
	for _, want := range []int{http.StatusOK, http.StatusServiceUnavailable, http.StatusBadRequest} {
		code = want
		got, err := Post(context.Background(), srv.Client(), srv.URL, "msg_1", []string{secret}, body)
		if err != nil || got != want {
			t.Errorf("Post = %d, %v; want %d", got, err, want)
		}
	}
	if len(ids) != 3 || ids[0] != "msg_1" || ids[2] != "msg_1" {
		t.Errorf("webhook-ids %v, want msg_1 on every attempt", ids)
	}
	if !Retryable(503) || !Retryable(429) || !Retryable(408) || Retryable(400) || Retryable(301) {
		t.Error("Retryable: want 408, 429 and 5xx only")
	}
	if _, err := Post(context.Background(), srv.Client(), "http://[::1", "m", []string{secret}, body); !errors.Is(err, ErrBadURL) {
		t.Errorf("a malformed URL: %v, want ErrBadURL", err)
	}
	if _, err := Post(context.Background(), srv.Client(), srv.URL, "m", []string{"whsec_%%%"}, body); !errors.Is(err, ErrBadSecret) {
		t.Errorf("a malformed secret: %v, want ErrBadSecret", err)
	}
	if len(ids) != 3 {
		t.Errorf("%d requests, want nothing sent for a malformed URL or secret", len(ids))
	}
}
