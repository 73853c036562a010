package slackmsg

import (
	"strings"
	"testing"
)

// An approver's message carries Approve and Reject buttons, both opening
// their own link's page (which decides only on its own POST).
func TestApprovalMessageHasApproveAndReject(t *testing.T) {
	const link = "https://herald.example/a/tok-123"
	for _, key := range []string{"approval.requested", "approval.reminder", "approval.escalated"} {
		_, blocks := build(t, key, map[string]any{"title": "Buy laptops", "requester": "Kim"}, link)
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
