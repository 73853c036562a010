package personal

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/seal"
)

func TestMintsOnlyTheApproversOwnLink(t *testing.T) {
	s, err := seal.New(strings.Repeat("k", 32))
	if err != nil {
		t.Fatal(err)
	}
	m := Minter{Seal: s, PublicURL: "https://herald.example/"}
	tenant := uuid.New()
	expires := time.Unix(1_800_000_000, 0).UTC()
	l := &Link{Kind: KindApproval, ApprovalID: "po-1", Approver: "ada", Expires: expires}
	link := m.For(tenant, l, "ada")
	if !strings.HasPrefix(link, "https://herald.example/a/") {
		t.Fatalf("ada's link %q", link)
	}
	tok := link[strings.LastIndex(link, "/")+1:]
	got, err := s.OpenApproval(tok, expires.Add(-time.Hour))
	if err != nil || got.TenantID != tenant || got.ApprovalID != "po-1" || got.Approver != "ada" || !got.Expires.Equal(expires) {
		t.Fatalf("the minted token opens as %+v, %v", got, err)
	}
	if again := m.For(tenant, l, "ada"); again != link {
		t.Fatal("two mints of one link differ: the email and the in-app item would disagree")
	}
	for _, user := range []string{"bob", ""} {
		if other := m.For(tenant, l, user); other != "" {
			t.Errorf("%q was given ada's link: %s", user, other)
		}
	}
	if (Minter{PublicURL: "https://herald.example"}).For(tenant, l, "ada") != "" || m.For(tenant, nil, "ada") != "" {
		t.Error("minted without a sealer or a description")
	}
	if m.For(tenant, &Link{Kind: "other", ApprovalID: "po-1", Approver: "ada", Expires: expires}, "ada") != "" {
		t.Error("minted a link of an unknown kind")
	}
}

func TestRoundTripAndValidate(t *testing.T) {
	l := &Link{Kind: KindApproval, ApprovalID: "po-1", Approver: "ada", Expires: time.Unix(1_800_000_000, 0).UTC()}
	back, err := Parse(Encode(l))
	if err != nil || *back != *l {
		t.Fatalf("round trip %+v, %v", back, err)
	}
	if none, err := Parse(nil); none != nil || err != nil {
		t.Fatalf("NULL parses as %+v, %v", none, err)
	}
	if _, err := Parse([]byte("{")); err == nil {
		t.Fatal("a broken description parsed")
	}
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Link{
		{Kind: "x", ApprovalID: "a", Approver: "b", Expires: l.Expires},
		{Kind: KindApproval, Approver: "b", Expires: l.Expires},
		{Kind: KindApproval, ApprovalID: "a", Expires: l.Expires},
		{Kind: KindApproval, ApprovalID: "a", Approver: "b"},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v validated", bad)
		}
	}
}
