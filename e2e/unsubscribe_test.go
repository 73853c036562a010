package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/internal/dev/localstack"
	"github.com/heraldhq/herald/internal/dev/mailcatch"
	"github.com/heraldhq/herald/seal"
)

// oneClickBody is what RFC 8058 has a mail provider POST to the link.
const oneClickBody = "List-Unsubscribe=One-Click"

// unsubscribePage is an answer of GET or POST /unsubscribe/{token}.
type unsubscribePage struct {
	status      int
	contentType string
	body        string
}

// isHTML: the visitor is a person in a browser or a mail provider, never an
// API client, so every answer is a page, refusals included.
func (p unsubscribePage) isHTML() bool {
	return strings.HasPrefix(p.contentType, "text/html") && strings.Contains(strings.ToLower(p.body), "</html>")
}

// visit requests link as a mail provider or a browser does: no API key, no
// cookies, no redirects followed.
func visit(t *testing.T, method, link, contentType, body string) unsubscribePage {
	t.Helper()
	req, err := http.NewRequest(method, link, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	client := &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return unsubscribePage{status: res.StatusCode, contentType: res.Header.Get("Content-Type"), body: string(raw)}
}

// oneClick POSTs the link as a mail provider's unsubscribe button does.
func oneClick(t *testing.T, link string) unsubscribePage {
	t.Helper()
	return visit(t, "POST", link, "application/x-www-form-urlencoded", oneClickBody)
}

// onlyMail waits for the single email an event sends.
func onlyMail(t *testing.T, eventID string) mailcatch.Message {
	t.Helper()
	waitFor(t, 30*time.Second, "the event's email", func() bool { return len(mailFor(eventID)) > 0 })
	mail := mailFor(eventID)
	if len(mail) != 1 {
		t.Fatalf("%d emails for event %s, want 1: %v", len(mail), eventID, recipientsOf(mail))
	}
	return mail[0]
}

// unsubscribeLink reads a message's List-Unsubscribe header: one
// angle-bracketed HTTP URL, offered for one-click POST.
func unsubscribeLink(t *testing.T, m mailcatch.Message) string {
	t.Helper()
	h := m.Header["List-Unsubscribe"]
	if len(h) != 1 || !strings.HasPrefix(h[0], "<") || !strings.HasSuffix(h[0], ">") || strings.Count(h[0], "<") != 1 {
		t.Fatalf("List-Unsubscribe = %q, want one <URL>", h)
	}
	if p := m.Header["List-Unsubscribe-Post"]; len(p) != 1 || p[0] != oneClickBody {
		t.Fatalf("List-Unsubscribe-Post = %q, want exactly %q", p, oneClickBody)
	}
	return strings.TrimSuffix(strings.TrimPrefix(h[0], "<"), ">")
}

func (tn *tenant) assign(user, key string) accepted {
	tn.t.Helper()
	return tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{user}},
		"data": map[string]any{"issue_key": key}})
}

