package e2e

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/heraldhq/herald/channel"
)

// localeView is the part of a user the locale tests read.
type localeView struct {
	ID     string  `json:"id"`
	Locale *string `json:"locale"`
}

// TestLocaleEmailInGerman: a user whose locale is de-AT gets German: the
// email at the SMTP server says Content-Language: de, counts in the German
// plural with Austria's digit grouping, and greets in German; the inbox
// item, the unsubscribe page and its answer are German too. A tag that is not BCP 47 is 400 and changes nothing;
// a PUT without locale keeps it, null resets it to the tenant's.
func TestLocaleEmailInGerman(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	addr := "lena-" + tn.id.String()[:8] + "@example.com"
	tn.putUser("lena", addr, "locale", "de-at")
	get := func() localeView {
		t.Helper()
		return decodeAs[localeView](t, tn.must(200, tn.do("GET", "/v1/users/lena", nil)))
	}
	if u := get(); u.Locale == nil || *u.Locale != "de-AT" {
		t.Fatalf("locale stored as %v, want the canonical de-AT", u.Locale)
	}
	for _, bad := range []string{"deutsch_AT", "x-klingon", "und", "de-", "12"} {
		r := tn.do("PUT", "/v1/users/lena", map[string]any{"locale": bad, "name": "Changed"})
		if r.status != 400 || r.errCode() != "invalid_field" || r.errorBody().Error.Details["field"] != "locale" {
			t.Errorf("locale %q: %d %s, want 400 invalid_field naming locale", bad, r.status, r.raw)
		}
	}
	tn.must(200, tn.do("PUT", "/v1/users/lena", map[string]any{"name": "Lena Huber"}))
	if u := get(); u.Locale == nil || *u.Locale != "de-AT" {
		t.Fatalf("a PUT without locale changed it to %v", u.Locale)
	}

	acc := tn.postEvent(map[string]any{"type": "outreach.campaign_completed", "recipients": map[string]any{"users": []string{"lena"}},
		"data": map[string]any{"campaign_id": "c-1", "name": "Frühling", "sent": 1200, "replies": 1, "bounced": 7},
		"link": "https://app.example/c-1"})
	if ev := tn.waitEvent(acc.EventID); ev.Status != "delivered" {
		t.Fatalf("event %s", ev.Status)
	}
	m := onlyMail(t, acc.EventID)
	if cl := m.Header["Content-Language"]; len(cl) != 1 || cl[0] != "de" {
		t.Errorf("Content-Language = %q, want de", cl)
	}
	if m.Subject != "Kampagne Frühling abgeschlossen" {
		t.Errorf("subject %q", m.Subject)
	}
	text := strings.ReplaceAll(m.Text, "\r\n", "\n")
	for _, want := range []string{"Hallo Lena,", "Die Kampagne Frühling ist abgeschlossen: 1\u00a0200 gesendet, 1 Antwort, 7 unzustellbar.",
		"Antwortquote: 0,1\u00a0%", "Details ansehen: https://app.example/c-1", "weil Sie Mitglied von"} {
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(m.HTML, `<html lang="de">`) || !strings.Contains(m.HTML, "Details ansehen") {
		t.Errorf("HTML part is not German:\n%s", m.HTML)
	}
	items := decodeAs[listPage[inboxItem]](t, tn.must(200, tn.do("GET", "/v1/users/lena/notifications", nil))).Data
	if len(items) != 1 || items[0].Title != "Kampagne Frühling abgeschlossen" {
		t.Errorf("inbox items %+v, want the German title", items)
	}
	// The unsubscribe line, its page and its answer are German too.
	if !strings.Contains(text, "Keine E-Mails mehr zu „Outreach“: ") {
		t.Errorf("text part lacks the German unsubscribe line:\n%s", text)
	}
	link := unsubscribeLink(t, m)
	if p := visit(t, "GET", link, "", ""); p.status != 200 || !strings.Contains(p.body, `<html lang="de">`) ||
		!strings.Contains(p.body, "E-Mails zu „Outreach“ abbestellen?") {
		t.Errorf("unsubscribe page: %d\n%s", p.status, p.body)
	}
	if p := oneClick(t, link); p.status != 200 || !strings.Contains(p.body, "Sie sind abgemeldet") {
		t.Errorf("unsubscribe answer: %d\n%s", p.status, p.body)
	}

	// null: back to the tenant's default, English.
	tn.must(200, tn.do("PUT", "/v1/users/lena", map[string]any{"locale": nil}))
	if u := get(); u.Locale != nil {
		t.Fatalf("locale after null = %q, want null", *u.Locale)
	}
	// (Outreach email is off now: this one is billing.)
	acc = tn.postEvent(map[string]any{"type": "usage.quota_warning", "recipients": map[string]any{"users": []string{"lena"}},
		"data": map[string]any{"metric": "emails", "used": 8000, "limit": 10000}})
	tn.waitEvent(acc.EventID)
	if m := onlyMail(t, acc.EventID); m.Header["Content-Language"][0] != "en" || !strings.Contains(m.Text, "8,000 of 10,000 emails used") {
		t.Errorf("after reset: %q %q", m.Header["Content-Language"], m.Text)
	}
}

// TestLocaleTenantDefaultAndDigest: a tenant whose locale is fr writes to
// users without one in French; a user's de-AT digest lists its items in
// German under the German plural ("5 neue Nachrichten").
func TestLocaleTenantDefaultAndDigest(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	r := tn.do("PUT", "/v1/tenant/settings", map[string]any{"locale": "Klingonisch!"})
	if r.status != 400 || r.errorBody().Error.Details["field"] != "locale" {
		t.Fatalf("a bad tenant locale: %d %s", r.status, r.raw)
	}
	type settingsView struct {
		Locale string `json:"locale"`
	}
	if settings := decodeAs[settingsView](t, tn.must(200, tn.do("GET", "/v1/tenant/settings", nil))); settings.Locale != "en" {
		t.Fatalf("a new tenant's locale = %q, want en", settings.Locale)
	}
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"locale": "fr"}))
	tn.putUser("marc", "marc-"+tn.id.String()[:8]+"@example.com")
	acc := tn.postEvent(map[string]any{"type": "outreach.drafts_ready", "recipients": map[string]any{"users": []string{"marc"}},
		"data": map[string]any{"batch_id": "b-7", "drafts": 2}})
	tn.waitEvent(acc.EventID)
	if m := onlyMail(t, acc.EventID); m.Header["Content-Language"][0] != "fr" || !strings.Contains(m.Text, "2 brouillons sont prêts à relire dans le lot b-7.") {
		t.Errorf("tenant default fr: %q\n%s", m.Header["Content-Language"], m.Text)
	}

	const user = "dig-de"
	address := tn.digestUser(user, "hourly")
	tn.must(200, tn.do("PUT", "/v1/users/"+user, map[string]any{"locale": "de-AT"}))
	tn.startWindow(user, channel.Email, 8*time.Second)
	for _, key := range []string{"LOC-1", "LOC-2", "LOC-3", "LOC-4", "LOC-5"} {
		tn.waitEvent(tn.assign(user, key).EventID)
	}
	m := tn.onlyDigest(user, address)
	if m.Subject != "Ihre stündliche Zusammenfassung: 5 neue Nachrichten" {
		t.Errorf("digest subject %q", m.Subject)
	}
	if cl := m.Header["Content-Language"]; len(cl) != 1 || cl[0] != "de" {
		t.Errorf("digest Content-Language = %q", cl)
	}
	if !strings.Contains(m.Text, "Tickets (5)") || !strings.Contains(m.Text, "LOC-3 wurde Ihnen zugewiesen") {
		t.Errorf("digest items are not German:\n%s", m.Text)
	}
}

