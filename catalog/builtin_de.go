package catalog

// german are the built-in types' templates in German, by type key: written
// for German readers (formal "Sie", German quotation marks, noun phrases
// where English agrees a verb with a count), over the same data as the
// English ones.
var german = map[string]Templates{
	"outreach.prospect_replied": {Action: "Antwort ansehen",
		Subject: "{{.data.prospect_name}} hat auf Ihre Kampagne geantwortet{{with .data.sentiment}} ({{.}}){{end}}",
		Text: "{{.data.prospect_name}}{{with .data.prospect_email}} <{{.}}>{{end}} hat auf " +
			"{{with or .data.campaign_name .data.campaign_id}}die Kampagne {{.}}{{else}}Ihre Kampagne{{end}} geantwortet" +
			"{{with quote .data.reply_excerpt}}:\n\n{{.}}{{else}}.{{end}}"},
	"outreach.drafts_ready": {
		Subject: "Ihre Entwürfe sind fertig",
		Text: `{{with .data.drafts}}{{counted . "Entwurf ist" "Entwürfe sind"}} in Batch {{$.data.batch_id}} bereit zur Durchsicht.` +
			"{{else}}Die Entwürfe aus Batch {{.data.batch_id}} sind bereit zur Durchsicht.{{end}}"},
	"outreach.bounce_rate_alert": {
		Subject: "Hohe Bounce-Rate bei Kampagne {{.data.campaign_id}}",
		Text: "Kampagne {{or .data.name .data.campaign_id}}" +
			`{{with .data.bounced}}: {{if $.data.sent}}{{count .}} von {{counted $.data.sent "E-Mail" "E-Mails"}} unzustellbar{{with rate $.data.bounced $.data.sent}} ({{.}}){{end}}` +
			`{{else}}{{counted . "E-Mail" "E-Mails"}} unzustellbar{{end}}{{else}} hat eine hohe Bounce-Rate{{end}}. Prüfen Sie die Liste, bevor Sie weitere E-Mails senden: ` +
			"Postfachanbieter filtern Absender, deren Bounce-Rate dauerhaft über 5 % liegt."},
	"outreach.campaign_completed": {
		Subject: "Kampagne {{.data.name}} abgeschlossen",
		Text: "Die Kampagne {{.data.name}} ist abgeschlossen" +
			`{{with join ", " (counted .data.sent "gesendet" "gesendet") (counted .data.replies "Antwort" "Antworten") (counted .data.bounced "unzustellbar" "unzustellbar")}}: {{.}}{{end}}.` +
			"{{with rate .data.replies .data.sent}}\nAntwortquote: {{.}}{{end}}{{with rate .data.bounced .data.sent}}\nBounce-Rate: {{.}}{{end}}"},
	"outreach.experiment_ready": {
		Subject: "Experiment {{.data.name}}: Zeit für eine Entscheidung",
		Text: "Alle Varianten des Experiments {{.data.name}} haben die Mindeststichprobe{{with .data.min_sample_size}} von {{count .}}{{end}} erreicht." +
			"{{with pairs .data.counts}}\n{{range .}}\n{{.Key}}: {{count .Value}}{{end}}{{end}}\n\nWählen Sie eine Gewinnervariante."},
	"outreach.connection_degraded": {
		Subject: "{{with .data.kind}}Ihre {{.}}-Verbindung{{else}}Verbindung {{$.data.connection_id}}{{end}} ist gestört",
		Text:    "Verbindung {{.data.connection_id}}{{with .data.kind}} ({{.}}){{end}} funktioniert nicht mehr. Bis sie wiederhergestellt ist, kann der Versand beeinträchtigt sein."},
	"outreach.connection_recovered": {
		Subject: "{{with .data.kind}}Ihre {{.}}-Verbindung{{else}}Verbindung {{$.data.connection_id}}{{end}} funktioniert wieder",
		Text:    "Verbindung {{.data.connection_id}}{{with .data.kind}} ({{.}}){{end}} funktioniert wieder."},
	"lead.qualified": {
		Subject: `Qualifizierter Lead: {{or (join " bei " .data.persona .data.company) .data.lead_id}}{{with .data.score}} (Score {{count .}}){{end}}`,
		Text: `{{with join " bei " .data.persona .data.company}}{{.}}{{else}}Lead {{$.data.lead_id}}{{end}} ` +
			"{{with .data.score}}hat einen Score von {{count .}} erreicht{{else}}ist qualifiziert{{end}}." +
			"{{with pairs .data.fields}}\n{{range .}}\n{{.Key}}: {{.Value}}{{end}}{{end}}" +
			"{{with .data.summary}}\n\n{{.}}{{end}}{{with .data.transcript_url}}\n\nTranskript: {{.}}{{end}}"},
	"usage.quota_warning": {
		Subject: "Sie haben 80 % Ihres Kontingents für {{.data.metric}} verbraucht",
		Text: "{{with .data.used}}{{count .}}{{with $.data.limit}} von {{count .}}{{end}} {{$.data.metric}} in diesem Zeitraum verbraucht" +
			"{{with rate $.data.used $.data.limit}} ({{.}}){{end}}.{{else}}Sie haben 80 % Ihres Kontingents für {{.data.metric}} in diesem Zeitraum verbraucht.{{end}}" +
			" Bei 100 % werden neue {{.data.metric}} pausiert, bis Sie ein Zusatzpaket buchen oder der nächste Abrechnungszeitraum beginnt{{with .data.period}} (aktuell: {{.}}){{end}}." +
			" Damit es ohne Unterbrechung weitergeht, buchen Sie ein Zusatzpaket oder wechseln Sie in einen größeren Tarif."},
	"usage.quota_reached": {
		Subject: "Sie haben Ihr Kontingent für {{.data.metric}} ausgeschöpft",
		Text: "{{with .data.used}}{{count .}}{{with $.data.limit}} von {{count .}}{{end}} {{$.data.metric}} in diesem Zeitraum verbraucht" +
			"{{with rate $.data.used $.data.limit}} ({{.}}){{end}}.{{else}}Sie haben Ihr Kontingent für {{.data.metric}} in diesem Zeitraum ausgeschöpft.{{end}}" +
			" Neue {{.data.metric}} sind pausiert, bis Sie ein Zusatzpaket buchen oder der Abrechnungszeitraum neu beginnt" +
			"{{with .data.period}} (aktuell: {{.}}){{end}}. Ein größerer Tarif hebt das Limit dauerhaft an."},
	"usage.trend_alert": {
		Subject: "Ihr Verbrauch an {{.data.metric}} wächst schneller{{with .data.growth_percent}} (+{{count .}} %){{end}}",
		Text: "{{with .data.growth_percent}}Der Verbrauch an {{$.data.metric}} wächst in diesem Zeitraum um {{count .}} % schneller als im letzten" +
			"{{else}}Der Verbrauch an {{.data.metric}} wächst in diesem Zeitraum schneller als im letzten{{end}}" +
			"{{with .data.rate}}: etwa {{count .}} pro Tag{{with $.data.previous_rate}}, nach zuvor {{count .}}{{end}}{{end}}." +
			"{{with .data.used}} Bisher {{count .}}{{with $.data.limit}} von {{count .}}{{end}} {{$.data.metric}} verbraucht{{with rate $.data.used $.data.limit}} ({{.}}){{end}}.{{end}}"},
	"usage.projection_alert": {
		Subject: "Sie erreichen Ihr Limit für {{.data.metric}} {{with .data.projected_on}}voraussichtlich am {{date .}}{{else}}vor Ende des Zeitraums{{end}}",
		Text: "Beim aktuellen Tempo{{with .data.rate}} von etwa {{count .}} pro Tag{{end}} erreichen Ihre {{.data.metric}} " +
			"{{with .data.limit}}das Limit von {{count .}}{{else}}das Limit{{end}} " +
			"{{with .data.projected_on}}voraussichtlich am {{date .}} und damit {{end}}vor Ende des Zeitraums{{with .data.period_end}} am {{date .}}{{end}}." +
			" Danach werden neue {{.data.metric}} pausiert, bis Sie ein Zusatzpaket buchen oder der nächste Zeitraum beginnt; ein Zusatzpaket oder ein größerer Tarif lohnt sich schon jetzt."},
	"issue.assigned": {Action: "Ticket ansehen",
		Subject: "{{.data.issue_key}} wurde Ihnen zugewiesen{{with .data.title}}: {{.}}{{end}}",
		Text:    `{{.data.issue_key}}{{with .data.title}} „{{.}}“{{end}} ist Ihnen jetzt zugewiesen.`},
	"issue.status_changed": {Action: "Ticket ansehen",
		Subject: "{{.data.issue_key}}: Status jetzt {{.data.status}}",
		Text:    `Der Status von {{.data.issue_key}}{{with .data.title}} „{{.}}“{{end}} ist jetzt {{.data.status}}.`},
	"issue.commented": {Action: "Kommentar ansehen",
		Subject: "Neuer Kommentar zu {{.data.issue_key}}",
		Text: `{{or .data.author "Jemand"}} hat {{.data.issue_key}}{{with .data.title}} „{{.}}“{{end}} kommentiert` +
			"{{with .data.comment}}:\n\n{{.}}{{else}}.{{end}}"},
	"issue.mentioned": {Action: "Erwähnung ansehen",
		Subject: "Sie wurden in {{.data.issue_key}} erwähnt",
		Text:    `{{with .data.author}}{{.}} hat Sie{{else}}Sie wurden{{end}} in {{.data.issue_key}}{{with .data.title}} „{{.}}“{{end}} erwähnt.`},
	"project.update": {
		Subject: "Neuigkeiten zu {{.data.project}}", Text: "{{.data.project}}: {{.data.message}}"},
	"project.milestone_deadline": {
		Subject: `Meilenstein {{.data.milestone}} {{with .data.due}}ist fällig: {{date .}}{{else}}ist bald fällig{{end}}`,
		Text:    `Meilenstein {{.data.milestone}}{{with .data.project}} von {{.}}{{end}} {{with .data.due}}ist fällig: {{date .}}{{else}}ist bald fällig{{end}}.`},
	"project.sprint_started": {
		Subject: "Sprint {{.data.sprint}} hat begonnen", Text: "Sprint {{.data.sprint}}{{with .data.project}} von {{.}}{{end}} hat begonnen."},
	"project.sprint_completed": {
		Subject: "Sprint {{.data.sprint}} abgeschlossen", Text: "Sprint {{.data.sprint}}{{with .data.project}} von {{.}}{{end}} ist abgeschlossen."},
	"team.invitation": {Action: "Einladung annehmen",
		Subject: "Einladung in das Team {{.data.team}}",
		Text:    "{{with .data.inviter}}{{.}} hat Sie eingeladen{{else}}Sie sind eingeladen{{end}}, dem Team {{.data.team}} beizutreten."},
	"system.build_failed": {Action: "Build ansehen",
		Subject: "Build fehlgeschlagen: {{.data.pipeline}}",
		Text:    "{{with .data.build_id}}Build {{.}} von{{else}}Ein Build von{{end}} {{.data.pipeline}} ist fehlgeschlagen.{{with .data.message}}\n\n{{.}}{{end}}"},
	"system.notice": {Subject: "{{.data.title}}", Text: "{{or .data.message .data.title}}"},
	TestNotification: {
		Subject: "Testbenachrichtigung von Herald",
		Text:    "Dies ist eine Testbenachrichtigung. Wenn Sie sie lesen können, funktioniert dieser Kanal."},
	"billing.notice": {Subject: "{{.data.title}}", Text: "{{or .data.message .data.title}}"},
	"billing.payment_failed": {Action: "Zahlungsmethode aktualisieren",
		Subject: "Ihre Zahlung ist fehlgeschlagen",
		Text:    "Wir konnten {{.data.amount}} nicht abbuchen. Aktualisieren Sie Ihre Zahlungsmethode, damit es zu keiner Unterbrechung kommt."},
	"billing.subscription_expiring": {
		Subject: "Ihr Abonnement läuft am {{date .data.expires_at}} ab",
		Text:    "Ihr {{with .data.plan}}{{.}}-{{end}}Abonnement läuft am {{date .data.expires_at}} ab."},
	"ai.risk_alert": {Subject: "Risikowarnung: {{.data.title}}", Text: "{{or .data.summary .data.title}}"},
	"ai.aide_alert": {Action: "Vorschlag ansehen",
		Subject: "Developer Aide{{with .data.title}}: {{.}}{{else}} hat einen Vorschlag{{end}}",
		Text:    "{{.data.message}}{{with join \":\" .data.repository .data.file}}\n\nIn {{.}}{{end}}{{with .data.suggestion}}\n\nVorschlag: {{.}}{{end}}"},
	"ai.skill_suggestion": {Action: "Jetzt lernen",
		Subject: "Ihr nächster Lernschritt: {{.data.skill}}",
		Text: "{{with .data.reason}}{{.}}\n\n{{end}}Wir empfehlen Ihnen, als Nächstes {{.data.skill}} zu vertiefen{{with .data.level}} (Niveau: {{.}}){{end}}." +
			"{{with .data.resource}}\n\nEin guter Einstieg: {{.}}{{end}}"},
	"integration.extension_alert": {
		Subject: "{{.data.extension}}{{with .data.title}}: {{.}}{{else}} braucht Ihre Aufmerksamkeit{{end}}",
		Text:    "{{.data.extension}}{{with .data.severity}} ({{.}}){{end}}: {{.data.message}}"},
	"time.entry_updated": {Action: "Eintrag ansehen",
		Subject: `{{with .data.project}}{{.}}: {{end}}Zeiteintrag {{.data.entry_id}} ` +
			`{{if eq .data.status "submitted"}}wartet auf Prüfung{{else if eq .data.status "approved"}}freigegeben{{else if eq .data.status "rejected"}}abgelehnt{{else}}{{.data.status}}{{end}}`,
		Text: `Zeiteintrag {{.data.entry_id}}{{with join ", " (date .data.date) (counted .data.hours "Stunde" "Stunden")}} ({{.}}){{end}}` +
			`{{with .data.project}} für {{.}}{{end}} ` +
			`{{if eq .data.status "submitted"}}wartet auf Prüfung{{else if eq .data.status "approved"}}wurde{{with .data.reviewer}} von {{.}}{{end}} freigegeben` +
			`{{else if eq .data.status "rejected"}}wurde{{with .data.reviewer}} von {{.}}{{end}} abgelehnt{{else}}hat jetzt den Status {{.data.status}}{{with .data.reviewer}} ({{.}}){{end}}{{end}}.` +
			`{{if eq .data.status "rejected"}} Bitte korrigieren Sie ihn und reichen Sie ihn erneut ein.{{end}}` + "{{with .data.comment}}\n\nKommentar: {{.}}{{end}}"},
	"approval.requested": {Action: "Anfrage prüfen",
		Subject: "Freigabe angefragt: {{.data.title}}",
		Text: "{{with .data.requester}}{{.}} bittet um Ihre Freigabe{{else}}Ihre Freigabe wird benötigt{{end}}: {{.data.title}}" +
			"{{with .data.description}}\n\n{{.}}{{end}}"},
	"approval.reminder": {Action: "Anfrage prüfen",
		Subject: "Erinnerung: Freigabe für {{.data.title}} steht noch aus", Text: "{{.data.title}} wartet noch auf Ihre Entscheidung."},
	"approval.escalated": {Action: "Anfrage prüfen",
		Subject: "Eskaliert: Freigabe für {{.data.title}} benötigt",
		Text: "{{.data.title}} wurde an Sie eskaliert, weil die vorherige Stufe nicht rechtzeitig entschieden hat." +
			"{{with .data.requester}} Angefragt von {{.}}.{{end}}{{with .data.description}}\n\n{{.}}{{end}}"},
	"approval.executive_alert": {Action: "Anfrage prüfen",
		Subject: "Entscheidung auf Leitungsebene nötig: {{.data.title}}", Text: "{{.data.title}} hat die höchste Freigabestufe ohne Entscheidung erreicht."},
	"approval.outcome": {Action: "Öffnen",
		Subject: `{{if eq .data.outcome "withdrawn"}}Zurückgezogen: {{.data.title}}{{else if eq .data.outcome "approved"}}Freigegeben: {{.data.title}}` +
			`{{else if eq .data.outcome "rejected"}}Abgelehnt: {{.data.title}}{{else if eq .data.outcome "expired"}}Abgelaufen: {{.data.title}}` +
			`{{else}}Freigabe {{.data.outcome}}: {{.data.title}}{{end}}`,
		Text: `{{if eq .data.outcome "approved"}}{{.data.title}} wurde{{with .data.decided_by}} von {{.}}{{end}} freigegeben.` +
			`{{else if eq .data.outcome "rejected"}}{{.data.title}} wurde{{with .data.decided_by}} von {{.}}{{end}} abgelehnt.` +
			`{{else if eq .data.outcome "expired"}}{{.data.title}} ist abgelaufen: Niemand hat rechtzeitig entschieden.` +
			`{{else if eq .data.outcome "withdrawn"}}{{.data.title}} wurde zurückgezogen; eine Entscheidung ist nicht mehr nötig.` +
			`{{else}}{{.data.title}}: {{.data.outcome}}{{with .data.decided_by}} ({{.}}){{end}}.{{end}}` +
			"{{with .data.comment}}\n\nKommentar: {{.}}{{end}}"},
	BatchExpired: {
		Subject: "Batch {{.data.batch_id}} abgelaufen",
		Text: `Batch {{.data.batch_id}} ist abgelaufen{{with .data.expected_jobs}}, {{count $.data.completed_jobs}} von {{counted . "Job" "Jobs"}} erledigt{{end}}` +
			`{{with .data.event_type}}; die Benachrichtigung {{.}} wurde nicht gesendet{{end}}.`},
	Collapsed: {
		Subject: `{{.data.title}}{{with .data.others}} (und {{count .}} weitere){{end}}`,
		Text: `{{counted .data.total "Benachrichtigung" "Benachrichtigungen"}} dieser Art:` + "\n" +
			`{{range .data.items}}- {{.title}}{{with .body}}: {{.}}{{end}}{{with .link}} <{{.}}>{{end}}` + "\n" + `{{end}}` +
			`{{with .data.more}}… und {{count .}} weitere` + "\n" + `{{end}}`},
	ExperimentConcluded: {
		Subject: "Experiment {{.data.name}}: {{.data.winner}} hat gewonnen",
		Text:    `{{.data.winner}} hat das Experiment {{.data.name}} gewonnen.{{with .data.stop}} Stoppen Sie den Versand von {{.}}.{{end}}`},
	Digest: digestIn("de",
		`{{if eq .data.frequency "hourly"}}Ihre stündliche Zusammenfassung{{else if eq .data.frequency "daily"}}Ihre tägliche Zusammenfassung`+
			`{{else if eq .data.frequency "weekly"}}Ihre wöchentliche Zusammenfassung{{else}}Ihre Zusammenfassung{{end}}`,
		`"neue Nachricht" "neue Nachrichten"`, "… und {{count .}} weitere"),
	WeeklyDigest: {
		Subject: `Ihre Woche: {{counted .data.you.total "Benachrichtigung" "Benachrichtigungen"}}{{with .data.you.unread}}, {{count .}} ungelesen{{end}}`,
		Text:    summaryText("Ihre Woche in Zahlen:", "- {{category .category}}: {{count .total}}", "Noch ungelesen:", "Diese Woche gab es nichts Neues.")},
	DailySummary: {
		Subject: `Ihr Tag: {{counted .data.you.total "Benachrichtigung" "Benachrichtigungen"}}{{with .data.you.unread}}, {{count .}} ungelesen{{end}}`,
		Text:    summaryText("Ihr Tag in Zahlen:", "- {{category .category}}: {{count .total}}", "Noch ungelesen:", "Heute gab es nichts Neues.")},
	TimeReview: func() Templates {
		entry := `{{.entry_id}}{{with .project}} für {{.}}{{end}}{{with .date}}, {{date .}}{{end}}` +
			`{{with .hours}}, {{counted . "Stunde" "Stunden"}}{{end}}{{with .link}} <{{.}}>{{end}}`
		return Templates{
			Subject: `Ihre Zeitübersicht: {{if .data.you.total}}{{counted .data.you.total "Eintrag" "Einträge"}} diese Woche` +
				`{{with .data.you.waiting_count}}, {{count .}} zur Prüfung offen{{end}}` +
				`{{with .data.you.rejected_count}}, {{count .}} abgelehnt{{end}}{{else}}keine Zeiteinträge diese Woche{{end}}`,
			Text: `{{if .data.you.total}}Diese Woche: {{counted .data.you.total "Zeiteintrag" "Zeiteinträge"}}` +
				`{{with .data.you.hours}}, {{counted . "Stunde" "Stunden"}}{{end}}; {{count .data.you.approved}} freigegeben.` +
				"{{with .data.you.waiting}}\n\nWarten auf Prüfung:{{range .}}\n- " + entry + "{{end}}{{end}}" +
				"{{with .data.you.waiting_more}}\n… und {{count .}} weitere{{end}}" +
				"{{with .data.you.rejected}}\n\nAbgelehnt, bitte korrigieren und erneut einreichen:{{range .}}\n- " + entry + "{{end}}{{end}}" +
				"{{with .data.you.rejected_more}}\n… und {{count .}} weitere{{end}}" +
				"{{else}}Keine Zeiteinträge diese Woche.{{end}}",
		}
	}(),
}