// TestUnsubscribeOneClick unsubscribes exactly as a mail provider does, from
// the headers of a real email: GET changes nothing, POST turns the
// category's email off (and nothing else), and later email of that category
// is skipped while other categories still arrive.
func TestUnsubscribeOneClick(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const user, address = "unsub-reader-7", "unsub-reader-7@example.com"
	tn.putUser(user, address)
	// Other choices, one of them in the same category, must survive.
	tn.must(200, tn.do("PUT", "/v1/users/"+user+"/preferences", map[string]any{
		"categories": map[string]any{"issues": map[string]any{"slack": false}, "projects": map[string]any{"email": false}},
		"events":     map[string]any{"team.invitation": map[string]any{"slack": false}},
	}))

	first := tn.assign(user, "UNS-1")
	tn.waitSettled(first.EventID, time.Minute)
	msg := onlyMail(t, first.EventID)
	link := unsubscribeLink(t, msg)
	prefix := env.api.URL + "/unsubscribe/"
	token, ok := strings.CutPrefix(link, prefix)
	if !ok || token == "" || strings.ContainsAny(token, "/?#") {
		t.Fatalf("link %s, want %s<token>", link, prefix)
	}

	// The link travels in mail logs and browser histories.
	personal := []string{user, address, "issues", tn.id.String(), strings.ReplaceAll(tn.id.String(), "-", "")}
	for _, s := range personal {
		if strings.Contains(token, s) {
			t.Errorf("token %s shows %q", token, s)
		}
	}
	decoded, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(token, "="))
	if err == nil {
		for _, s := range personal {
			if bytes.Contains(decoded, []byte(s)) {
				t.Errorf("token %s decodes to bytes showing %q", token, s)
			}
		}
		if bytes.Contains(decoded, tn.id[:]) {
			t.Errorf("token %s decodes to bytes holding the tenant ID", token)
		}
	}

	// Everyone else (no List-Unsubscribe support) needs a visible link.
	if !strings.Contains(msg.Text, link) {
		t.Errorf("the text part has no unsubscribe link:\n%s", msg.Text)
	} else if line := lineWith(msg.Text, link); !strings.Contains(strings.ToLower(line), "issues") {
		t.Errorf("the text part's unsubscribe line %q does not name the category", line)
	}
	if anchor := anchorText(msg.HTML, link); anchor == "" {
		t.Errorf("the HTML part has no link to %s:\n%s", link, msg.HTML)
	} else if !strings.Contains(strings.ToLower(anchor), "issues") {
		t.Errorf("the HTML unsubscribe link reads %q; it does not name the category", anchor)
	}

	before := tn.do("GET", "/v1/users/"+user+"/preferences", nil).raw
	// Link scanners and previews GET every link: that must not unsubscribe.
	page := visit(t, "GET", link, "", "")
	if page.status != 200 || !page.isHTML() {
		t.Fatalf("GET the link: %d %s\n%s", page.status, page.contentType, page.body)
	}
	lower := strings.ToLower(page.body)
	if !strings.Contains(lower, `<form method="post"`) || !strings.Contains(page.body, `name="List-Unsubscribe" value="One-Click"`) ||
		!strings.Contains(lower, "issues") {
		t.Errorf("the confirm page has no one-click POST form naming issues:\n%s", page.body)
	}
	if after := tn.do("GET", "/v1/users/"+user+"/preferences", nil).raw; !bytes.Equal(after, before) {
		t.Fatalf("GET the link changed preferences:\nbefore %s\nafter  %s", before, after)
	}

	if page := oneClick(t, link); page.status != 200 || !page.isHTML() {
		t.Fatalf("one-click POST: %d %s\n%s", page.status, page.contentType, page.body)
	}
	unsubscribed := tn.do("GET", "/v1/users/"+user+"/preferences", nil).raw
	if page := oneClick(t, link); page.status != 200 || !page.isHTML() {
		t.Errorf("repeated one-click POST: %d %s\n%s", page.status, page.contentType, page.body)
	}
	if again := tn.do("GET", "/v1/users/"+user+"/preferences", nil).raw; !bytes.Equal(again, unsubscribed) {
		t.Errorf("repeating the POST changed preferences:\nonce  %s\ntwice %s", unsubscribed, again)
	}
	p := tn.preferences(user)
	switch {
	case p.Categories["issues"]["email"] || len(p.Categories["issues"]) != 2 || p.Categories["issues"]["slack"]:
		t.Errorf("stored issues = %v, want email off next to the slack off set before", p.Categories["issues"])
	case len(p.Categories) != 2 || len(p.Categories["projects"]) != 1 || p.Categories["projects"]["email"]:
		t.Errorf("stored categories = %v, want projects untouched", p.Categories)
	case len(p.Events) != 1 || len(p.Events["team.invitation"]) != 1 || p.Events["team.invitation"]["slack"]:
		t.Errorf("stored events = %v, want untouched", p.Events)
	case p.Effective.Categories["issues"] == nil || p.Effective.Categories["issues"]["email"]:
		t.Errorf("effective issues = %v, want email off", p.Effective.Categories["issues"])
	}

	// Email of the category stops; the inbox does not.
	later := tn.assign(user, "UNS-2")
	ev := tn.waitSettled(later.EventID, time.Minute)
	if d := deliveryOf(ev, user, "email"); d.Status != "skipped" || d.Reason != "category_unsubscribed" {
		t.Errorf("email after unsubscribing = %+v, want skipped category_unsubscribed", d)
	}
	if d := deliveryOf(ev, user, "in_app"); d.Status != "delivered" {
		t.Errorf("in_app after unsubscribing = %+v, want delivered", d)
	}
	// Another category still emails, with its own link.
	invite := tn.postEvent(map[string]any{"type": "team.invitation", "recipients": map[string]any{"users": []string{user}},
		"data": map[string]any{"team": "Platform"}})
	if ev := tn.waitSettled(invite.EventID, time.Minute); deliveryOf(ev, user, "email").Status != "delivered" {
		t.Errorf("team email after unsubscribing from issues = %+v, want delivered", deliveryOf(ev, user, "email"))
	}
	teamLink := unsubscribeLink(t, onlyMail(t, invite.EventID))
	if teamLink == link {
		t.Errorf("the team email carries the issues link %s", link)
	}
	if n := len(mailFor(later.EventID)); n != 0 {
		t.Errorf("%d emails for issue.assigned after unsubscribing, want none", n)
	}
}

