package catalog

import (
	"strings"

	"github.com/heraldhq/herald/channel"
)

var (
	inAppEmail      = []channel.Channel{channel.InApp, channel.Email}
	inAppEmailSlack = []channel.Channel{channel.InApp, channel.Email, channel.Slack}
)

func notice(key, category, title, recipients string, channels []channel.Channel, required []string, subject, text string) EventType {
	return EventType{Key: key, Category: category, Title: title, Recipients: recipients,
		Channels: channels, Required: required, Templates: Templates{Subject: subject, Text: text}}
}

// needs lists the data keys an event of a type must carry.
func needs(keys ...string) []string { return keys }

func urgent(t EventType) EventType { t.Urgent = true; return t }

func withAction(label string, t EventType) EventType { t.Templates.Action = label; return t }

// input is a type that feeds rules; required are the data its rules read.
func input(key, category, title string, required []string) EventType {
	return EventType{Key: key, Category: category, Title: title, Input: true, Recipients: RecipientsNone, Required: required}
}

// builtIns is the catalog of DESIGN.md. Templates see .data (the event's data),
// .user (id, name, email of the recipient), .link and .type.
//
// Only the data a type needs is required; every other key is optional, and
// a template must still read as a sentence without it: optional words go
// inside {{with}}, with a plainer phrasing in {{else}} where one is needed.
var builtIns = []EventType{
	withAction("View reply", notice("outreach.prospect_replied", "outreach", "Prospect replied", RecipientsSubscribers, inAppEmailSlack,
		needs("prospect_name"),
		"{{.data.prospect_name}} replied to your campaign{{with .data.sentiment}} ({{.}}){{end}}",
		"{{.data.prospect_name}}{{with .data.prospect_email}} <{{.}}>{{end}} replied to "+
			"{{with or .data.campaign_name .data.campaign_id}}campaign {{.}}{{else}}your campaign{{end}}"+
			"{{with quote .data.reply_excerpt}}:\n\n{{.}}{{else}}.{{end}}")),
	notice("outreach.drafts_ready", "outreach", "Drafts ready", RecipientsSubscribers, inAppEmailSlack,
		needs("batch_id"),
		"Your drafts are ready",
		`{{with .data.drafts}}{{counted . "draft is" "drafts are"}} ready for review in batch {{$.data.batch_id}}.`+
			"{{else}}The drafts of batch {{.data.batch_id}} are ready for review.{{end}}"),
	notice("outreach.bounce_rate_alert", "outreach", "Bounce rate alert", RecipientsSubscribers, inAppEmailSlack,
		needs("campaign_id"),
		"High bounce rate on campaign {{.data.campaign_id}}",
		"Campaign {{or .data.name .data.campaign_id}} "+
			`{{with .data.bounced}}bounced {{if $.data.sent}}{{count .}} of {{counted $.data.sent "email" "emails"}}{{with rate $.data.bounced $.data.sent}} ({{.}}){{end}}`+
			`{{else}}{{counted . "email" "emails"}}{{end}}{{else}}has a high bounce rate{{end}}. Check the list before sending more: `+
			"mailbox providers start filtering senders whose bounce rate stays above 5%."),
	notice("outreach.campaign_completed", "outreach", "Campaign completed", RecipientsSubscribers, inAppEmailSlack,
		needs("name"),
		"Campaign {{.data.name}} completed",
		"Campaign {{.data.name}} finished"+
			`{{with join ", " (counted .data.sent "sent") (counted .data.replies "reply" "replies") (counted .data.bounced "bounced")}}: {{.}}{{end}}.`+
			"{{with rate .data.replies .data.sent}}\nReply rate: {{.}}{{end}}{{with rate .data.bounced .data.sent}}\nBounce rate: {{.}}{{end}}"),
	notice("outreach.experiment_ready", "outreach", "Experiment ready", RecipientsSubscribers, inAppEmailSlack,
		needs("name"),
		"Experiment {{.data.name}} is ready for a decision",
		"Every variant of experiment {{.data.name}} has reached its minimum sample size{{with .data.min_sample_size}} of {{count .}}{{end}}."+
			"{{with pairs .data.counts}}\n{{range .}}\n{{.Key}}: {{count .Value}}{{end}}{{end}}\n\nPick a winner."),
	notice("outreach.connection_degraded", "outreach", "Connection degraded", RecipientsSubscribers, inAppEmailSlack,
		needs("connection_id"),
		"{{with .data.kind}}Your {{.}} connection{{else}}Connection {{$.data.connection_id}}{{end}} is degraded",
		"Connection {{.data.connection_id}}{{with .data.kind}} ({{.}}){{end}} stopped working. Sending may be affected until it recovers."),
	notice("outreach.connection_recovered", "outreach", "Connection recovered", RecipientsSubscribers, inAppEmailSlack,
		needs("connection_id"),
		"{{with .data.kind}}Your {{.}} connection{{else}}Connection {{$.data.connection_id}}{{end}} recovered",
		"Connection {{.data.connection_id}}{{with .data.kind}} ({{.}}){{end}} works again."),
	input("outreach.campaign_stats", "outreach", "Campaign statistics", needs("campaign_id", "sent", "bounced")),
	input("outreach.connection_status", "outreach", "Connection status", needs("connection_id", "status")),
	input("lead.scored", "leads", "Lead scored", needs("lead_id", "score")),
	notice("lead.qualified", "leads", "Lead qualified", RecipientsOwner, inAppEmailSlack,
		needs("lead_id"),
		`Qualified lead: {{or (join " at " .data.persona .data.company) .data.lead_id}}{{with .data.score}} (score {{.}}){{end}}`,
		`{{with join " at " .data.persona .data.company}}{{.}}{{else}}Lead {{$.data.lead_id}}{{end}} `+
			"{{with .data.score}}scored {{.}}{{else}}qualified{{end}}."+
			"{{with pairs .data.fields}}\n{{range .}}\n{{.Key}}: {{.Value}}{{end}}{{end}}"+
			"{{with .data.summary}}\n\n{{.}}{{end}}{{with .data.transcript_url}}\n\nTranscript: {{.}}{{end}}"),
	input("usage.updated", "billing", "Usage updated", needs("metric", "used", "limit", "period")),
	// Usage alerts go to the owner and the tenant's Slack: in Kilo's
	// brief they are what a team watches its plan by.
	notice("usage.quota_warning", "billing", "Quota warning", RecipientsOwner, inAppEmailSlack,
		needs("metric"),
		"You have used 80% of your {{.data.metric}} limit",
		"{{with .data.used}}{{count .}}{{with $.data.limit}} of {{count .}}{{end}} {{$.data.metric}} used this period"+
			"{{with rate $.data.used $.data.limit}} ({{.}}){{end}}.{{else}}You have used 80% of your {{.data.metric}} limit for this period.{{end}}"+
			" At 100%, new {{.data.metric}} pause until a top-up or the next billing cycle{{with .data.period}} (this one is {{.}}){{end}}."+
			" To keep going, consider a top-up pack or an upgrade."),
	notice("usage.quota_reached", "billing", "Quota reached", RecipientsOwner, inAppEmailSlack,
		needs("metric"),
		"You have reached your {{.data.metric}} limit",
		"{{with .data.used}}{{count .}}{{with $.data.limit}} of {{count .}}{{end}} {{$.data.metric}} used this period"+
			"{{with rate $.data.used $.data.limit}} ({{.}}){{end}}.{{else}}You have reached your {{.data.metric}} limit for this period.{{end}}"+
			" New {{.data.metric}} are paused until you add a top-up pack or the billing cycle resets"+
			"{{with .data.period}} (this one is {{.}}){{end}}. An upgrade raises the limit for good."),
	// Computed by the usage series (package usage) from usage.updated
	// inputs: growth_percent, rate and previous_rate (a day), and for the
	// projection projected_on and period_end (dates) and days_to_limit.
	notice("usage.trend_alert", "billing", "Usage trend alert", RecipientsOwner, inAppEmailSlack,
		needs("metric"),
		"Your {{.data.metric}} usage is growing faster{{with .data.growth_percent}} (+{{count .}}%){{end}}",
		"{{with .data.growth_percent}}Usage of {{$.data.metric}} is growing {{count .}}% faster this period than last"+
			"{{else}}Usage of {{.data.metric}} is growing faster this period than last{{end}}"+
			"{{with .data.rate}}: about {{count .}} a day{{with $.data.previous_rate}}, up from {{count .}}{{end}}{{end}}."+
			"{{with .data.used}} {{count .}}{{with $.data.limit}} of {{count .}}{{end}} {{$.data.metric}} used so far{{with rate $.data.used $.data.limit}} ({{.}}){{end}}.{{end}}"),
	notice("usage.projection_alert", "billing", "Usage projection alert", RecipientsOwner, inAppEmailSlack,
		needs("metric"),
		"You will reach your {{.data.metric}} limit {{with .data.projected_on}}around {{date .}}{{else}}before the period ends{{end}}",
		"At the current rate{{with .data.rate}} of about {{count .}} a day{{end}}, "+
			"your {{.data.metric}}{{with .data.limit}} reach the limit of {{count .}}{{else}} reach the limit{{end}} "+
			"{{with .data.projected_on}}around {{date .}}, {{end}}before the period ends{{with .data.period_end}} on {{date .}}{{end}}."+
			" Then new {{.data.metric}} pause until a top-up or the next period; consider a top-up pack or an upgrade now."),
	withAction("View issue", notice("issue.assigned", "issues", "Issue assigned", RecipientsNamed, inAppEmailSlack,
		needs("issue_key"),
		"{{.data.issue_key}} was assigned to you{{with .data.title}}: {{.}}{{end}}",
		`{{.data.issue_key}}{{with .data.title}} "{{.}}"{{end}} is now assigned to you.`)),
	withAction("View issue", notice("issue.status_changed", "issues", "Issue status changed", RecipientsNamed, inAppEmailSlack,
		needs("issue_key", "status"),
		"{{.data.issue_key}} moved to {{.data.status}}",
		`{{.data.issue_key}}{{with .data.title}} "{{.}}"{{end}} moved to {{.data.status}}.`)),
	withAction("View comment", notice("issue.commented", "issues", "New comment", RecipientsNamed, inAppEmailSlack,
		needs("issue_key"),
		"New comment on {{.data.issue_key}}",
		`{{or .data.author "Someone"}} commented on {{.data.issue_key}}{{with .data.title}} "{{.}}"{{end}}`+
			"{{with .data.comment}}:\n\n{{.}}{{else}}.{{end}}")),
	withAction("View mention", notice("issue.mentioned", "issues", "Mentioned", RecipientsNamed, inAppEmailSlack,
		needs("issue_key"),
		"You were mentioned in {{.data.issue_key}}",
		`{{with .data.author}}{{.}} mentioned you{{else}}You were mentioned{{end}} in {{.data.issue_key}}{{with .data.title}} "{{.}}"{{end}}.`)),
	notice("project.update", "projects", "Project update", RecipientsSubscribers, inAppEmailSlack,
		needs("project", "message"),
		"Update on {{.data.project}}", "{{.data.project}}: {{.data.message}}"),
	notice("project.milestone_deadline", "projects", "Milestone deadline approaching", RecipientsSubscribers, inAppEmailSlack,
		needs("milestone"),
		`Milestone {{.data.milestone}} is due {{with .data.due}}{{date .}}{{else}}soon{{end}}`,
		`Milestone {{.data.milestone}}{{with .data.project}} of {{.}}{{end}} is due {{with .data.due}}{{date .}}{{else}}soon{{end}}.`),
	notice("project.sprint_started", "projects", "Sprint started", RecipientsSubscribers, inAppEmailSlack,
		needs("sprint"),
		"Sprint {{.data.sprint}} started", "Sprint {{.data.sprint}}{{with .data.project}} of {{.}}{{end}} has started."),
	notice("project.sprint_completed", "projects", "Sprint completed", RecipientsSubscribers, inAppEmailSlack,
		needs("sprint"),
		"Sprint {{.data.sprint}} completed", "Sprint {{.data.sprint}}{{with .data.project}} of {{.}}{{end}} is complete."),
	withAction("Accept invitation", notice("team.invitation", "team", "Team invitation", RecipientsNamed, inAppEmail,
		needs("team"),
		"You are invited to join {{.data.team}}",
		"{{with .data.inviter}}{{.}} invited you{{else}}You are invited{{end}} to join {{.data.team}}.")),
	withAction("View build", notice("system.build_failed", "system", "Build failed", RecipientsSubscribers, inAppEmailSlack,
		needs("pipeline"),
		"Build failed: {{.data.pipeline}}",
		"{{with .data.build_id}}Build {{.}} of{{else}}A build of{{end}} {{.data.pipeline}} failed.{{with .data.message}}\n\n{{.}}{{end}}")),
	notice("system.notice", "system", "System notice", RecipientsSubscribers, inAppEmail,
		needs("title"),
		"{{.data.title}}", "{{or .data.message .data.title}}"),
	// What POST /v1/test-notification sends: it reaches every configured
	// channel, Slack routes and the tenant webhook whatever they filter.
	notice(TestNotification, "system", "Test notification", RecipientsNamed, inAppEmailSlack,
		nil,
		"Test notification from Herald",
		"This is a test notification. If you can read it, this channel works."),
	notice("billing.notice", "billing", "Billing notice", RecipientsOwner, inAppEmail,
		needs("title"),
		"{{.data.title}}", "{{or .data.message .data.title}}"),
	withAction("Update payment method", notice("billing.payment_failed", "billing", "Payment failed", RecipientsOwner, inAppEmail,
		needs("amount"),
		"Your payment failed", "We could not charge {{.data.amount}}. Update your payment method to avoid interruption.")),
	notice("billing.subscription_expiring", "billing", "Subscription expiring", RecipientsOwner, inAppEmail,
		needs("expires_at"),
		"Your subscription expires {{date .data.expires_at}}",
		"Your {{with .data.plan}}{{.}} {{end}}subscription expires {{date .data.expires_at}}."),
	urgent(notice("ai.risk_alert", "ai", "AI risk alert", RecipientsSubscribers, inAppEmailSlack,
		needs("title"),
		"Risk alert: {{.data.title}}", "{{or .data.summary .data.title}}")),
	withAction("View suggestion", notice("ai.aide_alert", "ai", "Developer Aide alert", RecipientsNamed, inAppEmailSlack,
		needs("message"),
		"Developer Aide{{with .data.title}}: {{.}}{{else}} has a suggestion{{end}}",
		"{{.data.message}}{{with join \":\" .data.repository .data.file}}\n\nIn {{.}}{{end}}{{with .data.suggestion}}\n\nSuggestion: {{.}}{{end}}")),
	withAction("Start learning", notice("ai.skill_suggestion", "ai", "Skill suggestion", RecipientsNamed, inAppEmail,
		needs("skill"),
		"A skill to learn next: {{.data.skill}}",
		"{{with .data.reason}}{{.}}\n\n{{end}}We suggest you develop {{.data.skill}} next{{with .data.level}} (level: {{.}}){{end}}."+
			"{{with .data.resource}}\n\nStart with {{.}}{{end}}")),
	notice("integration.extension_alert", "integrations", "Extension alert", RecipientsSubscribers, inAppEmailSlack,
		needs("extension", "message"),
		"{{.data.extension}}{{with .data.title}}: {{.}}{{else}} needs attention{{end}}",
		"{{.data.extension}}{{with .data.severity}} ({{.}}){{end}}: {{.data.message}}"),
	withAction("View entry", notice("time.entry_updated", "analytics", "Time entry updated", RecipientsNamed, inAppEmail,
		needs("entry_id", "status"),
		`{{with .data.project}}{{.}}: t{{else}}T{{end}}ime entry {{.data.entry_id}} {{if eq .data.status "submitted"}}is waiting for review{{else}}{{.data.status}}{{end}}`,
		`Time entry {{.data.entry_id}}{{with join ", " (date .data.date) (counted .data.hours "hour" "hours")}} ({{.}}){{end}}`+
			`{{with .data.project}} on {{.}}{{end}} `+
			`{{if eq .data.status "submitted"}}is waiting for review{{else}}{{.data.status}}{{with .data.reviewer}} by {{.}}{{end}}{{end}}.`+
			`{{if eq .data.status "rejected"}} Correct it and submit it again.{{end}}`+"{{with .data.comment}}\n\nComment: {{.}}{{end}}")),
	withAction("Review request", notice("approval.requested", "approvals", "Approval requested", RecipientsNamed, inAppEmailSlack,
		needs("title"),
		"Approval requested: {{.data.title}}",
		"{{with .data.requester}}{{.}} asks for your approval{{else}}Your approval is requested{{end}}: {{.data.title}}"+
			"{{with .data.description}}\n\n{{.}}{{end}}")),
	withAction("Review request", notice("approval.reminder", "approvals", "Approval reminder", RecipientsNamed, inAppEmailSlack,
		needs("title"),
		"Reminder: approval pending for {{.data.title}}", "{{.data.title}} is still waiting for your decision.")),
	withAction("Review request", urgent(notice("approval.escalated", "approvals", "Approval escalated", RecipientsNamed, inAppEmailSlack,
		needs("title"),
		"Escalated: approval needed for {{.data.title}}", "{{.data.title}} was escalated to you after the previous level did not decide in time."+
			"{{with .data.requester}} Requested by {{.}}.{{end}}{{with .data.description}}\n\n{{.}}{{end}}"))),
	withAction("Review request", urgent(notice("approval.executive_alert", "approvals", "Executive alert", RecipientsNamed, inAppEmailSlack,
		needs("title"),
		"Executive attention: {{.data.title}}", "{{.data.title}} reached the top approval level without a decision."))),
	// The outcome, to the requester (approved, rejected, expired) or to the
	// approvers (withdrawn).
	withAction("Open", notice("approval.outcome", "approvals", "Approval outcome", RecipientsNamed, inAppEmail,
		needs("title", "outcome"),
		`{{if eq .data.outcome "withdrawn"}}Withdrawn: {{.data.title}}{{else}}Approval {{.data.outcome}}: {{.data.title}}{{end}}`,
		`{{if eq .data.outcome "approved"}}{{.data.title}} was approved{{with .data.decided_by}} by {{.}}{{end}}.`+
			`{{else if eq .data.outcome "rejected"}}{{.data.title}} was rejected{{with .data.decided_by}} by {{.}}{{end}}.`+
			`{{else if eq .data.outcome "expired"}}{{.data.title}} expired: no approver decided in time.`+
			`{{else if eq .data.outcome "withdrawn"}}{{.data.title}} was withdrawn; no decision is needed any more.`+
			`{{else}}{{.data.title}}: {{.data.outcome}}{{with .data.decided_by}} by {{.}}{{end}}.{{end}}`+
			"{{with .data.comment}}\n\nComment: {{.}}{{end}}")),
	batchExpiredType,
	experimentConcludedType,
	digestType,
	collapsedType,
	summaryType(WeeklyDigest, "Weekly digest", "week"),
	summaryType(DailySummary, "Daily summary", "day"),
	timeReviewType,
}