// TestLocaleApprovalPage: an approver whose locale is fr gets the request
// in French (Content-Language: fr) and their page in French, before and
// after deciding; a German approver of the same request reads German; a
// damaged link answers in the browser's language.
func TestLocaleApprovalPage(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	addr := approvalUsers(tn)
	tn.must(200, tn.do("PUT", "/v1/users/ada", map[string]any{"locale": "fr-CA"}))
	tn.must(200, tn.do("PUT", "/v1/users/bob", map[string]any{"locale": "de"}))
	tn.must(201, tn.do("POST", "/v1/approvals", approvalBody("loc")))
	ada, bob := approvalLink(t, addr["ada"]), approvalLink(t, addr["bob"])
	m := mailOfType(addr["ada"], "approval.requested")[0]
	if cl := m.Header["Content-Language"]; len(cl) != 1 || cl[0] != "fr" || m.Subject != "Demande d’approbation : Buy 3 laptops" {
		t.Errorf("ada's request: %q %q", cl, m.Subject)
	}
	p := getPage(t, ada)
	for _, want := range []string{`<html lang="fr">`, "Votre décision est attendue", "Demandée par", "1 sur 2", ">Approuver</button>", "Commentaire (facultatif)"} {
		if p.status != 200 || !strings.Contains(p.body, want) {
			t.Errorf("ada's page lacks %q: %d\n%s", want, p.status, p.body)
		}
	}
	if p := getPage(t, bob); !strings.Contains(p.body, "Ihre Entscheidung ist gefragt") || !strings.Contains(p.body, ">Ablehnen</button>") {
		t.Errorf("bob's page is not German:\n%s", p.body)
	}
	if p := postPage(t, ada, "approve", ""); p.status != 200 || !strings.Contains(p.body, "Votre décision est enregistrée") {
		t.Errorf("ada's decision: %d\n%s", p.status, p.body)
	}
	if p := getPage(t, bob); p.status != 410 || !strings.Contains(p.body, "Diese Anfrage ist bereits freigegeben") {
		t.Errorf("bob's page after ada decided: %d\n%s", p.status, p.body)
	}
	req, err := http.NewRequest("GET", ada[:len(ada)-4]+"AAAA", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Language", "de-CH, en;q=0.5")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 403 || !strings.Contains(string(body), "Dieser Link ist ungültig") {
		t.Errorf("a damaged link with Accept-Language de-CH: %d\n%s", res.StatusCode, body)
	}
}

