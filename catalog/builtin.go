package catalog

var (
	inAppEmail      = []string{ChannelInApp, ChannelEmail}
	inAppEmailSlack = []string{ChannelInApp, ChannelEmail, ChannelSlack}
)

func notice(key, category, title, recipients string, channels []string, subject, text string) EventType {
	return EventType{Key: key, Category: category, Title: title, Recipients: recipients,
		Channels: channels, Templates: Templates{Subject: subject, Text: text}}
}

func urgent(t EventType) EventType { t.Urgent = true; return t }

func withAction(label string, t EventType) EventType { t.Templates.Action = label; return t }

func input(key, category, title string) EventType {
	return EventType{Key: key, Category: category, Title: title, Input: true, Recipients: RecipientsNone}
}

// builtIns is the catalog of DESIGN.md. Templates see .data (the event's data),
// .user (id, name, email of the recipient), .link and .type.
var builtIns = []EventType{
	withAction("View reply", notice("outreach.prospect_replied", "outreach", "Prospect replied", RecipientsSubscribers, inAppEmailSlack,
		"{{.data.prospect_name}} replied to your campaign{{with .data.sentiment}} ({{.}}){{end}}",
		"{{.data.prospect_name}} <{{.data.prospect_email}}> replied to campaign {{or .data.campaign_name .data.campaign_id}}:\n\n{{quote .data.reply_excerpt}}")),
	notice("outreach.drafts_ready", "outreach", "Drafts ready", RecipientsSubscribers, inAppEmailSlack,
		"Your drafts are ready",
		"All {{.data.drafts}} drafts of batch {{.data.batch_id}} are ready for review."),
	notice("outreach.bounce_rate_alert", "outreach", "Bounce rate alert", RecipientsSubscribers, inAppEmailSlack,
		"High bounce rate on campaign {{.data.campaign_id}}",
		"Campaign {{.data.campaign_id}} bounced {{.data.bounced}} of {{.data.sent}} emails. Check the list before sending more."),
	notice("outreach.campaign_completed", "outreach", "Campaign completed", RecipientsSubscribers, inAppEmailSlack,
		"Campaign {{.data.name}} completed",
		"Campaign {{.data.name}} finished: {{.data.sent}} sent, {{.data.replies}} replies, {{.data.bounced}} bounced."),
	notice("outreach.experiment_ready", "outreach", "Experiment ready", RecipientsSubscribers, inAppEmailSlack,
		"Experiment {{.data.name}} is ready for a decision",
		"Every variant of experiment {{.data.name}} has reached its minimum sample size. Pick a winner."),
	notice("outreach.connection_degraded", "outreach", "Connection degraded", RecipientsSubscribers, inAppEmailSlack,
		"Your {{.data.kind}} connection is degraded",
		"Connection {{.data.connection_id}} ({{.data.kind}}) stopped working. Sending may be affected until it recovers."),
	notice("outreach.connection_recovered", "outreach", "Connection recovered", RecipientsSubscribers, inAppEmailSlack,
		"Your {{.data.kind}} connection recovered",
		"Connection {{.data.connection_id}} ({{.data.kind}}) works again."),
	input("outreach.campaign_stats", "outreach", "Campaign statistics"),
	input("outreach.connection_status", "outreach", "Connection status"),
	input("lead.scored", "leads", "Lead scored"),
	notice("lead.qualified", "leads", "Lead qualified", RecipientsOwner, inAppEmailSlack,
		"Qualified lead: {{.data.persona}} at {{.data.company}} (score {{.data.score}})",
		"{{.data.persona}} at {{.data.company}} scored {{.data.score}}.\n\n{{.data.summary}}\n\nTranscript: {{.data.transcript_url}}"),
	input("usage.updated", "billing", "Usage updated"),
	notice("usage.quota_warning", "billing", "Quota warning", RecipientsOwner, inAppEmail,
		"You have used 80% of your {{.data.metric}} limit",
		"{{.data.used}} of {{.data.limit}} {{.data.metric}} used this period."),
	notice("usage.quota_reached", "billing", "Quota reached", RecipientsOwner, inAppEmail,
		"You have reached your {{.data.metric}} limit",
		"{{.data.used}} of {{.data.limit}} {{.data.metric}} used this period. Upgrade to keep going."),
	withAction("View issue", notice("issue.assigned", "issues", "Issue assigned", RecipientsNamed, inAppEmailSlack,
		"{{.data.issue_key}} was assigned to you: {{.data.title}}",
		"{{.data.issue_key}} \"{{.data.title}}\" is now assigned to you.")),
	withAction("View issue", notice("issue.status_changed", "issues", "Issue status changed", RecipientsNamed, inAppEmailSlack,
		"{{.data.issue_key}} moved to {{.data.status}}",
		"{{.data.issue_key}} \"{{.data.title}}\" moved to {{.data.status}}.")),
	withAction("View comment", notice("issue.commented", "issues", "New comment", RecipientsNamed, inAppEmailSlack,
		"New comment on {{.data.issue_key}}",
		"{{.data.author}} commented on {{.data.issue_key}} \"{{.data.title}}\":\n\n{{.data.comment}}")),
	withAction("View mention", notice("issue.mentioned", "issues", "Mentioned", RecipientsNamed, inAppEmailSlack,
		"You were mentioned in {{.data.issue_key}}",
		"{{.data.author}} mentioned you in {{.data.issue_key}} \"{{.data.title}}\".")),
	notice("project.update", "projects", "Project update", RecipientsSubscribers, inAppEmailSlack,
		"Update on {{.data.project}}", "{{.data.project}}: {{.data.message}}"),
	notice("project.milestone_deadline", "projects", "Milestone deadline approaching", RecipientsSubscribers, inAppEmailSlack,
		"Milestone {{.data.milestone}} is due {{.data.due}}",
		"Milestone {{.data.milestone}} of {{.data.project}} is due {{.data.due}}."),
	notice("project.sprint_started", "projects", "Sprint started", RecipientsSubscribers, inAppEmailSlack,
		"Sprint {{.data.sprint}} started", "Sprint {{.data.sprint}} of {{.data.project}} has started."),
	notice("project.sprint_completed", "projects", "Sprint completed", RecipientsSubscribers, inAppEmailSlack,
		"Sprint {{.data.sprint}} completed", "Sprint {{.data.sprint}} of {{.data.project}} is complete."),
	withAction("Accept invitation", notice("team.invitation", "team", "Team invitation", RecipientsNamed, inAppEmail,
		"You are invited to join {{.data.team}}",
		"{{.data.inviter}} invited you to join {{.data.team}}.")),
	withAction("View build", notice("system.build_failed", "system", "Build failed", RecipientsSubscribers, inAppEmailSlack,
		"Build failed: {{.data.pipeline}}", "Build {{.data.build_id}} of {{.data.pipeline}} failed.\n\n{{.data.message}}")),
	notice("system.notice", "system", "System notice", RecipientsSubscribers, inAppEmail,
		"{{.data.title}}", "{{.data.message}}"),
	notice("billing.notice", "billing", "Billing notice", RecipientsOwner, inAppEmail,
		"{{.data.title}}", "{{.data.message}}"),
	withAction("Update payment method", notice("billing.payment_failed", "billing", "Payment failed", RecipientsOwner, inAppEmail,
		"Your payment failed", "We could not charge {{.data.amount}}. Update your payment method to avoid interruption.")),
	notice("billing.subscription_expiring", "billing", "Subscription expiring", RecipientsOwner, inAppEmail,
		"Your subscription expires {{.data.expires_at}}", "Your {{.data.plan}} subscription expires {{.data.expires_at}}."),
	urgent(notice("ai.risk_alert", "ai", "AI risk alert", RecipientsSubscribers, inAppEmailSlack,
		"Risk alert: {{.data.title}}", "{{.data.summary}}")),
	withAction("Review request", notice("approval.requested", "approvals", "Approval requested", RecipientsNamed, inAppEmailSlack,
		"Approval requested: {{.data.title}}", "{{.data.requester}} asks for your approval: {{.data.title}}\n\n{{.data.description}}")),
	withAction("Review request", notice("approval.reminder", "approvals", "Approval reminder", RecipientsNamed, inAppEmailSlack,
		"Reminder: approval pending for {{.data.title}}", "{{.data.title}} is still waiting for your decision.")),
	urgent(notice("approval.escalated", "approvals", "Approval escalated", RecipientsNamed, inAppEmailSlack,
		"Escalated: approval needed for {{.data.title}}", "{{.data.title}} was escalated to you after the previous level did not decide in time.")),
	urgent(notice("approval.executive_alert", "approvals", "Executive alert", RecipientsNamed, inAppEmailSlack,
		"Executive attention: {{.data.title}}", "{{.data.title}} reached the top approval level without a decision.")),
}