// summaryType is a scheduled summary: email only, to everyone subscribed to
// the summaries category. Its data carries the period and, per recipient,
// .data.you: total, unread, categories [{title, total}] and latest
// [{title, link}] (the newest still unread).
func summaryType(key, title, period string) EventType {
	t := notice(key, CategorySummaries, title, RecipientsSubscribers, []channel.Channel{channel.Email}, nil,
		"Your "+period+`: {{counted .data.you.total "notification" "notifications"}}{{with .data.you.unread}}, {{count .}} unread{{end}}`,
		summaryText("Your "+period+" in numbers:", "- {{.title}}: {{count .total}}", "Still unread:", "Nothing new this "+period+"."))
	t.Internal = true
	return t
}

// summaryText is a summary's text in one language: head over the counts
// per category (each a line), unread over the newest unread, or nothing.
func summaryText(head, line, unread, nothing string) string {
	return "{{if .data.you.total}}" + head + "\n{{range .data.you.categories}}" + line + "\n{{end}}" +
		"{{with .data.you.latest}}\n" + unread + "\n{{range .}}- {{.title}}{{with .link}} <{{.}}>{{end}}\n{{end}}{{end}}" +
		"{{else}}" + nothing + "{{end}}"
}

// timeReviewType is the weekly time-tracking review, built from the
// time.entry_updated notices the recipient got in the week. Its data
// carries the period and, per recipient, .data.you: total (entries),
// hours, approved, waiting_count and rejected_count, and waiting and
// rejected, each a list of
// entries [{entry_id, project, date, hours, link}] by their latest status
// (waiting_more and rejected_more count those past the list).
var timeReviewType = func() EventType {
	entry := `{{.entry_id}}{{with .project}} on {{.}}{{end}}{{with .date}}, {{date .}}{{end}}` +
		`{{with .hours}}, {{counted . "hour" "hours"}}{{end}}{{with .link}} <{{.}}>{{end}}`
	t := notice(TimeReview, "analytics", "Time tracking review", RecipientsSubscribers, []channel.Channel{channel.Email}, nil,
		`Your time review: {{if .data.you.total}}{{counted .data.you.total "entry" "entries"}} this week`+
			`{{with .data.you.waiting_count}}, {{counted . "waits" "wait"}} for review{{end}}`+
			`{{with .data.you.rejected_count}}, {{count .}} rejected{{end}}{{else}}no time entries this week{{end}}`,
		`{{if .data.you.total}}This week: {{counted .data.you.total "time entry" "time entries"}}`+
			`{{with .data.you.hours}}, {{counted . "hour" "hours"}}{{end}}; {{count .data.you.approved}} approved.`+
			"{{with .data.you.waiting}}\n\nWaiting for review:{{range .}}\n- "+entry+"{{end}}{{end}}"+
			"{{with .data.you.waiting_more}}\n…and {{count .}} more{{end}}"+
			"{{with .data.you.rejected}}\n\nRejected, to correct and submit again:{{range .}}\n- "+entry+"{{end}}{{end}}"+
			"{{with .data.you.rejected_more}}\n…and {{count .}} more{{end}}"+
			"{{else}}No time entries this week.{{end}}")
	t.Internal = true
	return t
}()