// TestLocaleTenantTemplates: a tenant's type carries its own languages
// under templates.locales, stored by canonical tag and chosen by the
// preview's locale; a bad tag, en, an unknown template name or a variant
// that does not parse is refused and changes nothing.
func TestLocaleTenantTemplates(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	def := map[string]any{"category": "deploys", "title": "Deploy finished", "templates": map[string]any{
		"subject": "Deploy {{.data.id}} finished", "text": `{{counted .data.hosts "host" "hosts"}} updated.`,
		"locales": map[string]any{"de-de": map[string]any{"subject": "Deployment {{.data.id}} abgeschlossen",
			"text": `{{counted .data.hosts "Host" "Hosts"}} aktualisiert.`, "action": "Deployment ansehen"}}}}
	tn.must(201, tn.do("PUT", "/v1/event-types/deploy.finished", def))
	type variant struct {
		Subject string `json:"subject"`
	}
	type typeView struct {
		Templates struct {
			Locales map[string]variant `json:"locales,omitempty"`
		} `json:"templates"`
	}
	stored := decodeAs[listPage[typeView]](t, tn.must(200, tn.do("GET", "/v1/event-types?limit=200", nil)))
	found := false
	for _, ty := range stored.Data {
		if v, ok := ty.Templates.Locales["de-DE"]; ok && v.Subject == "Deployment {{.data.id}} abgeschlossen" {
			found = true
		}
	}
	if !found {
		t.Fatalf("the de-DE variant is not stored under its canonical tag")
	}
	type previewView struct {
		Locale   string `json:"locale"`
		Channels struct {
			Email struct {
				Subject string `json:"subject"`
				Text    string `json:"text"`
			} `json:"email"`
		} `json:"channels"`
	}
	pv := decodeAs[previewView](t, tn.must(200, tn.do("POST", "/v1/event-types/deploy.finished/preview",
		map[string]any{"data": map[string]any{"id": "d-9", "hosts": 1}, "locale": "de-AT", "link": "https://app.example/d-9"})))
	if pv.Locale != "de-DE" || pv.Channels.Email.Subject != "Deployment d-9 abgeschlossen" ||
		!strings.Contains(pv.Channels.Email.Text, "1 Host aktualisiert.") || !strings.Contains(pv.Channels.Email.Text, "Deployment ansehen: ") {
		t.Errorf("preview for de-AT: %+v", pv)
	}
	if r := tn.do("POST", "/v1/event-types/deploy.finished/preview", map[string]any{"data": map[string]any{"id": "d-9"}, "locale": "nope!"}); r.status != 400 {
		t.Errorf("a preview with a bad locale: %d %s", r.status, r.raw)
	}

	for _, bad := range []struct {
		locales map[string]any
		status  int
	}{
		{map[string]any{"deutsch!": map[string]any{"text": "x"}}, 400},
		{map[string]any{"en": map[string]any{"text": "x"}}, 400},
		{map[string]any{"fr": map[string]any{"body": "x"}}, 400},
		{map[string]any{"fr": map[string]any{"text": "{{if}}"}}, 422},
		{map[string]any{"fr": "x"}, 400},
	} {
		r := tn.do("PUT", "/v1/event-types/deploy.finished", map[string]any{"templates": map[string]any{"text": "changed", "locales": bad.locales}})
		if r.status != bad.status {
			t.Errorf("locales %v: %d %s, want %d", bad.locales, r.status, r.raw, bad.status)
		}
	}
	pv = decodeAs[previewView](t, tn.must(200, tn.do("POST", "/v1/event-types/deploy.finished/preview",
		map[string]any{"data": map[string]any{"id": "d-9", "hosts": 2}})))
	if pv.Locale != "en" || pv.Channels.Email.Subject != "Deploy d-9 finished" || !strings.Contains(pv.Channels.Email.Text, "2 hosts updated.") {
		t.Errorf("after refused PUTs the type changed: %+v", pv)
	}
}

