package seal

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestApprovalTokens(t *testing.T) {
	s, err := New(strings.Repeat("k", 32))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	a := Approval{TenantID: uuid.New(), ApprovalID: "exp-42", Approver: "ada", Expires: now.Add(time.Hour)}
	tok := s.SealApproval(a)
	if again := s.SealApproval(a); again != tok {
		t.Fatal("the same approver's token differs between mints: a retried emission would be a different event")
	}
	if other := s.SealApproval(Approval{TenantID: a.TenantID, ApprovalID: "exp-42", Approver: "bob", Expires: a.Expires}); other == tok {
		t.Fatal("two approvers share a token")
	}
	got, err := s.OpenApproval(tok, now)
	if err != nil || got != a {
		t.Fatalf("open = %+v, %v; want %+v", got, err, a)
	}
	if strings.Contains(tok, "ada") || strings.Contains(tok, "exp-42") {
		t.Fatal("the token shows who it is for")
	}
	if _, err := s.OpenApproval(tok, a.Expires); !errors.Is(err, ErrExpired) {
		t.Fatalf("at expiry: %v, want ErrExpired", err)
	}
	b := []byte(tok)
	b[len(b)/2] ^= 1
	if _, err := s.OpenApproval(string(b), now); !errors.Is(err, ErrInvalid) {
		t.Fatalf("tampered: %v, want ErrInvalid", err)
	}
	if _, err := s.OpenApproval(s.SealUnsubscribe(Unsubscribe{TenantID: a.TenantID, UserID: "ada", Category: "x"}), now); !errors.Is(err, ErrInvalid) {
		t.Fatalf("an unsubscribe token opened as an approval: %v", err)
	}
	other, _ := New(strings.Repeat("o", 32))
	if _, err := other.OpenApproval(tok, now); !errors.Is(err, ErrInvalid) {
		t.Fatalf("another key opened it: %v", err)
	}
}
