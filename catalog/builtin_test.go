package catalog

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

var dataKey = regexp.MustCompile(`\.data\.([a-z_]+)`)

// templateKeys lists the data keys t's templates read.
func templateKeys(t EventType) []string {
	var keys []string
	for _, m := range dataKey.FindAllStringSubmatch(t.Templates.Subject+t.Templates.Text+t.Templates.HTML, -1) {
		if !slices.Contains(keys, m[1]) {
			keys = append(keys, m[1])
		}
	}
	return keys
}

// sample is the value the tests give key: capitalised, as names and
// titles are, so that a sentence starting with it starts with a capital.
func sample(key string) string { return "Val_" + key }

// onlyWith names the optional keys that mean nothing on their own: a limit
// is shown with the usage, a count of emails sent with the bounces.
var onlyWith = map[string][]string{
	"outreach.bounce_rate_alert": {"sent"},
	"usage.quota_warning":        {"limit"},
	"usage.quota_reached":        {"limit"},
	// The pace before is shown beside the pace now, the limit beside the use.
	"usage.trend_alert":      {"previous_rate", "limit"},
	"usage.projection_alert": {"limit"},
	// fields is an object: its entries are shown (TestLeadEmailListsFields).
	"lead.qualified": {"fields"},
	// counts is an object of variant counts, shown as its entries.
	"outreach.experiment_ready": {"counts"},
}

// TestBuiltInTemplatesDegrade renders every notifying built-in type with
// its required data only, with each optional key on its own, and with all
// of them, and reads the result as a user would.
func TestBuiltInTemplatesDegrade(t *testing.T) {
	t.Parallel()
	for _, typ := range BuiltIn().All() {
		if !ValidKey(typ.Key) {
			t.Errorf("%s: invalid key", typ.Key)
		}
		if typ.Internal {
			continue // they render data Herald builds: TestDigestRenders
		}
		if typ.Input {
			if typ.Notifies() {
				t.Errorf("%s: input type notifies", typ.Key)
			}
			continue
		}
		keys := templateKeys(typ)
		if len(typ.Required) == 0 && typ.Key != TestNotification { // the test notice is fixed text
			t.Errorf("%s: no required data", typ.Key)
		}
		for _, k := range typ.Required {
			if !slices.Contains(keys, k) {
				t.Errorf("%s: requires %s, which no template shows", typ.Key, k)
			}
		}
		required := map[string]any{}
		for _, k := range typ.Required {
			required[k] = sample(k)
		}
		cases := []struct {
			name  string
			data  map[string]any
			shown []string // values the notice must show
		}{{"required only", required, slices.Clone(typ.Required)}}
		full := map[string]any{}
		for _, k := range keys {
			full[k] = sample(k)
			if slices.Contains(typ.Required, k) {
				continue
			}
			shown := []string{k}
			if slices.Contains(onlyWith[typ.Key], k) {
				shown = nil
			}
			data := map[string]any{k: sample(k)}
			for rk, v := range required {
				data[rk] = v
			}
			cases = append(cases, struct {
				name  string
				data  map[string]any
				shown []string
			}{"required and " + k, data, shown})
		}
		cases = append(cases, struct {
			name  string
			data  map[string]any
			shown []string
		}{"every key", full, nil})

		r, err := NewRenderer(typ)
		if err != nil {
			t.Fatalf("%s: %v", typ.Key, err)
		}
		for _, tc := range cases {
			name := typ.Key + " with " + tc.name
			c, err := r.Email(tc.data, Recipient{ID: "u1", Name: "Ada Lovelace"}, "https://app.example/x")
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			n, err := r.Notice(tc.data, Recipient{ID: "u1"}, "")
			if err != nil || n.Subject != c.Subject || n.Body != c.Body {
				t.Errorf("%s: notice %+v, %v: want the email's subject and body", name, n, err)
			}
			for _, problem := range readingProblems(c, tc.data) {
				t.Errorf("%s: %s\nsubject: %q\nbody: %q", name, problem, c.Subject, c.Body)
			}
			for _, k := range tc.shown {
				if !strings.Contains(c.Subject+"\n"+c.Body, sample(k)) {
					t.Errorf("%s: %s is not shown\nsubject: %q\nbody: %q", name, k, c.Subject, c.Body)
				}
			}
		}
	}
}