// digestType lists a window's notifications. Its data is built by the
// digest activity: label, total, groups [{title, total, more, items [{title,
// body, link}]}] and categories; the text lists them, the HTML links them.
var digestType = EventType{
	Key: Digest, Category: "digest", Title: "Digest", Recipients: RecipientsNamed,
	Channels: []channel.Channel{channel.Email, channel.Slack}, Internal: true,
	Templates: digestTemplates("en", "{{.data.label}}", `"notification" "notifications"`, "…and {{count .}} more", "{{.title}}"),
}

// digestIn is the digest in a language other than English: its label
// from the window's frequency, the counted forms of "notification", the
// line under a group cut short, and categories by their translated names.
func digestIn(lang, label, forms, more string) Templates {
	return digestTemplates(lang, label, forms, more, "{{category .category}}")
}

// digestTemplates are the digest's subject, text and HTML in one language.
func digestTemplates(lang, label, forms, more, group string) Templates {
	r := strings.NewReplacer("{{LANG}}", lang, "{{LABEL}}", label, "{{FORMS}}", forms, "{{MORE}}", more, "{{GROUP}}", group)
	return Templates{
		Subject: r.Replace("{{LABEL}}: {{counted .data.total {{FORMS}}}}"),
		Text: r.Replace("{{range .data.groups}}{{GROUP}} ({{count .total}})\n" +
			"{{range .items}}- {{.title}}{{with .link}} <{{.}}>{{end}}\n{{end}}" +
			"{{with .more}}{{MORE}}\n{{end}}\n{{end}}"),
		HTML: r.Replace(digestHTML),
	}
}

