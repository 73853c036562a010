package e2e

import (
	"strings"
	"testing"
)

// The outreach notices read as a Kit user expects: a finished campaign
// with its rates, a reply with its sentiment and the excerpt quoted and
// escaped.
func TestOutreachNoticesShowTheirNumbersAndQuotes(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("kit", "kit-outreach@example.com")
	done := tn.postEvent(map[string]any{"type": "outreach.campaign_completed",
		"data": map[string]any{"campaign_id": "c-7", "name": "Spring launch", "sent": 1200, "replies": 42, "bounced": 18}})
	reply := tn.postEvent(map[string]any{"type": "outreach.prospect_replied", "link": "https://app.example/replies/9",
		"data": map[string]any{"prospect_name": "Dana <CTO>", "prospect_email": "dana@initech.example", "campaign_id": "c-7",
			"sentiment": "positive", "reply_excerpt": "Sounds good <b>let's talk</b>\nThursday?"}})
	tn.waitEvent(done.EventID)
	tn.waitEvent(reply.EventID)

	m := mailFor(done.EventID)
	if len(m) != 1 {
		t.Fatalf("%d campaign emails", len(m))
	}
	for _, want := range []string{"1,200 sent, 42 replies, 18 bounced", "Reply rate: 3.5%", "Bounce rate: 1.5%"} {
		if !strings.Contains(m[0].Text, want) {
			t.Errorf("the campaign email lacks %q:\n%s", want, m[0].Text)
		}
	}
	m = mailFor(reply.EventID)
	if len(m) != 1 {
		t.Fatalf("%d reply emails", len(m))
	}
	if m[0].Subject != "Dana <CTO> replied to your campaign (positive)" {
		t.Errorf("the reply's subject: %q", m[0].Subject)
	}
	if !strings.Contains(strings.ReplaceAll(m[0].Text, "\r\n", "\n"), "> Sounds good <b>let's talk</b>\n> Thursday?") {
		t.Errorf("the excerpt is not quoted in the text part:\n%s", m[0].Text)
	}
	if strings.Contains(m[0].HTML, "<b>let") || !strings.Contains(m[0].HTML, "&lt;b&gt;let") {
		t.Errorf("the excerpt is not escaped in the HTML part:\n%s", m[0].HTML)
	}
}
