package slackmsg

import (
	"strings"
	"testing"

	"github.com/heraldhq/herald/catalog"
)

// An approver's message carries Approve and Reject buttons, both opening
// their own link's page (which decides only on its own POST).
func TestApprovalMessageHasApproveAndReject(t *testing.T) {
	const link = "https://herald.example/a/tok-123"
	for _, key := range []string{"approval.requested", "approval.reminder", "approval.escalated", "approval.executive_alert"} {
		_, blocks := buildWith(t, BuildForApprover, key, map[string]any{"title": "Buy laptops", "requester": "Kim"}, link)
		for _, want := range []string{
			`"action_id":"approve"`, `"url":"` + link + `?decision=approve"`, `"style":"primary"`,
			`"action_id":"reject"`, `"url":"` + link + `?decision=reject"`, `"style":"danger"`,
		} {
			if !strings.Contains(blocks, want) {
				t.Errorf("%s: blocks lack %s:\n%s", key, want, blocks)
			}
		}
	}
	if _, blocks := build(t, "approval.outcome", map[string]any{"title": "Buy laptops", "outcome": "approved"}, "https://app.example/po/1"); strings.Contains(blocks, `"action_id":"approve"`) {
		t.Errorf("the outcome offers to approve: %s", blocks)
	}
}

// What a channel gets of an approval request links to the request itself,
// with no way to decide.
func TestSharedApprovalMessageOffersNoDecision(t *testing.T) {
	_, blocks := build(t, "approval.requested", map[string]any{"title": "Buy laptops"}, "https://app.example/po/1")
	if strings.Contains(blocks, `"action_id":"approve"`) || strings.Contains(blocks, "decision=") {
		t.Errorf("a shared message offers to decide: %s", blocks)
	}
	if !strings.Contains(blocks, `"url":"https://app.example/po/1"`) || !strings.Contains(blocks, "Review request") {
		t.Errorf("a shared message lost the request's link: %s", blocks)
	}
}

func buildWith(t *testing.T, f func(catalog.EventType, *catalog.Renderer, map[string]any, string, string, catalog.Recipient) (Message, error),
	key string, data map[string]any, link string) (Message, string) {
	t.Helper()
	typ, ok := catalog.BuiltIn().Lookup(key)
	if !ok {
		t.Fatalf("no type %s", key)
	}
	r, err := catalog.NewRenderer(typ)
	if err != nil {
		t.Fatal(err)
	}
	m, err := f(typ, r, data, link, "Acme", catalog.Recipient{})
	if err != nil {
		t.Fatal(err)
	}
	return m, encodeBlocks(t, m)
}