const digestHTML = `<!doctype html>
<html lang="{{LANG}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{LABEL}}</title></head>
<body style="margin:0;padding:0;background:#f5f5f7;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1d1d1f">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f5f5f7"><tr><td align="center" style="padding:24px 12px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:560px;background:#ffffff;border-radius:8px">
<tr><td style="padding:24px">
<h1 style="font-size:18px;line-height:1.3;margin:0 0 16px">{{LABEL}}: {{counted .data.total {{FORMS}}}}</h1>
{{range .data.groups}}<h2 style="font-size:15px;line-height:1.3;margin:20px 0 8px;color:#3a3a3c">{{GROUP}} ({{count .total}})</h2>
<ul style="margin:0;padding-left:18px">
{{range .items}}<li style="font-size:15px;line-height:1.5;margin:0 0 6px">{{if .link}}<a href="{{.link}}" style="color:#2f54eb">{{.title}}</a>{{else}}{{.title}}{{end}}{{with .body}}<br><span style="color:#6e6e73;font-size:13px">{{.}}</span>{{end}}</li>
{{end}}</ul>
{{with .more}}<p style="font-size:13px;color:#6e6e73;margin:4px 0 0">{{MORE}}</p>
{{end}}{{end}}</td></tr></table>
</td></tr></table>
</body></html>
`