// TestInboxPageInGerman: a German user's notification centre, in headless
// Chromium at phone width: the page, the items arriving live, the script's
// own words (the bell's label, the buttons, the relative time) and the
// saved preference's status are German, the longer German words do not make
// the page scroll sideways, and a screenshot is kept.
func TestInboxPageInGerman(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	tn := newTenant(t)
	tn.putUser("web", "web-de@example.com", "locale", "de-AT")
	page := tn.base + "/inbox?token=" + url.QueryEscape(tn.inboxToken("web"))
	run(t, ctx, 20*time.Second, "opening the page",
		chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile),
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.ID("bell")),
		waitJS(`document.documentElement.lang === "de"`),
		waitJS(`document.getElementById("read-all").textContent === "Alle als gelesen markieren"`),
	)
	tn.assign("web", "WEB-DE")
	run(t, ctx, 10*time.Second, "the notification arriving live, in German",
		waitJS(`document.getElementById("badge").textContent === "1"`),
		waitJS(`[...document.querySelectorAll("#list .title")].some(e => e.textContent === "WEB-DE wurde Ihnen zugewiesen")`),
		waitJS(`document.querySelector("#list li.item .meta").textContent === "jetzt"`),
		waitJS(`[...document.querySelectorAll("#list li.item .actions button")].some(b => b.textContent === "Als gelesen markieren")`),
	)
	if label := attr(t, ctx, "#bell", "aria-label"); label != "Benachrichtigungen: 1 ungelesen" {
		t.Errorf("bell label %q", label)
	}
	run(t, ctx, 10*time.Second, "saving a preference",
		chromedp.Click(chromedp.CSS(`#prefs summary`)),
		chromedp.WaitVisible(chromedp.ID(`email-frequency`)),
		chromedp.SetValue(chromedp.ID(`email-frequency`), "daily"),
		chromedp.Click(chromedp.ID(`prefs-save`)),
		waitJS(`document.getElementById("prefs-status").textContent === "Gespeichert."`),
	)
	if w := value(t, ctx, "the page's width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 375 {
		t.Errorf("the German page is %d px wide in a 375 px window: it scrolls sideways", w)
	}
	keepScreenshot(t, ctx, "inbox-de-375px.png")
}
