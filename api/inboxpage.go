package api

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	htmltemplate "html/template"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/text/language"

	"github.com/heraldhq/herald/branding"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/locale"
)

//go:embed inboxpage/inbox.html inboxpage/inbox.js inboxpage/widget.js
var inboxPageFiles embed.FS

var (
	inboxPage = htmltemplate.Must(htmltemplate.ParseFS(inboxPageFiles, "inboxpage/inbox.html"))
	inboxJS   = mustRead("inboxpage/inbox.js")
	widgetJS  = withWidgetWords(mustRead("inboxpage/widget.js"))
)

// withWidgetWords fills in the bell's words in every language Herald's
// pages come in: the script is one cacheable file for every host page, and
// the host page picks the language (see widget.js).
func withWidgetWords(js []byte) []byte {
	words := make(map[string]map[string]string, len(locale.Pages))
	for _, l := range locale.Pages {
		words[l] = locale.Formats(language.Make(l), locale.WidgetWords)
	}
	b, err := json.Marshal(words)
	if err != nil {
		panic(err)
	}
	out := bytes.Replace(js, []byte("{} /* words */"), b, 1)
	if bytes.Equal(out, js) {
		panic("widget.js has no place for its words")
	}
	return out
}

func mustRead(name string) []byte {
	b, err := inboxPageFiles.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return b
}

// inboxPageView fills the page: the user and token its script uses, and
// the nonce that lets its own script and style run (and nothing else).
type inboxPageView struct {
	User, Token, Nonce string
	Script             htmltemplate.JS
	Brand              branding.Branding
	// Words are the script's own words in the page's language, as JSON.
	Words string
	text  pageText
}

// T writes one of the page's words in its language.
func (v inboxPageView) T(key string, args ...any) string { return v.text.T(key, args...) }

// Lang is the page's language, for <html lang>.
func (v inboxPageView) Lang() string { return v.text.Lang() }

// serveInboxPage serves GET /inbox?token=…: the notification centre for the
// token's user. Everything it needs is in the page; it talks only to this
// server. It may be framed (the widget opens it in a panel).
func (s *Server) serveInboxPage(c echo.Context) error {
	tok := c.QueryParam("token")
	t := pageTextFor(c, "")
	if s.links == nil || tok == "" {
		return inboxPageError(c, http.StatusUnauthorized, t, "Open your notifications from the app you use: this link has no token.")
	}
	in, err := s.links.OpenInbox(tok, time.Now())
	if err != nil {
		return inboxPageError(c, http.StatusUnauthorized, t, "This link has expired. Open your notifications from the app again.")
	}
	t = s.readerText(c, in.TenantID, in.UserID)
	if u, err := dbq.New(s.pool).GetUser(c.Request().Context(), dbq.GetUserParams{TenantID: in.TenantID, ID: in.UserID}); isNoRows(err) || (err == nil && !sameUser(in, u)) {
		return inboxPageError(c, http.StatusNotFound, t, "This inbox no longer exists.")
	} else if err != nil {
		return err
	}
	words, err := json.Marshal(locale.Formats(t.lang, locale.InboxScriptWords))
	if err != nil {
		return err
	}
	var n [16]byte
	_, _ = rand.Read(n[:])
	nonce := base64.RawStdEncoding.EncodeToString(n[:])
	h := c.Response().Header()
	brand := s.brandOf(c, in.TenantID)
	img := "img-src 'self' data:"
	if o := brand.LogoOrigin(); o != "" {
		img += " " + o // the tenant's logo, and nothing else from outside
	}
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'nonce-"+nonce+"'; "+
		"connect-src 'self'; "+img+"; base-uri 'none'; form-action 'none'")
	h.Set("Referrer-Policy", "no-referrer") // the token is in the URL
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(http.StatusOK)
	return inboxPage.Execute(c.Response(), inboxPageView{User: in.UserID, Token: tok, Nonce: nonce, Script: htmltemplate.JS(inboxJS), Brand: brand,
		Words: string(words), text: t})
}

func inboxPageError(c echo.Context, status int, t pageText, msg string) error {
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	return c.HTML(status, `<!doctype html><html lang="`+t.Lang()+`"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`+
		`<title>`+htmltemplate.HTMLEscapeString(t.T("Notifications"))+`</title></head><body style="font:15px/1.5 sans-serif;padding:24px;color:#1d1d1f"><p>`+
		htmltemplate.HTMLEscapeString(t.T(msg))+`</p></body></html>`)
}

// serveWidget serves GET /inbox/widget.js, the drop-in bell.
func (s *Server) serveWidget(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", widgetJS)
}
