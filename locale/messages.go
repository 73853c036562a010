package locale

import (
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// Messages are the words Herald writes around a template's own text: the
// email's greeting, button and footer, the unsubscribe line, category
// names. Each key is its English text; German and French are below.
var messages = func() *catalog.Builder {
	b := catalog.NewBuilder(catalog.Fallback(Default))
	set := func(key, de, fr string) {
		_ = b.SetString(language.German, key, de)
		_ = b.SetString(language.French, key, fr)
	}
	set("Hi,", "Hallo,", "Bonjour,")
	set("Hi %s,", "Hallo %s,", "Bonjour %s,")
	set("View details", "Details ansehen", "Voir les détails")
	set("You received this because you are a member of %s on %s.",
		"Sie erhalten diese Nachricht, weil Sie Mitglied von %s auf %s sind.",
		"Vous recevez ce message parce que vous êtes membre de %s sur %s.")
	set("You received this because you are a member of a team on %s.",
		"Sie erhalten diese Nachricht, weil Sie Mitglied eines Teams auf %s sind.",
		"Vous recevez ce message parce que vous êtes membre d’une équipe sur %s.")
	set("Stop %s emails: %s", "Keine E-Mails mehr zu „%s“: %s", "Ne plus recevoir les e-mails « %s » : %s")
	set("Unsubscribe from %s emails", "E-Mails zu „%s“ abbestellen", "Se désabonner des e-mails « %s »")
	set("…and %s more", "… und %s weitere", "… et %s de plus")
	// The unsubscribe page.
	set("This link is not valid", "Dieser Link ist ungültig", "Ce lien n’est pas valide")
	set("The unsubscribe link is damaged or incomplete. Open it again from the email, or change your notification settings in the app.",
		"Der Abmeldelink ist beschädigt oder unvollständig. Öffnen Sie ihn erneut aus der E-Mail oder ändern Sie Ihre Benachrichtigungseinstellungen in der App.",
		"Le lien de désabonnement est endommagé ou incomplet. Ouvrez-le à nouveau depuis l’e-mail, ou modifiez vos préférences de notification dans l’application.")
	set("Nothing to unsubscribe from", "Nichts abzubestellen", "Aucun abonnement à annuler")
	set("This subscription no longer exists.", "Dieses Abonnement besteht nicht mehr.", "Cet abonnement n’existe plus.")
	set("These emails are required", "Diese E-Mails sind verpflichtend", "Ces e-mails sont obligatoires")
	set("Your organisation requires %s emails, so they cannot be turned off.",
		"Ihre Organisation schreibt E-Mails zu „%s“ vor; sie lassen sich daher nicht abbestellen.",
		"Votre organisation exige les e-mails « %s » : ils ne peuvent pas être désactivés.")
	set("Something went wrong", "Etwas ist schiefgelaufen", "Une erreur s’est produite")
	set("Nothing was changed. Please try the link again in a few minutes.",
		"Es wurde nichts geändert. Bitte öffnen Sie den Link in ein paar Minuten erneut.",
		"Rien n’a été modifié. Veuillez réessayer le lien dans quelques minutes.")
	set("Unsubscribe from %s emails?", "E-Mails zu „%s“ abbestellen?", "Se désabonner des e-mails « %s » ?")
	set("You will stop receiving %s emails. Notifications in the app and on other channels continue.",
		"Sie erhalten dann keine E-Mails zu „%s“ mehr. Benachrichtigungen in der App und auf anderen Kanälen gehen weiter.",
		"Vous ne recevrez plus les e-mails « %s ». Les notifications dans l’application et sur les autres canaux continuent.")
	set("Nothing was changed", "Es wurde nichts geändert", "Rien n’a été modifié")
	set("An unsubscribe request must carry List-Unsubscribe=One-Click. Use the button on the unsubscribe page.",
		"Eine Abmeldung muss List-Unsubscribe=One-Click enthalten. Verwenden Sie die Schaltfläche auf der Abmeldeseite.",
		"Une demande de désabonnement doit contenir List-Unsubscribe=One-Click. Utilisez le bouton de la page de désabonnement.")
	set("You are unsubscribed", "Sie sind abgemeldet", "Votre désabonnement est confirmé")
	set("You will no longer receive %s emails. Notifications in the app and on other channels continue.",
		"Sie erhalten keine E-Mails zu „%s“ mehr. Benachrichtigungen in der App und auf anderen Kanälen gehen weiter.",
		"Vous ne recevrez plus les e-mails « %s ». Les notifications dans l’application et sur les autres canaux continuent.")
	set("%s and %s", "%s und %s", "%s et %s")
	// The approval page.
	set("Nothing was recorded. Please open the link again in a few minutes.",
		"Es wurde nichts gespeichert. Bitte öffnen Sie den Link in ein paar Minuten erneut.",
		"Rien n’a été enregistré. Veuillez rouvrir le lien dans quelques minutes.")
	set("Herald is slow to answer", "Herald antwortet gerade langsam", "Herald tarde à répondre")
	set("Your decision may not have been recorded yet. Open the link again in a minute to see where the approval stands.",
		"Ihre Entscheidung ist möglicherweise noch nicht gespeichert. Öffnen Sie den Link in einer Minute erneut, um den Stand der Freigabe zu sehen.",
		"Votre décision n’a peut-être pas encore été enregistrée. Rouvrez le lien dans une minute pour voir où en est l’approbation.")
	set("Links are not accepted here", "Links werden hier nicht angenommen", "Les liens ne sont pas acceptés ici")
	set("This server has no signing key.", "Dieser Server hat keinen Signaturschlüssel.", "Ce serveur n’a pas de clé de signature.")
	set("The link is damaged or incomplete. Open it again from the email or message you received.",
		"Der Link ist beschädigt oder unvollständig. Öffnen Sie ihn erneut aus der E-Mail oder Nachricht, die Sie erhalten haben.",
		"Le lien est endommagé ou incomplet. Ouvrez-le à nouveau depuis l’e-mail ou le message que vous avez reçu.")
	set("This request no longer exists", "Diese Anfrage besteht nicht mehr", "Cette demande n’existe plus")
	set("This link has expired", "Dieser Link ist abgelaufen", "Ce lien a expiré")
	set("The request is no longer waiting for a decision.", "Die Anfrage wartet nicht mehr auf eine Entscheidung.", "La demande n’attend plus de décision.")
	set("This request is already %s", "Diese Anfrage ist bereits %s", "Cette demande est déjà %s")
	set("It was %s.", "Sie wurde %s.", "Elle a été %s.")
	set("No one decided in time; it expired at %s.", "Niemand hat rechtzeitig entschieden; die Anfrage ist am %s abgelaufen.",
		"Personne n’a décidé à temps ; la demande a expiré le %s.")
	set("Your decision is requested", "Ihre Entscheidung ist gefragt", "Votre décision est attendue")
	set("Nothing was recorded", "Es wurde nichts gespeichert", "Rien n’a été enregistré")
	set("The decision was sent from another site. Open the link from your email and use its buttons.",
		"Die Entscheidung kam von einer anderen Website. Öffnen Sie den Link aus Ihrer E-Mail und verwenden Sie die Schaltflächen dort.",
		"La décision a été envoyée depuis un autre site. Ouvrez le lien de votre e-mail et utilisez ses boutons.")
	set("The form could not be read.", "Das Formular konnte nicht gelesen werden.", "Le formulaire n’a pas pu être lu.")
	set("Choose Approve or Reject; a comment may have up to %d characters.",
		"Wählen Sie Freigeben oder Ablehnen; ein Kommentar darf bis zu %d Zeichen lang sein.",
		"Choisissez Approuver ou Refuser ; un commentaire peut compter jusqu’à %d caractères.")
	set("This link's approver is not asked to decide this request.",
		"Die Person dieses Links ist für diese Anfrage nicht zur Entscheidung aufgefordert.",
		"La personne de ce lien n’est pas sollicitée pour décider de cette demande.")
	set("Approved", "Freigegeben", "Approuvée")
	set("Rejected", "Abgelehnt", "Refusée")
	set("Your decision is recorded: %s. %s is told.", "Ihre Entscheidung ist gespeichert: %s. %s wird benachrichtigt.",
		"Votre décision est enregistrée : %s. %s en est informé.")
	set("approved", "freigegeben", "approuvée")
	set("rejected", "abgelehnt", "refusée")
	set("expired", "abgelaufen", "expirée")
	set("withdrawn", "zurückgezogen", "retirée")
	set("pending", "offen", "en attente")
	set("%[1]s by %[2]s at %[3]s", "am %[3]s von %[2]s %[1]s", "%[1]s par %[2]s le %[3]s")
	set("%[1]s by %[2]s", "von %[2]s %[1]s", "%[1]s par %[2]s")
	set("%[1]s at %[2]s", "am %[2]s %[1]s", "%[1]s le %[2]s")
	set("Description", "Beschreibung", "Description")
	set("Requested by", "Angefragt von", "Demandée par")
	set("%d of %d", "%d von %d", "%d sur %d")
	set("Details", "Details", "Détails")
	set("You chose %s in your message; confirm it below.", "Sie haben in Ihrer Nachricht „%s“ gewählt; bestätigen Sie es unten.",
		"Vous avez choisi « %s » dans votre message ; confirmez ci-dessous.")
	set("Comment (optional)", "Kommentar (optional)", "Commentaire (facultatif)")
	// The inbox page (its script's words are in InboxScriptWords).
	for en, tr := range inboxWords {
		set(en, tr[0], tr[1])
	}
	// Slack's Block Kit messages: field labels, buttons, the context line.
	for en, tr := range slackWords {
		set(escape(en), escape(tr[0]), escape(tr[1]))
	}
	for key, names := range categories {
		set(key, names[0], names[1])
	}
	return b
}()

// inboxWords are the inbox page's words in German and French.
var inboxWords = map[string][2]string{
	"Your session has expired. Reopen the notifications from the app.": {"Ihre Sitzung ist abgelaufen. Öffnen Sie die Benachrichtigungen erneut aus der App.", "Votre session a expiré. Rouvrez les notifications depuis l’application."},
	"Notifications: %s unread":         {"Benachrichtigungen: %s ungelesen", "Notifications : %s non lues"},
	"Unarchive":                        {"Wiederherstellen", "Désarchiver"},
	"Mark unread":                      {"Als ungelesen markieren", "Marquer comme non lu"},
	"Mark read":                        {"Als gelesen markieren", "Marquer comme lu"},
	"Archive":                          {"Archivieren", "Archiver"},
	"Snooze for":                       {"Zurückstellen für", "Reporter de"},
	"1 hour":                           {"1 Stunde", "1 heure"},
	"4 hours":                          {"4 Stunden", "4 heures"},
	"Until tomorrow":                   {"Bis morgen", "Jusqu’à demain"},
	"Until next week":                  {"Bis nächste Woche", "Jusqu’à la semaine prochaine"},
	"Snooze":                           {"Zurückstellen", "Reporter"},
	"Could not load notifications: %s": {"Benachrichtigungen konnten nicht geladen werden: %s", "Impossible de charger les notifications : %s"},
	"Could not update: %s":             {"Aktualisierung fehlgeschlagen: %s", "Mise à jour impossible : %s"},
	"Could not snooze: %s":             {"Zurückstellen fehlgeschlagen: %s", "Report impossible : %s"},
	"New notification: %s":             {"Neue Benachrichtigung: %s", "Nouvelle notification : %s"},
	"Saving…":                          {"Wird gespeichert …", "Enregistrement…"},
	"Saved.":                           {"Gespeichert.", "Enregistré."},
	"Not saved: %s":                    {"Nicht gespeichert: %s", "Non enregistré : %s"},
	"Notifications":                    {"Benachrichtigungen", "Notifications"},
	"Inbox actions":                    {"Posteingangsaktionen", "Actions de la boîte de réception"},
	"Show":                             {"Anzeigen", "Afficher"},
	"Inbox":                            {"Posteingang", "Boîte de réception"},
	"Unread":                           {"Ungelesen", "Non lues"},
	"Archived":                         {"Archiviert", "Archivées"},
	"Mark all read":                    {"Alle als gelesen markieren", "Tout marquer comme lu"},
	"Archive read":                     {"Gelesene archivieren", "Archiver les lues"},
	"Nothing here.":                    {"Hier ist nichts.", "Rien ici."},
	"Preferences":                      {"Einstellungen", "Préférences"},
	"Channels":                         {"Kanäle", "Canaux"},
	"In the app":                       {"In der App", "Dans l’application"},
	"Email":                            {"E-Mail", "E-mail"},
	"Immediately":                      {"Sofort", "Immédiatement"},
	"Hourly digest":                    {"Stündliche Zusammenfassung", "Récapitulatif toutes les heures"},
	"Daily digest":                     {"Tägliche Zusammenfassung", "Récapitulatif quotidien"},
	"Weekly digest":                    {"Wöchentliche Zusammenfassung", "Récapitulatif hebdomadaire"},
	"Quiet hours":                      {"Ruhezeiten", "Heures calmes"},
	"Hold email and Slack during quiet hours": {"E-Mail und Slack während der Ruhezeiten zurückhalten", "Retenir les e-mails et Slack pendant les heures calmes"},
	"From":             {"Von", "De"},
	"to":               {"bis", "à"},
	"Time zone":        {"Zeitzone", "Fuseau horaire"},
	"All weekend":      {"Das ganze Wochenende", "Tout le week-end"},
	"Save preferences": {"Einstellungen speichern", "Enregistrer les préférences"},
	"Open your notifications from the app you use: this link has no token.": {"Öffnen Sie Ihre Benachrichtigungen aus der App, die Sie verwenden: Dieser Link enthält kein Token.", "Ouvrez vos notifications depuis l’application que vous utilisez : ce lien ne contient pas de jeton."},
	"This link has expired. Open your notifications from the app again.":    {"Dieser Link ist abgelaufen. Öffnen Sie Ihre Benachrichtigungen erneut aus der App.", "Ce lien a expiré. Rouvrez vos notifications depuis l’application."},
	"This inbox no longer exists.":                                          {"Dieser Posteingang besteht nicht mehr.", "Cette boîte de réception n’existe plus."},
}

// InboxScriptWords are the words the inbox page's script writes itself,
// with %s where it fills in a value.
var InboxScriptWords = []string{
	"Your session has expired. Reopen the notifications from the app.", "Notifications: %s unread", "Unarchive",
	"Mark unread", "Mark read", "Archive", "Snooze for", "1 hour", "4 hours", "Until tomorrow", "Until next week",
	"Snooze", "Could not load notifications: %s", "Could not update: %s", "Could not snooze: %s",
	"New notification: %s", "Saving…", "Saved.", "Not saved: %s",
}

// WidgetWords are the words of the embeddable bell (widget.js).
var WidgetWords = []string{"Notifications", "Notifications: %s unread"}

// Formats returns each key's translation for t as a format still to fill:
// its %s left in place for a script to replace.
func Formats(t language.Tag, keys []string) map[string]string {
	p := Printer(t)
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		args := make([]any, strings.Count(k, "%s"))
		for i := range args {
			args[i] = "%s"
		}
		out[k] = p.Sprintf(k, args...)
	}
	return out
}

