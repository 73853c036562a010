package api

import (
	"crypto/rand"
	"embed"
	"encoding/base64"
	htmltemplate "html/template"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/db/dbq"
)

//go:embed inboxpage/inbox.html inboxpage/inbox.js inboxpage/widget.js
var inboxPageFiles embed.FS

var (
	inboxPage = htmltemplate.Must(htmltemplate.ParseFS(inboxPageFiles, "inboxpage/inbox.html"))
	inboxJS   = mustRead("inboxpage/inbox.js")
	widgetJS  = mustRead("inboxpage/widget.js")
)

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
}

// serveInboxPage serves GET /inbox?token=…: the notification centre for the
// token's user. Everything it needs is in the page; it talks only to this
// server. It may be framed (the widget opens it in a panel).
func (s *Server) serveInboxPage(c echo.Context) error {
	tok := c.QueryParam("token")
	if s.links == nil || tok == "" {
		return inboxPageError(c, http.StatusUnauthorized, "Open your notifications from the app you use: this link has no token.")
	}
	in, err := s.links.OpenInbox(tok, time.Now())
	if err != nil {
		return inboxPageError(c, http.StatusUnauthorized, "This link has expired. Open your notifications from the app again.")
	}
	if _, err := dbq.New(s.pool).GetUser(c.Request().Context(), dbq.GetUserParams{TenantID: in.TenantID, ID: in.UserID}); isNoRows(err) {
		return inboxPageError(c, http.StatusNotFound, "This inbox no longer exists.")
	} else if err != nil {
		return err
	}
	var n [16]byte
	_, _ = rand.Read(n[:])
	nonce := base64.RawStdEncoding.EncodeToString(n[:])
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'nonce-"+nonce+"'; "+
		"connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'")
	h.Set("Referrer-Policy", "no-referrer") // the token is in the URL
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(http.StatusOK)
	return inboxPage.Execute(c.Response(), inboxPageView{User: in.UserID, Token: tok, Nonce: nonce, Script: htmltemplate.JS(inboxJS)})
}

func inboxPageError(c echo.Context, status int, msg string) error {
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	return c.HTML(status, `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`+
		`<title>Notifications</title></head><body style="font:15px/1.5 sans-serif;padding:24px;color:#1d1d1f"><p>`+
		htmltemplate.HTMLEscapeString(msg)+`</p></body></html>`)
}

// serveWidget serves GET /inbox/widget.js, the drop-in bell.
func (s *Server) serveWidget(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", widgetJS)
}
