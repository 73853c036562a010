package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

type brandingView struct {
	ProductName string `json:"product_name"`
	LogoURL     string `json:"logo_url"`
	AccentColor string `json:"accent_color"`
	FromName    string `json:"from_name"`
	ReplyTo     string `json:"reply_to"`
	Footer      string `json:"footer"`
}

// TestBrandingPutRule: a tenant starts with Herald's look; a PUT changes
// what it names and keeps the rest; null restores a default; each bad
// field is 400 invalid_field naming it, and changes nothing.
func TestBrandingPutRule(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	get := func() brandingView {
		t.Helper()
		return decodeAs[brandingView](t, tn.must(200, tn.do("GET", "/v1/tenant/branding", nil)))
	}
	if got := get(); got != (brandingView{ProductName: "Herald", AccentColor: "#2f54eb"}) {
		t.Fatalf("a new tenant's branding = %+v", got)
	}
	want := brandingView{ProductName: "Kilo", LogoURL: "https://cdn.kilo.example/logo.png", AccentColor: "#ff6600",
		FromName: "Kilo Alerts", ReplyTo: "help@kilo.example", Footer: "Kilo GmbH\nBerlin"}
	put := decodeAs[brandingView](t, tn.must(200, tn.do("PUT", "/v1/tenant/branding", map[string]any{
		"product_name": "Kilo", "logo_url": want.LogoURL, "accent_color": "#FF6600", "from_name": "Kilo Alerts",
		"reply_to": "help@kilo.example", "footer": "Kilo GmbH\nBerlin"})))
	if put != want || get() != want {
		t.Fatalf("after PUT: answered %+v, GET %+v, want %+v", put, get(), want)
	}
	// Only the footer changes.
	tn.must(200, tn.do("PUT", "/v1/tenant/branding", map[string]any{"footer": "Kilo GmbH"}))
	want.Footer = "Kilo GmbH"
	if got := get(); got != want {
		t.Fatalf("after a footer-only PUT: %+v, want %+v", got, want)
	}

	for _, tc := range []struct {
		field string
		value any
	}{
		{"logo_url", "http://cdn.kilo.example/logo.png"},
		{"logo_url", "javascript:alert(1)"},
		{"logo_url", `https://cdn.kilo.example/x.png" onerror="alert(1)`},
		{"accent_color", "orange"},
		{"accent_color", "#ff6600;background:url(https://evil.example)"},
		{"accent_color", ""},
		{"reply_to", "not an address"},
		{"reply_to", "Help <help@kilo.example>"},
		{"from_name", "Kilo\r\nBcc: all@example.com"},
		{"product_name", ""},
		{"product_name", "   "},
		{"product_name", strings.Repeat("k", 101)},
		{"footer", strings.Repeat("f", 501)},
	} {
		// With a valid change beside it, which must not be stored either.
		body := map[string]any{"footer": "Changed"}
		if tc.field == "footer" {
			body = map[string]any{"product_name": "Changed"}
		}
		body[tc.field] = tc.value
		r := tn.do("PUT", "/v1/tenant/branding", body)
		if r.status != 400 || r.errCode() != "invalid_field" || r.errorBody().Error.Details["field"] != tc.field {
			t.Errorf("%s = %q: %d %s, want 400 invalid_field naming it", tc.field, tc.value, r.status, r.raw)
		}
	}
	if r := tn.do("PUT", "/v1/tenant/branding", map[string]any{"colour": "#ff6600"}); r.status != 400 {
		t.Errorf("an unknown field: %d %s, want 400", r.status, r.raw)
	}
	if got := get(); got != want {
		t.Fatalf("refused PUTs changed the branding: %+v, want %+v", got, want)
	}

	// null restores a default; "" removes an optional field.
	tn.must(200, tn.do("PUT", "/v1/tenant/branding", map[string]any{"accent_color": nil, "product_name": nil, "logo_url": ""}))
	want.AccentColor, want.ProductName, want.LogoURL = "#2f54eb", "Herald", ""
	if got := get(); got != want {
		t.Fatalf("after resets: %+v, want %+v", got, want)
	}
}