// TestUnsubscribeRefusals: a link that is not Herald's own, a POST that is
// not a one-click request, a category the tenant requires and a deleted user
// are each refused with a page, and change nothing.
func TestUnsubscribeRefusals(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const user = "unsub-refused-3"
	tn.putUser(user, "unsub-refused-3@example.com")
	tn.must(200, tn.do("PUT", "/v1/users/"+user+"/preferences", map[string]any{
		"categories": map[string]any{"projects": map[string]any{"slack": false}}}))
	acc := tn.assign(user, "REF-1")
	tn.waitSettled(acc.EventID, time.Minute)
	link := unsubscribeLink(t, onlyMail(t, acc.EventID))
	token := strings.TrimPrefix(link, env.api.URL+"/unsubscribe/")
	base := strings.TrimSuffix(link, token)
	before := tn.storedPreferences(user)
	unchanged := func(what string) {
		t.Helper()
		if after := tn.storedPreferences(user); after != before {
			t.Fatalf("%s changed preferences:\nbefore %s\nafter  %s", what, before, after)
		}
	}

	// The same payload sealed for another purpose or under another key.
	payload := append([]byte(nil), tn.id[:]...)
	payload = binary.AppendUvarint(payload, uint64(len(user)))
	payload = append(payload, user+"issues"...)
	ours, err := seal.New(localstack.TestSigningKey)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := seal.New(localstack.TestSigningKey + "-someone-else")
	if err != nil {
		t.Fatal(err)
	}
	flipped := []byte(token)
	if i := len(flipped) / 2; flipped[i] == 'A' {
		flipped[i] = 'B'
	} else {
		flipped[i] = 'A'
	}
	for name, bad := range map[string]string{
		"tampered":      string(flipped),
		"truncated":     token[:len(token)-4],
		"other purpose": ours.Seal("approval", payload),
		"other key":     theirs.SealUnsubscribe(seal.Unsubscribe{TenantID: tn.id, UserID: user, Category: "issues"}),
		"garbage":       "not-a-token",
		"overlong":      strings.Repeat("A", 5000),
	} {
		if bad == token {
			t.Fatalf("%s: the token did not change", name)
		}
		for _, method := range []string{"GET", "POST"} {
			page := visit(t, method, base+bad, "application/x-www-form-urlencoded", oneClickBody)
			if page.status != 400 || !page.isHTML() {
				t.Errorf("%s %s token: %d %s, want a 400 page\n%s", method, name, page.status, page.contentType, page.body)
			}
		}
	}
	unchanged("refused tokens")

	// RFC 8058: the request must carry List-Unsubscribe=One-Click in its body.
	for name, req := range map[string]struct{ contentType, body, query string }{
		"no body":           {"application/x-www-form-urlencoded", "", ""},
		"another value":     {"application/x-www-form-urlencoded", "List-Unsubscribe=Two-Clicks", ""},
		"only in the query": {"application/x-www-form-urlencoded", "", "?" + oneClickBody},
		"as JSON":           {"application/json", `{"List-Unsubscribe":"One-Click"}`, ""},
	} {
		page := visit(t, "POST", link+req.query, req.contentType, req.body)
		if page.status != 400 || !page.isHTML() {
			t.Errorf("POST %s: %d %s, want a 400 page\n%s", name, page.status, page.contentType, page.body)
		}
	}
	unchanged("POSTs without the one-click body")

	// A category the tenant requires cannot be unsubscribed from, even from
	// an email sent before it was required.
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{
		"required": map[string]any{"categories": map[string]any{"issues": []string{"email"}}}}))
	for _, method := range []string{"GET", "POST"} {
		page := visit(t, method, link, "application/x-www-form-urlencoded", oneClickBody)
		if page.status != 409 || !page.isHTML() || !strings.Contains(page.body, "issues") {
			t.Errorf("%s a required category's link: %d %s, want a 409 page naming issues\n%s", method, page.status, page.contentType, page.body)
		}
	}
	unchanged("unsubscribing from a required category")
	required := tn.assign(user, "REF-2")
	tn.waitSettled(required.EventID, time.Minute)
	m := onlyMail(t, required.EventID)
	if h, p := m.Header["List-Unsubscribe"], m.Header["List-Unsubscribe-Post"]; len(h)+len(p) != 0 {
		t.Errorf("a required email carries List-Unsubscribe %q, List-Unsubscribe-Post %q", h, p)
	}
	if strings.Contains(m.Text, "/unsubscribe/") || strings.Contains(m.HTML, "/unsubscribe/") {
		t.Errorf("a required email shows an unsubscribe link:\n%s\n%s", m.Text, m.HTML)
	}
}