// readingProblems lists what would make a rendered notification read as a
// template with holes in it.
func readingProblems(c Content, data map[string]any) []string {
	var out []string
	for part, s := range map[string]string{"subject": c.Subject, "body": c.Body, "text part": c.Text} {
		for _, bad := range []string{noValue, "<nil>", "%!", "map[", `""`, "()", "  ", " .", " ,", " :", " )", "( ", "\n\n\n"} {
			if strings.Contains(s, bad) {
				out = append(out, fmt.Sprintf("%s contains %q", part, bad))
			}
		}
		for _, line := range strings.Split(s, "\n") {
			if line != "-- " && strings.TrimSpace(line) != line {
				out = append(out, fmt.Sprintf("%s has a line with space at an end: %q", part, line))
			}
		}
	}
	for _, bad := range []string{"&lt;no value&gt;", "&lt;nil&gt;", "()", "&#34;&#34;"} {
		if strings.Contains(c.HTML, bad) {
			out = append(out, fmt.Sprintf("HTML contains %q", bad))
		}
	}
	if c.Subject == "" || strings.HasSuffix(c.Subject, ":") {
		out = append(out, "subject is empty or ends in a colon")
	}
	if c.Body == "" || strings.HasSuffix(c.Body, ":") {
		out = append(out, "body is empty or ends in a colon")
	}
	for part, s := range map[string]string{"subject": c.Subject, "body": c.Body} {
		if first := []rune(s + " ")[0]; unicode.IsLower(first) {
			out = append(out, part+" starts in lower case")
		}
	}
	ends := strings.HasSuffix(c.Body, ".")
	for _, v := range data {
		ends = ends || strings.HasSuffix(c.Body, fmt.Sprint(v))
	}
	if !ends {
		out = append(out, "body does not end a sentence")
	}
	return out
}

