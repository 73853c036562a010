// Package slackmsg builds the Block Kit messages Herald posts to Slack: a
// header with the notification's title, its text, the event's fields, a
// context line and a button linking back, with a plain-text fallback for
// notifications and clients without blocks. It does no I/O.
package slackmsg

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/locale"
)

// Message is what one Slack post carries.
type Message struct {
	Text   string        `json:"text"`
	Blocks []slack.Block `json:"blocks"`
}

// Slack's limits: longer values are cut with an ellipsis, not refused.
const (
	maxHeader   = 150
	maxSection  = 3000
	maxField    = 2000
	maxFields   = 10
	maxButton   = 75
	maxURL      = 3000
	maxFallback = 3000
)

// field is one labelled value of an event's data shown beside the text.
type field struct{ label, key string }

// fields are the data each built-in type shows as labelled fields. Types
// not listed (tenant-defined ones too) show their text alone.
var fields = map[string][]field{
	"outreach.prospect_replied":     {{"Prospect", "prospect_name"}, {"Sentiment", "sentiment"}, {"Campaign", "campaign_id"}},
	"outreach.drafts_ready":         {{"Drafts", "drafts"}, {"Batch", "batch_id"}},
	"outreach.bounce_rate_alert":    {{"Campaign", "campaign_id"}, {"Sent", "sent"}, {"Bounced", "bounced"}, {"Bounce rate", "bounce_rate"}},
	"outreach.campaign_completed":   {{"Campaign", "name"}, {"Sent", "sent"}, {"Replies", "replies"}, {"Bounced", "bounced"}},
	"outreach.experiment_ready":     {{"Experiment", "experiment_id"}, {"Name", "name"}},
	"outreach.connection_degraded":  {{"Connection", "connection_id"}, {"Kind", "kind"}},
	"outreach.connection_recovered": {{"Connection", "connection_id"}, {"Kind", "kind"}},
	"lead.qualified":                {{"Persona", "persona"}, {"Company", "company"}, {"Score", "score"}},
	"issue.assigned":                {{"Issue", "issue_key"}, {"Title", "title"}},
	"issue.status_changed":          {{"Issue", "issue_key"}, {"Status", "status"}},
	"issue.commented":               {{"Issue", "issue_key"}, {"Author", "author"}},
	"issue.mentioned":               {{"Issue", "issue_key"}, {"By", "author"}},
	"project.update":                {{"Project", "project"}},
	"project.milestone_deadline":    {{"Milestone", "milestone"}, {"Due", "due"}, {"Project", "project"}},
	"project.sprint_started":        {{"Sprint", "sprint"}, {"Project", "project"}},
	"project.sprint_completed":      {{"Sprint", "sprint"}, {"Project", "project"}},
	"system.build_failed":           {{"Pipeline", "pipeline"}, {"Build", "build_id"}, {"Branch", "branch"}, {"Commit", "commit"}},
	"ai.risk_alert":                 {{"Risk", "risk"}, {"Severity", "severity"}},
	"ai.aide_alert":                 {{"Repository", "repository"}, {"File", "file"}},
	"ai.skill_suggestion":           {{"Skill", "skill"}, {"Level", "level"}},
	"integration.extension_alert":   {{"Extension", "extension"}, {"Severity", "severity"}},
	"usage.trend_alert":             {{"Metric", "metric"}, {"Growth (%)", "growth_percent"}, {"Per day now", "rate"}, {"Per day before", "previous_rate"}, {"Used", "used"}, {"Limit", "limit"}},
	"usage.projection_alert":        {{"Metric", "metric"}, {"Limit reached around", "projected_on"}, {"Period ends", "period_end"}, {"Used", "used"}, {"Limit", "limit"}},
	"usage.quota_warning":           {{"Metric", "metric"}, {"Used", "used"}, {"Limit", "limit"}, {"Share", "percent"}},
	"usage.quota_reached":           {{"Metric", "metric"}, {"Used", "used"}, {"Limit", "limit"}, {"Share", "percent"}},
	"time.entry_updated":            {{"Entry", "entry_id"}, {"Status", "status"}, {"Project", "project"}, {"Hours", "hours"}},
	"approval.requested":            {{"Request", "title"}, {"Requester", "requester"}},
	"approval.reminder":             {{"Request", "title"}, {"Requester", "requester"}},
	"approval.escalated":            {{"Request", "title"}, {"Level", "level"}},
	"approval.executive_alert":      {{"Request", "title"}, {"Level", "level"}},
}