// collapsedType is a collapse window's notification, and a throttle's hold
// window's (in-app too; its data has throttled instead of group_key). Its
// data is built by the digest activity: type, group_key, title (the newest item's), total,
// others (total - 1), items [{title, body, link, at}] (the newest, at most
// five), more (those not listed) and categories; the subject reads as the
// newest item and how many more there are.
var collapsedType = func() EventType {
	t := notice(Collapsed, "digest", "Collapsed notifications", RecipientsNamed,
		[]channel.Channel{channel.InApp, channel.Email, channel.Slack, channel.Webhook}, nil,
		`{{.data.title}}{{with .data.others}} (and {{count .}} more){{end}}`,
		`{{counted .data.total "notification" "notifications"}} like this one:`+"\n"+
			`{{range .data.items}}- {{.title}}{{with .body}}: {{.}}{{end}}{{with .link}} <{{.}}>{{end}}`+"\n"+`{{end}}`+
			`{{with .data.more}}…and {{count .}} more`+"\n"+`{{end}}`)
	t.Internal = true
	return t
}()

// batchExpiredType tells the owners, in the inbox, that a batch's time ran
// out before its jobs were done, so its notification was never sent.
var batchExpiredType = func() EventType {
	t := notice(BatchExpired, "system", "Batch expired", RecipientsOwner, []channel.Channel{channel.InApp}, needs("batch_id"),
		"Batch {{.data.batch_id}} expired",
		`Batch {{.data.batch_id}} expired{{with .data.expected_jobs}} with {{count $.data.completed_jobs}} of {{counted . "job" "jobs"}} done{{end}}`+
			`{{with .data.event_type}}; its {{.}} notification was not sent{{end}}.`)
	t.Internal = true
	return t
}()

// experimentConcludedType records an experiment's winner: in the owners'
// inbox, and through the tenant webhook (and routed Slack channels), so the
// backend stops the losing variants.
var experimentConcludedType = func() EventType {
	t := notice(ExperimentConcluded, "outreach", "Experiment concluded", RecipientsOwner, []channel.Channel{channel.InApp}, needs("name", "winner"),
		"Experiment {{.data.name}}: {{.data.winner}} won",
		`{{.data.winner}} won experiment {{.data.name}}.{{with .data.stop}} Stop sending {{.}}.{{end}}`)
	t.Internal = true
	return t
}()