// TestUnsubscribeDeletedUser: the link of a user deleted since the email was
// sent answers a page saying there is nothing to unsubscribe from.
func TestUnsubscribeDeletedUser(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const user = "unsub-gone-5"
	tn.putUser(user, "unsub-gone-5@example.com")
	acc := tn.assign(user, "DEL-1")
	tn.waitSettled(acc.EventID, time.Minute)
	link := unsubscribeLink(t, onlyMail(t, acc.EventID))
	tn.must(204, tn.do("DELETE", "/v1/users/"+user, nil))

	if page := oneClick(t, link); page.status != 404 || !page.isHTML() {
		t.Errorf("one-click POST for a deleted user: %d %s, want a 404 page\n%s", page.status, page.contentType, page.body)
	}
	if page := visit(t, "GET", link, "", ""); page.status >= 500 || !page.isHTML() {
		t.Errorf("GET for a deleted user: %d %s, want a page\n%s", page.status, page.contentType, page.body)
	}
	if n := count(t, `SELECT count(*) FROM users WHERE tenant_id = $1`, tn.id); n != 0 {
		t.Errorf("unsubscribing a deleted user left %d users", n)
	}
	// So is the link of a tenant that is gone.
	sealer, err := seal.New(localstack.TestSigningKey)
	if err != nil {
		t.Fatal(err)
	}
	gone := env.api.URL + "/unsubscribe/" + sealer.SealUnsubscribe(seal.Unsubscribe{TenantID: uuid.New(), UserID: user, Category: "issues"})
	if page := oneClick(t, gone); page.status != 404 || !page.isHTML() {
		t.Errorf("one-click POST for a missing tenant: %d %s, want a 404 page\n%s", page.status, page.contentType, page.body)
	}
}

// storedPreferences is the preferences document a user stored, without the
// effective view, which follows the tenant's settings.
func (tn *tenant) storedPreferences(user string) string {
	tn.t.Helper()
	p := tn.preferences(user)
	p.Effective = preferencesView{}.Effective
	b, err := json.Marshal(p)
	if err != nil {
		tn.t.Fatal(err)
	}
	return string(b)
}

// lineWith returns the line of s holding sub.
func lineWith(s, sub string) string {
	i := strings.Index(s, sub)
	start := strings.LastIndex(s[:i], "\n") + 1
	end := strings.Index(s[i:], "\n")
	if end < 0 {
		return s[start:]
	}
	return s[start : i+end]
}

// anchorText returns the text of the <a> linking to link in h, or "".
func anchorText(h, link string) string {
	i := strings.Index(h, `href="`+html.EscapeString(link)+`"`)
	if i < 0 {
		return ""
	}
	rest := h[i:]
	open := strings.Index(rest, ">")
	end := strings.Index(strings.ToLower(rest), "</a>")
	if open < 0 || end < open {
		return ""
	}
	return html.UnescapeString(rest[open+1 : end])
}