// slackWords are the labels of Slack messages in German and French.
var slackWords = map[string][2]string{
	"Prospect": {"Interessent", "Prospect"}, "Sentiment": {"Stimmung", "Tonalité"}, "Campaign": {"Kampagne", "Campagne"},
	"Drafts": {"Entwürfe", "Brouillons"}, "Batch": {"Batch", "Lot"}, "Sent": {"Gesendet", "Envoyés"},
	"Bounced": {"Unzustellbar", "Rebonds"}, "Bounce rate": {"Bounce-Rate", "Taux de rebond"}, "Replies": {"Antworten", "Réponses"},
	"Reply rate": {"Antwortquote", "Taux de réponse"}, "Experiment": {"Experiment", "Expérience"}, "Name": {"Name", "Nom"},
	"Connection": {"Verbindung", "Connexion"}, "Kind": {"Art", "Type"}, "Persona": {"Persona", "Persona"},
	"Company": {"Unternehmen", "Entreprise"}, "Score": {"Score", "Score"}, "Issue": {"Ticket", "Ticket"},
	"Title": {"Titel", "Titre"}, "Status": {"Status", "Statut"}, "Author": {"Autor", "Auteur"}, "By": {"Von", "Par"},
	"Project": {"Projekt", "Projet"}, "Milestone": {"Meilenstein", "Jalon"}, "Due": {"Fällig", "Échéance"},
	"Sprint": {"Sprint", "Sprint"}, "Pipeline": {"Pipeline", "Pipeline"}, "Build": {"Build", "Build"},
	"Branch": {"Branch", "Branche"}, "Commit": {"Commit", "Commit"}, "Risk": {"Risiko", "Risque"},
	"Severity": {"Schweregrad", "Gravité"}, "Repository": {"Repository", "Dépôt"}, "File": {"Datei", "Fichier"},
	"Skill": {"Kompetenz", "Compétence"}, "Level": {"Stufe", "Niveau"}, "Extension": {"Erweiterung", "Extension"},
	"Metric": {"Kennzahl", "Métrique"}, "Growth (%)": {"Wachstum (%)", "Croissance (%)"},
	"Per day now": {"Pro Tag jetzt", "Par jour actuellement"}, "Per day before": {"Pro Tag vorher", "Par jour auparavant"},
	"Used": {"Verbraucht", "Utilisé"}, "Limit": {"Limit", "Limite"}, "Limit reached around": {"Limit erreicht etwa am", "Limite atteinte vers le"},
	"Period ends": {"Zeitraum endet", "Fin de la période"}, "Share": {"Anteil", "Part"}, "Entry": {"Eintrag", "Entrée"},
	"Hours": {"Stunden", "Heures"}, "Request": {"Anfrage", "Demande"}, "Requester": {"Angefragt von", "Demandeur"},
	"Summary": {"Zusammenfassung", "Résumé"}, "Transcript": {"Transkript", "Transcription"},
	"Approve": {"Freigeben", "Approuver"}, "Reject": {"Ablehnen", "Refuser"}, "urgent": {"dringend", "urgent"},
}