// Build renders the message of one event for Slack, with link, the
// event's own link that anyone may see, behind its button: what a channel
// gets, and a DM without a link of the recipient's own. It is written for
// reader: a DM's recipient, or catalog.Recipient{} for a channel (the
// tenant's default locale).
func Build(t catalog.EventType, r *catalog.Renderer, data map[string]any, link, tenant string, reader catalog.Recipient) (Message, error) {
	return render(t, r, data, link, tenant, reader, false)
}

// BuildForApprover renders one approver's DM: link is their own
// (PUBLIC_URL/a/{token}), behind Approve and Reject buttons that open its
// page. Only the approver's own channels may carry it.
func BuildForApprover(t catalog.EventType, r *catalog.Renderer, data map[string]any, link, tenant string, reader catalog.Recipient) (Message, error) {
	return render(t, r, data, link, tenant, reader, true)
}

func render(t catalog.EventType, r *catalog.Renderer, data map[string]any, link, tenant string, reader catalog.Recipient, approver bool) (Message, error) {
	if t.Key == catalog.Digest {
		return digest(r, data, reader)
	}
	c, err := r.Notice(data, reader, link)
	if err != nil {
		return Message{}, err
	}
	lang, format := locale.First(c.Lang), locale.For(locale.First(c.Locale))
	word := func(en string) string { return locale.Word(lang, en) }
	title := cut(strings.TrimSpace(c.Subject), maxHeader)
	if title == "" {
		title = cut(t.Title, maxHeader)
	}
	m := Message{Text: cut(strings.TrimSpace(title+" — "+strings.TrimSpace(c.Body)), maxFallback)}
	m.Blocks = append(m.Blocks, slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, title, true, false)))
	if body := strings.TrimSpace(c.Body); body != "" {
		m.Blocks = append(m.Blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, cut(escape(body), maxSection), false, false), nil, nil))
	}
	var fs []*slack.TextBlockObject
	for _, f := range fields[t.Key] {
		if v, ok := value(format, data[f.key]); ok {
			fs = append(fs, slack.NewTextBlockObject(slack.MarkdownType, cut("*"+word(f.label)+"*\n"+escape(v), maxField), false, false))
		}
	}
	if t.Key == "outreach.campaign_completed" {
		for _, r := range []struct{ label, part string }{{"Reply rate", "replies"}, {"Bounce rate", "bounced"}} {
			if v := catalog.RateIn(format, data[r.part], data["sent"]); v != "" {
				fs = append(fs, slack.NewTextBlockObject(slack.MarkdownType, "*"+word(r.label)+"*\n"+v, false, false))
			}
		}
	}
	if t.Key == catalog.ExperimentReady {
		// Each variant's sample, its own field.
		if counts, ok := data["counts"].(map[string]any); ok {
			for _, k := range sortedKeys(counts) {
				if v, ok := value(format, counts[k]); ok {
					fs = append(fs, slack.NewTextBlockObject(slack.MarkdownType, cut("*"+escape(k)+"*\n"+escape(v), maxField), false, false))
				}
			}
		}
	}
	if t.Key == catalog.LeadQualified {
		// The brief's qualification fields, each its own field.
		if q, ok := data["fields"].(map[string]any); ok {
			for _, k := range sortedKeys(q) {
				if v, ok := value(format, q[k]); ok {
					fs = append(fs, slack.NewTextBlockObject(slack.MarkdownType, cut("*"+escape(k)+"*\n"+escape(v), maxField), false, false))
				}
			}
		}
	}
	if len(fs) > maxFields {
		fs = fs[:maxFields]
	}
	if len(fs) > 0 {
		m.Blocks = append(m.Blocks, slack.NewSectionBlock(nil, fs, nil))
	}
	if t.Key == catalog.LeadQualified {
		if s, ok := value(format, data["summary"]); ok {
			m.Blocks = append(m.Blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, cut("*"+word("Summary")+"*\n"+escape(s), maxSection), false, false), nil, nil))
		}
	}
	ctx := []string{}
	if tenant != "" {
		ctx = append(ctx, escape(tenant))
	}
	if t.Category != "" {
		ctx = append(ctx, escape(t.Category))
	}
	if t.Urgent {
		ctx = append(ctx, ":rotating_light: "+word("urgent"))
	}
	if len(ctx) > 0 {
		m.Blocks = append(m.Blocks, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, strings.Join(ctx, " · "), false, false)))
	}
	var buttons []slack.BlockElement
	if webLink(link) && approver {
		// The approver's own link: both buttons open its page, which
		// asks again before anything is decided.
		approve, reject := button("approve", word("Approve"), withQuery(link, "decision=approve")), button("reject", word("Reject"), withQuery(link, "decision=reject"))
		approve.Style, reject.Style = slack.StylePrimary, slack.StyleDanger
		buttons = append(buttons, approve, reject)
	} else if webLink(link) {
		buttons = append(buttons, button("open", c.Action, link))
	}
	if t.Key == catalog.LeadQualified {
		if u, ok := data["transcript_url"].(string); ok && webLink(u) {
			buttons = append(buttons, button("transcript", word("Transcript"), u))
		}
	}
	if len(buttons) > 0 {
		m.Blocks = append(m.Blocks, slack.NewActionBlock("", buttons...))
	}
	return m, nil
}

