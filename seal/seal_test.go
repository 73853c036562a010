package seal

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

const key = "0123456789abcdef0123456789abcdef-test"

func TestUnsubscribeRoundTripHidesItsContent(t *testing.T) {
	s, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	u := Unsubscribe{TenantID: uuid.New(), UserID: "ada@example.com", Category: "outreach"}
	tok := s.SealUnsubscribe(u)
	got, err := s.OpenUnsubscribe(tok)
	if err != nil || got != u {
		t.Fatalf("OpenUnsubscribe = %+v, %v; want %+v", got, err, u)
	}
	for _, secret := range []string{"ada", "example", "outreach", u.TenantID.String()[:8]} {
		if strings.Contains(strings.ToLower(tok), secret) {
			t.Errorf("token %s shows %q", tok, secret)
		}
	}
	if strings.ContainsAny(tok, "+/=?&#") {
		t.Errorf("token %s is not URL-safe", tok)
	}
}

func TestRefusals(t *testing.T) {
	s, _ := New(key)
	other, _ := New(key + "-rotated")
	tok := s.SealUnsubscribe(Unsubscribe{TenantID: uuid.New(), UserID: "u1", Category: "billing"})
	flip := []byte(tok)
	flip[len(flip)/2] ^= 1
	for name, bad := range map[string]string{
		"tampered":          string(flip),
		"truncated":         tok[:len(tok)-3],
		"empty":             "",
		"not base64":        "%%%",
		"other key":         other.SealUnsubscribe(Unsubscribe{UserID: "u1"}),
		"other purpose":     s.Seal("approval", []byte("x")),
		"absurdly long":     strings.Repeat("A", 5000),
		"wrong version":     "AA" + tok[2:],
		"payload too short": s.Seal(purposeUnsubscribe, []byte("short")),
	} {
		if _, err := s.OpenUnsubscribe(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: OpenUnsubscribe err = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := New("too short"); err == nil {
		t.Error("New accepted a short key")
	}
}

func TestInboxTokens(t *testing.T) {
	s, _ := New(key)
	now := time.Now()
	in := Inbox{TenantID: uuid.New(), UserID: "ada", Expires: now.Add(time.Hour).Truncate(time.Second)}
	tok := s.SealInbox(in)
	got, err := s.OpenInbox(tok, now)
	if err != nil || got.UserID != "ada" || got.TenantID != in.TenantID || !got.Expires.Equal(in.Expires) {
		t.Fatalf("OpenInbox = %+v, %v", got, err)
	}
	if _, err := s.OpenInbox(tok, now.Add(2*time.Hour)); !errors.Is(err, ErrInvalid) {
		t.Errorf("an expired token opened: %v", err)
	}
	if _, err := s.OpenInbox(s.SealUnsubscribe(Unsubscribe{TenantID: in.TenantID, UserID: "ada", Category: "x"}), now); !errors.Is(err, ErrInvalid) {
		t.Errorf("an unsubscribe token opened as an inbox token: %v", err)
	}
	if got.Bound() {
		t.Error("a token sealed without the user's creation is bound")
	}
}

// A token bound to a user's creation carries it to the microsecond, and
// expires like any other.
func TestInboxTokensBoundToTheUser(t *testing.T) {
	s, _ := New(key)
	now := time.Now()
	created := time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC)
	in := Inbox{TenantID: uuid.New(), UserID: "ada:x", Expires: now.Add(time.Hour).Truncate(time.Second), UserCreated: created}
	tok := s.SealInbox(in)
	got, err := s.OpenInbox(tok, now)
	if err != nil || got.UserID != "ada:x" || got.TenantID != in.TenantID || !got.Expires.Equal(in.Expires) ||
		!got.Bound() || !got.UserCreated.Equal(created) {
		t.Fatalf("OpenInbox = %+v, %v", got, err)
	}
	if _, err := s.OpenInbox(tok, in.Expires); !errors.Is(err, ErrInvalid) {
		t.Errorf("an expired bound token opened: %v", err)
	}
	// The kinds are sealed for different purposes, so one payload cannot be
	// read as the other's.
	if _, err := s.Open(purposeInbox, tok); !errors.Is(err, ErrInvalid) {
		t.Errorf("a bound token opened as an unbound one: %v", err)
	}
}
