package e2e

import (
	"strings"
	"testing"
	"time"
)

// Extension alerts, Developer Aide alerts and skill suggestions are
// ordinary events: an extension alert reaches every subscriber of
// integrations, the AI notices only the users named, each by email and in
// the inbox.
func TestKiketNoticesReachTheirDefaultRecipients(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	suffix := tn.id.String()[:8]
	dev, other := "dev-aide-"+suffix+"@example.com", "other-aide-"+suffix+"@example.com"
	tn.putUser("dev", dev)
	tn.putUser("other", other)

	tn.waitEvent(tn.postEvent(map[string]any{"type": "integration.extension_alert",
		"data": map[string]any{"extension": "GitHub sync", "message": "The token expired; reconnect the extension."}}).EventID)
	tn.waitEvent(tn.postEvent(map[string]any{"type": "ai.aide_alert", "recipients": map[string]any{"users": []string{"dev"}},
		"data": map[string]any{"title": "N+1 query", "message": "This query runs once per row.", "suggestion": "Batch the lookups."}}).EventID)
	tn.waitEvent(tn.postEvent(map[string]any{"type": "ai.skill_suggestion", "recipients": map[string]any{"users": []string{"dev"}},
		"data": map[string]any{"skill": "SQL indexing"}}).EventID)
	// Without the data a notice needs, nothing is sent.
	if r := tn.must(400, tn.do("POST", "/v1/events", map[string]any{"type": "integration.extension_alert", "data": map[string]any{"extension": "GitHub sync"}})); r.errCode() != "missing_data" {
		t.Errorf("an extension alert without its message: %s", r.raw)
	}

	waitFor(t, time.Minute, "the notices' emails", func() bool {
		return len(mailOfType(other, "integration.extension_alert")) == 1 && len(mailOfType(dev, "ai.skill_suggestion")) == 1
	})
	if m := mailOfType(dev, "integration.extension_alert"); len(m) != 1 || m[0].Subject != "GitHub sync needs attention" {
		t.Errorf("extension alert to a subscriber: %+v", m)
	}
	if m := mailOfType(dev, "ai.aide_alert"); len(m) != 1 || m[0].Subject != "Developer Aide: N+1 query" || !strings.Contains(m[0].Text, "Suggestion: Batch the lookups.") {
		t.Errorf("aide alert to the user named: %+v", m)
	}
	for _, typ := range []string{"ai.aide_alert", "ai.skill_suggestion"} {
		if n := len(mailOfType(other, typ)); n != 0 {
			t.Errorf("%d %s emails to a user not named", n, typ)
		}
	}
	if n := count(t, "SELECT count(*) FROM notifications WHERE tenant_id = $1 AND user_id = 'dev'", tn.id); n != 3 {
		t.Errorf("%d inbox items for dev, want 3", n)
	}
}