func withQuery(link, q string) string {
	if strings.Contains(link, "?") {
		return link + "&" + q
	}
	return link + "?" + q
}

func button(id, text, url string) *slack.ButtonBlockElement {
	b := slack.NewButtonBlockElement(id, "", slack.NewTextBlockObject(slack.PlainTextType, cut(text, maxButton), false, false))
	b.URL = url
	return b
}

func webLink(s string) bool {
	return len(s) <= maxURL && (strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://"))
}

// value shows a data value as text; numbers keep their exact digits,
// grouped as the reader's language groups them, as the email templates
// show them.
func value(f locale.Format, v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, strings.TrimSpace(x) != ""
	case bool:
		return strconv.FormatBool(x), true
	case fmt.Stringer: // json.Number
		return grouped(f, x.String()), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return grouped(f, strconv.FormatInt(int64(x), 10)), true
		}
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int:
		return grouped(f, strconv.Itoa(x)), true
	}
	return "", false
}

// grouped puts thousands separators in a whole number; anything else is
// returned as is.
func grouped(f locale.Format, s string) string {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || strings.Trim(digits, "0123456789") != "" || len(digits) <= 3 {
		return s
	}
	return f.Number(s[:len(s)-len(digits)], digits, "")
}

// escape makes text safe in Slack mrkdwn: &, < and > are control characters
// (links, mentions).
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// cut shortens s to at most n characters, ending with an ellipsis.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

// digest lays a digest out as one section per category, each item a line
// linked to its source, with the rest of a long window counted.
func digest(r *catalog.Renderer, data map[string]any, reader catalog.Recipient) (Message, error) {
	c, err := r.Notice(data, reader, "")
	if err != nil {
		return Message{}, err
	}
	lang, format := locale.First(c.Lang), locale.For(locale.First(c.Locale))
	title := cut(c.Subject, maxHeader)
	m := Message{Text: title}
	m.Blocks = append(m.Blocks, slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, title, true, false)))
	groups, _ := data["groups"].([]any)
	for _, g := range groups {
		g, _ := g.(map[string]any)
		name, _ := value(format, g["title"])
		if cat, ok := g["category"].(string); ok && cat != "" {
			name = locale.Category(lang, cat)
		}
		total, _ := value(format, g["total"])
		var b strings.Builder
		fmt.Fprintf(&b, "*%s* (%s)", escape(name), escape(total))
		items, _ := g["items"].([]any)
		for _, it := range items {
			it, _ := it.(map[string]any)
			t, _ := value(format, it["title"])
			line := "\n• " + escape(t)
			if u, ok := it["link"].(string); ok && webLink(u) && !strings.ContainsAny(u, "|<> ") {
				line = "\n• <" + u + "|" + escape(t) + ">"
			}
			if b.Len()+len(line) > maxSection-40 {
				break
			}
			b.WriteString(line)
		}
		if more, ok := value(format, g["more"]); ok && more != "0" {
			b.WriteString("\n" + locale.Printer(lang).Sprintf("…and %s more", escape(more)))
		}
		m.Blocks = append(m.Blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, cut(b.String(), maxSection), false, false), nil, nil))
		if len(m.Blocks) >= 49 { // Slack takes 50 blocks a message
			break
		}
	}
	return m, nil
}