// TestBrandingInWhatHeraldSends: with a tenant's branding set, the email
// at the SMTP server has its From name, Reply-To, logo, colour and footer;
// the Slack post names the product; the inbox page and the approval page
// show the product name and colour, and let in the logo's origin alone.
func TestBrandingInWhatHeraldSends(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	sfx := tn.id.String()[:8]
	addr := "ada-" + sfx + "@example.com"
	tn.putUser("ada", addr)
	ch := "#brand-" + sfx
	tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{"bot_token": "xoxb-e2e", "routes": []map[string]any{{"channel": ch}}}))
	tn.must(200, tn.do("PUT", "/v1/tenant/branding", map[string]any{
		"product_name": "Kilo", "logo_url": "https://cdn.kilo.example/logo.png?v=2&s=64", "accent_color": "#ff6600",
		"from_name": "Kilo Alerts", "reply_to": "help@kilo.example", "footer": "Kilo GmbH · Berlin <no-reply>"}))

	acc := tn.postEvent(map[string]any{"type": "project.update", "recipients": map[string]any{"users": []string{"ada"}},
		"data": map[string]any{"project": "Apollo", "message": "Launch moved to Friday"}, "link": "https://app.example/apollo"})
	if ev := tn.waitEvent(acc.EventID); ev.Status != "delivered" {
		t.Fatalf("event %s", ev.Status)
	}
	mails := mailFor(acc.EventID)
	if len(mails) != 1 {
		t.Fatalf("%d emails caught, want 1", len(mails))
	}
	m := mails[0]
	if from := strings.Join(m.Header["From"], ","); !strings.Contains(from, "Kilo Alerts") {
		t.Errorf("From = %q, want the display name Kilo Alerts", from)
	}
	if rt := m.Header["Reply-To"]; len(rt) != 1 || !strings.Contains(rt[0], "help@kilo.example") {
		t.Errorf("Reply-To = %q", rt)
	}
	if text := strings.ReplaceAll(m.Text, "\r\n", "\n"); !strings.Contains(text, "\n-- \nKilo GmbH · Berlin <no-reply>\n") || !strings.Contains(text, " on Kilo.") {
		t.Errorf("text part lacks the footer or the product name:\n%s", m.Text)
	}
	for _, want := range []string{"background:#ff6600", `src="https://cdn.kilo.example/logo.png?v=2&amp;s=64"`,
		"Kilo GmbH · Berlin &lt;no-reply&gt;", " on Kilo."} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, m.HTML)
		}
	}
	if strings.Contains(m.HTML, "#2f54eb") || strings.Contains(m.HTML, "<no-reply>") {
		t.Errorf("HTML part keeps Herald's colour or lets markup through:\n%s", m.HTML)
	}

	waitFor(t, time.Minute, "the Slack post to "+ch, func() bool { return len(slackPosts(ch)) == 1 })
	if blocks, _ := json.Marshal(slackPosts(ch)[0].Blocks); !strings.Contains(string(blocks), `"text":"Kilo · projects"`) {
		t.Errorf("the Slack post's context does not name the product: %s", blocks)
	}

	res, err := http.Get(tn.base + "/inbox?token=" + tn.inboxToken("ada"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	inbox := string(raw)
	if res.StatusCode != 200 || !strings.Contains(inbox, `<span id="product">Kilo</span>`) || !strings.Contains(inbox, "--accent:#ff6600") {
		t.Errorf("inbox page %d lacks the product name or colour:\n%s", res.StatusCode, inbox)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: https://cdn.kilo.example;") {
		t.Errorf("inbox page CSP = %q, want the logo's origin in img-src", csp)
	}

	addrs := approvalUsers(tn)
	tn.must(201, tn.do("POST", "/v1/approvals", approvalBody("br-1")))
	link := approvalLink(t, addrs["ada"])
	res, err = http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if csp := res.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "; img-src https://cdn.kilo.example") {
		t.Errorf("approval page CSP = %q, want the logo's origin as img-src", csp)
	}
	page := getPage(t, link)
	if page.status != 200 || !strings.Contains(page.body, "<span>Kilo</span>") || !strings.Contains(page.body, "a{color:#ff6600}") ||
		!strings.Contains(page.body, `<img src="https://cdn.kilo.example/logo.png?v=2&amp;s=64"`) {
		t.Errorf("approval page %d lacks the branding:\n%s", page.status, page.body)
	}
}