// categories are the built-in categories' names in German and French; the
// key is the English name.
var categories = map[string][2]string{
	"Outreach":     {"Outreach", "Prospection"},
	"Leads":        {"Leads", "Prospects"},
	"Billing":      {"Abrechnung", "Facturation"},
	"Issues":       {"Tickets", "Tickets"},
	"Projects":     {"Projekte", "Projets"},
	"Team":         {"Team", "Équipe"},
	"System":       {"System", "Système"},
	"AI":           {"KI", "IA"},
	"Integrations": {"Integrationen", "Intégrations"},
	"Analytics":    {"Auswertungen", "Analyses"},
	"Approvals":    {"Freigaben", "Approbations"},
	"Summaries":    {"Zusammenfassungen", "Résumés"},
	"Other":        {"Sonstiges", "Autres"},
}

// Printer formats Herald's messages, and the numbers in them, for t.
func Printer(t language.Tag) *message.Printer {
	return message.NewPrinter(t, message.Catalog(messages))
}

// Word is a label of Herald's ("Bounce rate", "Growth (%)") for a reader
// of t; a label without a translation is itself.
func Word(t language.Tag, en string) string { return Printer(t).Sprintf(escape(en)) }

// escape makes a label a format without verbs: message keys are formats.
func escape(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// Category is a category's name for a reader of t: the built-in ones
// translated, a tenant's own as its key with a capital.
func Category(t language.Tag, key string) string {
	name := titleCase(key)
	if key == "ai" {
		name = "AI"
	}
	if _, ok := categories[name]; !ok {
		return name
	}
	return Printer(t).Sprintf(name)
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	b := []byte(s)
	if b[0] >= 'a' && b[0] <= 'z' {
		b[0] -= 'a' - 'A'
	}
	return string(b)
}
