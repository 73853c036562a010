package catalog

// french are the built-in types' templates in French, by type key: written
// for French readers ("vous", guillemets, a space before two-part
// punctuation, wording that stays neutral where English names no gender),
// over the same data as the English ones.
var french = map[string]Templates{
	"outreach.prospect_replied": {Action: "Voir la réponse",
		Subject: "{{.data.prospect_name}} a répondu à votre campagne{{with .data.sentiment}} ({{.}}){{end}}",
		Text: "{{.data.prospect_name}}{{with .data.prospect_email}} <{{.}}>{{end}} a répondu à " +
			"{{with or .data.campaign_name .data.campaign_id}}la campagne {{.}}{{else}}votre campagne{{end}}" +
			"{{with quote .data.reply_excerpt}} :\n\n{{.}}{{else}}.{{end}}"},
	"outreach.drafts_ready": {
		Subject: "Vos brouillons sont prêts",
		Text: `{{with .data.drafts}}{{counted . "brouillon est prêt" "brouillons sont prêts"}} à relire dans le lot {{$.data.batch_id}}.` +
			"{{else}}Les brouillons du lot {{.data.batch_id}} sont prêts à relire.{{end}}"},
	"outreach.bounce_rate_alert": {
		Subject: "Taux de rebond élevé sur la campagne {{.data.campaign_id}}",
		Text: "Campagne {{or .data.name .data.campaign_id}}" +
			`{{with .data.bounced}} : {{counted . "rebond" "rebonds"}}{{if $.data.sent}} sur {{counted $.data.sent "e-mail" "e-mails"}}{{with rate $.data.bounced $.data.sent}} ({{.}}){{end}}{{end}}` +
			`{{else}} : taux de rebond élevé{{end}}. Vérifiez la liste avant d’envoyer davantage : ` +
			"les fournisseurs de messagerie filtrent les expéditeurs dont le taux de rebond reste au-dessus de 5 %."},
	"outreach.campaign_completed": {
		Subject: "Campagne {{.data.name}} terminée",
		Text: "La campagne {{.data.name}} est terminée" +
			`{{with join ", " (counted .data.sent "envoyé" "envoyés") (counted .data.replies "réponse" "réponses") (counted .data.bounced "rebond" "rebonds")}} : {{.}}{{end}}.` +
			"{{with rate .data.replies .data.sent}}\nTaux de réponse : {{.}}{{end}}{{with rate .data.bounced .data.sent}}\nTaux de rebond : {{.}}{{end}}"},
	"outreach.experiment_ready": {
		Subject: "Expérience {{.data.name}} : place à la décision",
		Text: "Toutes les variantes de l’expérience {{.data.name}} ont atteint leur échantillon minimal{{with .data.min_sample_size}} de {{count .}}{{end}}." +
			"{{with pairs .data.counts}}\n{{range .}}\n{{.Key}} : {{count .Value}}{{end}}{{end}}\n\nChoisissez la variante gagnante."},
	"outreach.connection_degraded": {
		Subject: "{{with .data.kind}}Votre connexion {{.}}{{else}}La connexion {{$.data.connection_id}}{{end}} est dégradée",
		Text:    "La connexion {{.data.connection_id}}{{with .data.kind}} ({{.}}){{end}} ne fonctionne plus. Les envois peuvent être perturbés jusqu’à son rétablissement."},
	"outreach.connection_recovered": {
		Subject: "{{with .data.kind}}Votre connexion {{.}}{{else}}La connexion {{$.data.connection_id}}{{end}} est rétablie",
		Text:    "La connexion {{.data.connection_id}}{{with .data.kind}} ({{.}}){{end}} fonctionne de nouveau."},
	"lead.qualified": {
		Subject: `Prospect qualifié : {{or (join " chez " .data.persona .data.company) .data.lead_id}}{{with .data.score}} (score {{count .}}){{end}}`,
		Text: `{{with join " chez " .data.persona .data.company}}{{.}}{{else}}Le prospect {{$.data.lead_id}}{{end}} ` +
			"{{with .data.score}}a obtenu un score de {{count .}}{{else}}est qualifié{{end}}." +
			"{{with pairs .data.fields}}\n{{range .}}\n{{.Key}} : {{.Value}}{{end}}{{end}}" +
			"{{with .data.summary}}\n\n{{.}}{{end}}{{with .data.transcript_url}}\n\nTranscription : {{.}}{{end}}"},
	"usage.quota_warning": {
		Subject: "Vous avez utilisé 80 % de votre quota de {{.data.metric}}",
		Text: "{{with .data.used}}{{count .}}{{with $.data.limit}} sur {{count .}}{{end}} {{$.data.metric}} utilisés sur cette période" +
			"{{with rate $.data.used $.data.limit}} ({{.}}){{end}}.{{else}}Vous avez utilisé 80 % de votre quota de {{.data.metric}} pour cette période.{{end}}" +
			" À 100 %, les nouveaux {{.data.metric}} sont suspendus jusqu’à l’achat d’un pack complémentaire ou le prochain cycle de facturation" +
			"{{with .data.period}} (période en cours : {{.}}){{end}}. Pour continuer sans interruption, pensez à un pack complémentaire ou à une offre supérieure."},
	"usage.quota_reached": {
		Subject: "Vous avez atteint votre quota de {{.data.metric}}",
		Text: "{{with .data.used}}{{count .}}{{with $.data.limit}} sur {{count .}}{{end}} {{$.data.metric}} utilisés sur cette période" +
			"{{with rate $.data.used $.data.limit}} ({{.}}){{end}}.{{else}}Vous avez atteint votre quota de {{.data.metric}} pour cette période.{{end}}" +
			" Les nouveaux {{.data.metric}} sont suspendus jusqu’à l’achat d’un pack complémentaire ou la réinitialisation du cycle de facturation" +
			"{{with .data.period}} (période en cours : {{.}}){{end}}. Une offre supérieure relève la limite durablement."},
	"usage.trend_alert": {
		Subject: "Votre consommation de {{.data.metric}} s’accélère{{with .data.growth_percent}} (+{{count .}} %){{end}}",
		Text: "{{with .data.growth_percent}}La consommation de {{$.data.metric}} progresse {{count .}} % plus vite sur cette période que sur la précédente" +
			"{{else}}La consommation de {{.data.metric}} progresse plus vite sur cette période que sur la précédente{{end}}" +
			"{{with .data.rate}} : environ {{count .}} par jour{{with $.data.previous_rate}}, contre {{count .}} auparavant{{end}}{{end}}." +
			"{{with .data.used}} {{count .}}{{with $.data.limit}} sur {{count .}}{{end}} {{$.data.metric}} utilisés jusqu’ici{{with rate $.data.used $.data.limit}} ({{.}}){{end}}.{{end}}"},
	"usage.projection_alert": {
		Subject: "Vous atteindrez votre limite de {{.data.metric}} {{with .data.projected_on}}vers le {{date .}}{{else}}avant la fin de la période{{end}}",
		Text: "Au rythme actuel{{with .data.rate}} d’environ {{count .}} par jour{{end}}, vos {{.data.metric}} atteindront " +
			"{{with .data.limit}}la limite de {{count .}}{{else}}la limite{{end}} " +
			"{{with .data.projected_on}}vers le {{date .}}, {{end}}avant la fin de la période{{with .data.period_end}} le {{date .}}{{end}}." +
			" Les nouveaux {{.data.metric}} seront alors suspendus jusqu’à l’achat d’un pack complémentaire ou la période suivante ; pensez dès maintenant à un pack complémentaire ou à une offre supérieure."},
	"issue.assigned": {Action: "Voir le ticket",
		Subject: "{{.data.issue_key}} vous a été attribué{{with .data.title}} : {{.}}{{end}}",
		Text:    `{{.data.issue_key}}{{with .data.title}} « {{.}} »{{end}} vous est désormais attribué.`},
	"issue.status_changed": {Action: "Voir le ticket",
		Subject: "{{.data.issue_key}} : statut passé à {{.data.status}}",
		Text:    `Le statut de {{.data.issue_key}}{{with .data.title}} « {{.}} »{{end}} est passé à {{.data.status}}.`},
	"issue.commented": {Action: "Voir le commentaire",
		Subject: "Nouveau commentaire sur {{.data.issue_key}}",
		Text: `{{or .data.author "Quelqu’un"}} a commenté {{.data.issue_key}}{{with .data.title}} « {{.}} »{{end}}` +
			"{{with .data.comment}} :\n\n{{.}}{{else}}.{{end}}"},
	"issue.mentioned": {Action: "Voir la mention",
		Subject: "Nouvelle mention dans {{.data.issue_key}}",
		Text:    `{{or .data.author "Quelqu’un"}} a fait mention de vous dans {{.data.issue_key}}{{with .data.title}} « {{.}} »{{end}}.`},
	"project.update": {
		Subject: "Du nouveau sur {{.data.project}}", Text: "{{.data.project}} : {{.data.message}}"},
	"project.milestone_deadline": {
		Subject: `Le jalon {{.data.milestone}} arrive à échéance{{with .data.due}} : {{date .}}{{else}} bientôt{{end}}`,
		Text:    `Le jalon {{.data.milestone}}{{with .data.project}} du projet {{.}}{{end}} arrive à échéance{{with .data.due}} : {{date .}}{{else}} bientôt{{end}}.`},
	"project.sprint_started": {
		Subject: "Le sprint {{.data.sprint}} a commencé", Text: "Le sprint {{.data.sprint}}{{with .data.project}} du projet {{.}}{{end}} a commencé."},
	"project.sprint_completed": {
		Subject: "Sprint {{.data.sprint}} terminé", Text: "Le sprint {{.data.sprint}}{{with .data.project}} du projet {{.}}{{end}} est terminé."},
	"team.invitation": {Action: "Accepter l’invitation",
		Subject: "Invitation à rejoindre {{.data.team}}",
		Text:    "{{with .data.inviter}}{{.}} vous invite à rejoindre {{$.data.team}}.{{else}}Vous avez reçu une invitation à rejoindre {{.data.team}}.{{end}}"},
	"system.build_failed": {Action: "Voir le build",
		Subject: "Échec du build : {{.data.pipeline}}",
		Text:    "{{with .data.build_id}}Le build {{.}} de{{else}}Un build de{{end}} {{.data.pipeline}} a échoué.{{with .data.message}}\n\n{{.}}{{end}}"},
	"system.notice": {Subject: "{{.data.title}}", Text: "{{or .data.message .data.title}}"},
	TestNotification: {
		Subject: "Notification de test de Herald",
		Text:    "Ceci est une notification de test. Si vous pouvez la lire, ce canal fonctionne."},
	"billing.notice": {Subject: "{{.data.title}}", Text: "{{or .data.message .data.title}}"},
	"billing.payment_failed": {Action: "Mettre à jour le moyen de paiement",
		Subject: "Votre paiement a échoué",
		Text:    "Nous n’avons pas pu prélever {{.data.amount}}. Mettez à jour votre moyen de paiement pour éviter toute interruption de service."},
	"billing.subscription_expiring": {
		Subject: "Votre abonnement expire le {{date .data.expires_at}}",
		Text:    "Votre abonnement{{with .data.plan}} {{.}}{{end}} expire le {{date .data.expires_at}}."},
	"ai.risk_alert": {Subject: "Alerte de risque : {{.data.title}}", Text: "{{or .data.summary .data.title}}"},
	"ai.aide_alert": {Action: "Voir la suggestion",
		Subject: "Developer Aide{{with .data.title}} : {{.}}{{else}} a une suggestion{{end}}",
		Text:    "{{.data.message}}{{with join \":\" .data.repository .data.file}}\n\nDans {{.}}{{end}}{{with .data.suggestion}}\n\nSuggestion : {{.}}{{end}}"},
	"ai.skill_suggestion": {Action: "Commencer",
		Subject: "Une compétence à développer : {{.data.skill}}",
		Text: "{{with .data.reason}}{{.}}\n\n{{end}}Nous vous suggérons de développer ensuite {{.data.skill}}{{with .data.level}} (niveau : {{.}}){{end}}." +
			"{{with .data.resource}}\n\nPour commencer : {{.}}{{end}}"},
	"integration.extension_alert": {
		Subject: "{{.data.extension}}{{with .data.title}} : {{.}}{{else}} requiert votre attention{{end}}",
		Text:    "{{.data.extension}}{{with .data.severity}} ({{.}}){{end}} : {{.data.message}}"},
	"time.entry_updated": {Action: "Voir l’entrée",
		Subject: `{{with .data.project}}{{.}} : e{{else}}E{{end}}ntrée de temps {{.data.entry_id}} ` +
			`{{if eq .data.status "submitted"}}en attente de validation{{else if eq .data.status "approved"}}approuvée{{else if eq .data.status "rejected"}}refusée{{else}}{{.data.status}}{{end}}`,
		Text: `L’entrée de temps {{.data.entry_id}}{{with join ", " (date .data.date) (counted .data.hours "heure" "heures")}} ({{.}}){{end}}` +
			`{{with .data.project}} sur {{.}}{{end}} ` +
			`{{if eq .data.status "submitted"}}est en attente de validation{{else if eq .data.status "approved"}}a été approuvée{{with .data.reviewer}} par {{.}}{{end}}` +
			`{{else if eq .data.status "rejected"}}a été refusée{{with .data.reviewer}} par {{.}}{{end}}{{else}}a désormais le statut {{.data.status}}{{with .data.reviewer}} ({{.}}){{end}}{{end}}.` +
			`{{if eq .data.status "rejected"}} Corrigez-la et soumettez-la de nouveau.{{end}}` + "{{with .data.comment}}\n\nCommentaire : {{.}}{{end}}"},
	"approval.requested": {Action: "Examiner la demande",
		Subject: "Demande d’approbation : {{.data.title}}",
		Text: "{{with .data.requester}}{{.}} sollicite votre approbation{{else}}Votre approbation est requise{{end}} : {{.data.title}}" +
			"{{with .data.description}}\n\n{{.}}{{end}}"},
	"approval.reminder": {Action: "Examiner la demande",
		Subject: "Rappel : approbation en attente pour {{.data.title}}", Text: "La demande « {{.data.title}} » attend toujours votre décision."},
	"approval.escalated": {Action: "Examiner la demande",
		Subject: "Escalade : approbation requise pour {{.data.title}}",
		Text: "La demande « {{.data.title}} » vous a été transmise, faute de décision à temps au niveau précédent." +
			"{{with .data.requester}} Demandée par {{.}}.{{end}}{{with .data.description}}\n\n{{.}}{{end}}"},
	"approval.executive_alert": {Action: "Examiner la demande",
		Subject: "À l’attention de la direction : {{.data.title}}", Text: "La demande « {{.data.title}} » a atteint le dernier niveau d’approbation sans décision."},
	"approval.outcome": {Action: "Ouvrir",
		Subject: `{{if eq .data.outcome "withdrawn"}}Retirée : {{.data.title}}{{else if eq .data.outcome "approved"}}Approuvée : {{.data.title}}` +
			`{{else if eq .data.outcome "rejected"}}Refusée : {{.data.title}}{{else if eq .data.outcome "expired"}}Expirée : {{.data.title}}` +
			`{{else}}Approbation {{.data.outcome}} : {{.data.title}}{{end}}`,
		Text: `{{if eq .data.outcome "approved"}}La demande « {{.data.title}} » a été approuvée{{with .data.decided_by}} par {{.}}{{end}}.` +
			`{{else if eq .data.outcome "rejected"}}La demande « {{.data.title}} » a été refusée{{with .data.decided_by}} par {{.}}{{end}}.` +
			`{{else if eq .data.outcome "expired"}}La demande « {{.data.title}} » a expiré : aucun approbateur n’a décidé à temps.` +
			`{{else if eq .data.outcome "withdrawn"}}La demande « {{.data.title}} » a été retirée ; aucune décision n’est plus nécessaire.` +
			`{{else}}Demande « {{.data.title}} » : {{.data.outcome}}{{with .data.decided_by}} ({{.}}){{end}}.{{end}}` +
			"{{with .data.comment}}\n\nCommentaire : {{.}}{{end}}"},
	BatchExpired: {
		Subject: "Le lot {{.data.batch_id}} a expiré",
		Text: `Le lot {{.data.batch_id}} a expiré{{with .data.expected_jobs}} avec {{counted $.data.completed_jobs "tâche terminée" "tâches terminées"}} sur {{count .}}{{end}}` +
			`{{with .data.event_type}} ; sa notification {{.}} n’a pas été envoyée{{end}}.`},
	Collapsed: {
		Subject: `{{.data.title}}{{with .data.others}} (et {{counted . "autre" "autres"}}){{end}}`,
		Text: `{{counted .data.total "notification" "notifications"}} de ce type :` + "\n" +
			`{{range .data.items}}- {{.title}}{{with .body}} : {{.}}{{end}}{{with .link}} <{{.}}>{{end}}` + "\n" + `{{end}}` +
			`{{with .data.more}}… et {{counted . "autre" "autres"}}` + "\n" + `{{end}}`},
	ExperimentConcluded: {
		Subject: "Expérience {{.data.name}} : {{.data.winner}} l’emporte",
		Text:    `{{.data.winner}} remporte l’expérience {{.data.name}}.{{with .data.stop}} Arrêtez l’envoi de {{.}}.{{end}}`},
	Digest: digestIn("fr",
		`{{if eq .data.frequency "hourly"}}Votre récapitulatif de l’heure{{else if eq .data.frequency "daily"}}Votre récapitulatif du jour`+
			`{{else if eq .data.frequency "weekly"}}Votre récapitulatif de la semaine{{else}}Votre récapitulatif{{end}}`,
		`"nouvelle notification" "nouvelles notifications"`, "… et {{count .}} de plus"),
	WeeklyDigest: {
		Subject: `Votre semaine : {{counted .data.you.total "notification" "notifications"}}{{with .data.you.unread}}, {{counted . "non lue" "non lues"}}{{end}}`,
		Text:    summaryText("Votre semaine en chiffres :", "- {{category .category}} : {{count .total}}", "Toujours non lues :", "Rien de nouveau cette semaine.")},
	DailySummary: {
		Subject: `Votre journée : {{counted .data.you.total "notification" "notifications"}}{{with .data.you.unread}}, {{counted . "non lue" "non lues"}}{{end}}`,
		Text:    summaryText("Votre journée en chiffres :", "- {{category .category}} : {{count .total}}", "Toujours non lues :", "Rien de nouveau aujourd’hui.")},
	TimeReview: func() Templates {
		entry := `{{.entry_id}}{{with .project}} sur {{.}}{{end}}{{with .date}}, {{date .}}{{end}}` +
			`{{with .hours}}, {{counted . "heure" "heures"}}{{end}}{{with .link}} <{{.}}>{{end}}`
		return Templates{
			Subject: `Votre relevé d’heures : {{if .data.you.total}}{{counted .data.you.total "entrée" "entrées"}} cette semaine` +
				`{{with .data.you.waiting_count}}, {{count .}} en attente de validation{{end}}` +
				`{{with .data.you.rejected_count}}, {{counted . "refusée" "refusées"}}{{end}}{{else}}aucune entrée de temps cette semaine{{end}}`,
			Text: `{{if .data.you.total}}Cette semaine : {{counted .data.you.total "entrée de temps" "entrées de temps"}}` +
				`{{with .data.you.hours}}, {{counted . "heure" "heures"}}{{end}} ; {{counted .data.you.approved "approuvée" "approuvées"}}.` +
				"{{with .data.you.waiting}}\n\nEn attente de validation :{{range .}}\n- " + entry + "{{end}}{{end}}" +
				"{{with .data.you.waiting_more}}\n… et {{count .}} de plus{{end}}" +
				"{{with .data.you.rejected}}\n\nRefusées, à corriger et à soumettre de nouveau :{{range .}}\n- " + entry + "{{end}}{{end}}" +
				"{{with .data.you.rejected_more}}\n… et {{count .}} de plus{{end}}" +
				"{{else}}Aucune entrée de temps cette semaine.{{end}}",
		}
	}(),
}