// TestBuiltInTemplatesRead pins what a user reads for some types, with and
// without their optional data, numbers decoded as the API decodes them.
func TestBuiltInTemplatesRead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key, data     string
		subject, body string
	}{
		{"issue.assigned", `{"issue_key": "SN-1"}`,
			"SN-1 was assigned to you", "SN-1 is now assigned to you."},
		{"issue.assigned", `{"issue_key": "SN-1", "title": "Fix login"}`,
			"SN-1 was assigned to you: Fix login", `SN-1 "Fix login" is now assigned to you.`},
		{"issue.commented", `{"issue_key": "SN-1"}`,
			"New comment on SN-1", "Someone commented on SN-1."},
		{"issue.commented", `{"issue_key": "SN-1", "title": "Fix login", "author": "Ada", "comment": "Done?"}`,
			"New comment on SN-1", "Ada commented on SN-1 \"Fix login\":\n\nDone?"},
		{"outreach.prospect_replied", `{"prospect_name": "Grace"}`,
			"Grace replied to your campaign", "Grace replied to your campaign."},
		{"outreach.prospect_replied", `{"prospect_name": "Grace", "prospect_email": "g@x.example", "campaign_id": "c-9", "campaign_name": "Spring", "reply_excerpt": "Yes"}`,
			"Grace replied to your campaign", "Grace <g@x.example> replied to campaign Spring:\n\n> Yes"},
		{"outreach.campaign_completed", `{"name": "Spring"}`,
			"Campaign Spring completed", "Campaign Spring finished."},
		{"outreach.campaign_completed", `{"name": "Spring", "sent": 1000000, "replies": 1, "bounced": 0}`,
			"Campaign Spring completed", "Campaign Spring finished: 1,000,000 sent, 1 reply, 0 bounced.\nReply rate: <0.1%\nBounce rate: 0%"},
		{"outreach.bounce_rate_alert", `{"campaign_id": "c-9", "sent": 40, "bounced": 3}`,
			"High bounce rate on campaign c-9", "Campaign c-9 bounced 3 of 40 emails (7.5%). Check the list before sending more: mailbox providers start filtering senders whose bounce rate stays above 5%."},
		{"outreach.bounce_rate_alert", `{"campaign_id": "c-9", "bounced": 12}`,
			"High bounce rate on campaign c-9", "Campaign c-9 bounced 12 emails. Check the list before sending more: mailbox providers start filtering senders whose bounce rate stays above 5%."},
		{"usage.quota_reached", `{"metric": "emails", "used": 10000}`,
			"You have reached your emails limit", "10,000 emails used this period. New emails are paused until you add a top-up pack or the billing cycle resets. An upgrade raises the limit for good."},
		{"outreach.drafts_ready", `{"batch_id": "b-1", "drafts": 1}`,
			"Your drafts are ready", "1 draft is ready for review in batch b-1."},
		{"outreach.drafts_ready", `{"batch_id": "b-1"}`,
			"Your drafts are ready", "The drafts of batch b-1 are ready for review."},
		{"outreach.connection_degraded", `{"connection_id": "smtp-1"}`,
			"Connection smtp-1 is degraded", "Connection smtp-1 stopped working. Sending may be affected until it recovers."},
		{"lead.qualified", `{"lead_id": "l-1"}`,
			"Qualified lead: l-1", "Lead l-1 qualified."},
		{"lead.qualified", `{"lead_id": "l-1", "persona": "CTO", "company": "Acme", "score": 72, "summary": "Wants a demo.", "transcript_url": "https://t.example/1"}`,
			"Qualified lead: CTO at Acme (score 72)", "CTO at Acme scored 72.\n\nWants a demo.\n\nTranscript: https://t.example/1"},
		{"lead.qualified", `{"lead_id": "l-1", "score": 64, "fields": {"timeline": "Q3", "budget": "50k", "notes": ""}}`,
			"Qualified lead: l-1 (score 64)", "Lead l-1 scored 64.\n\nbudget: 50k\ntimeline: Q3"},
		{"usage.quota_reached", `{"metric": "seats", "used": 300, "limit": 300, "period": "2026-11"}`,
			"You have reached your seats limit", "300 of 300 seats used this period (100%). New seats are paused until you add a top-up pack or the billing cycle resets (this one is 2026-11). An upgrade raises the limit for good."},
		{"outreach.experiment_ready", `{"name": "Subject lines", "min_sample_size": 1000, "counts": {"b": 1200, "a": 1000}}`,
			"Experiment Subject lines is ready for a decision", "Every variant of experiment Subject lines has reached its minimum sample size of 1,000.\n\na: 1,000\nb: 1,200\n\nPick a winner."},
		{"outreach.campaign_completed", `{"name": "Fall", "sent": 200, "replies": 3, "bounced": 7}`,
			"Campaign Fall completed", "Campaign Fall finished: 200 sent, 3 replies, 7 bounced.\nReply rate: 1.5%\nBounce rate: 3.5%"},
		{"usage.quota_warning", `{"metric": "emails", "used": 8000, "limit": 10000}`,
			"You have used 80% of your emails limit", "8,000 of 10,000 emails used this period (80%). At 100%, new emails pause until a top-up or the next billing cycle. To keep going, consider a top-up pack or an upgrade."},
		{"usage.trend_alert", `{"metric": "emails", "used": 6000, "limit": 10000, "growth_percent": 85, "rate": 740, "previous_rate": 400}`,
			"Your emails usage is growing faster (+85%)", "Usage of emails is growing 85% faster this period than last: about 740 a day, up from 400. 6,000 of 10,000 emails used so far (60%)."},
		{"usage.trend_alert", `{"metric": "emails"}`,
			"Your emails usage is growing faster", "Usage of emails is growing faster this period than last."},
		{"usage.projection_alert", `{"metric": "emails", "used": 6000, "limit": 10000, "rate": 500, "projected_on": "2026-01-19", "period_end": "2026-02-01"}`,
			"You will reach your emails limit around January 19, 2026",
			"At the current rate of about 500 a day, your emails reach the limit of 10,000 around January 19, 2026, before the period ends on February 1, 2026. Then new emails pause until a top-up or the next period; consider a top-up pack or an upgrade now."},
		{"usage.projection_alert", `{"metric": "emails"}`,
			"You will reach your emails limit before the period ends",
			"At the current rate, your emails reach the limit before the period ends. Then new emails pause until a top-up or the next period; consider a top-up pack or an upgrade now."},
		{"time.entry_updated", `{"entry_id": "te-7", "status": "rejected", "project": "Atlas", "hours": 3.5, "date": "2026-01-12", "reviewer": "Kim", "comment": "Wrong project."}`,
			"Atlas: time entry te-7 rejected", "Time entry te-7 (January 12, 2026, 3.5 hours) on Atlas rejected by Kim. Correct it and submit it again.\n\nComment: Wrong project."},
		{"time.entry_updated", `{"entry_id": "te-7", "status": "submitted"}`,
			"Time entry te-7 is waiting for review", "Time entry te-7 is waiting for review."},
		{"integration.extension_alert", `{"extension": "GitHub sync", "message": "The token expired; reconnect the extension."}`,
			"GitHub sync needs attention", "GitHub sync: The token expired; reconnect the extension."},
		{"ai.aide_alert", `{"message": "This query runs once per row.", "repository": "api", "file": "orders.go", "suggestion": "Batch the lookups."}`,
			"Developer Aide has a suggestion", "This query runs once per row.\n\nIn api:orders.go\n\nSuggestion: Batch the lookups."},
		{"ai.skill_suggestion", `{"skill": "SQL indexing", "reason": "Three of your last reviews asked for an index."}`,
			"A skill to learn next: SQL indexing", "Three of your last reviews asked for an index.\n\nWe suggest you develop SQL indexing next."},
		{"system.build_failed", `{"pipeline": "deploy"}`,
			"Build failed: deploy", "A build of deploy failed."},
		{"approval.requested", `{"title": "Refund #12"}`,
			"Approval requested: Refund #12", "Your approval is requested: Refund #12"},
		{"approval.requested", `{"title": "Refund #12", "requester": "Kim", "description": "Customer asked twice."}`,
			"Approval requested: Refund #12", "Kim asks for your approval: Refund #12\n\nCustomer asked twice."},
		{"billing.subscription_expiring", `{"expires_at": "on 1 May"}`,
			"Your subscription expires on 1 May", "Your subscription expires on 1 May."},
		{"billing.payment_failed", `{"amount": 10.50}`,
			"Your payment failed", "We could not charge 10.50. Update your payment method to avoid interruption."},
		{"system.notice", `{"title": "Maintenance"}`, "Maintenance", "Maintenance"},
		// Without its required data a type still gets a subject.
		{"system.notice", `{}`, "System notice", ""},
	}
	for _, tt := range tests {
		typ, ok := BuiltIn().Lookup(tt.key)
		if !ok {
			t.Fatalf("%s is not built in", tt.key)
		}
		data, err := DecodeData([]byte(tt.data))
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewRenderer(typ)
		if err != nil {
			t.Fatal(err)
		}
		c, err := r.Notice(data, Recipient{ID: "u1"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if c.Subject != tt.subject || c.Body != tt.body {
			t.Errorf("%s %s:\n got %q, %q\nwant %q, %q", tt.key, tt.data, c.Subject, c.Body, tt.subject, tt.body)
		}
	}
}
