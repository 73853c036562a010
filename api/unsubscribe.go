package api

import (
	htmltemplate "html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/locale"
	"github.com/heraldhq/herald/seal"
)

// The one-click unsubscribe link of RFC 8058. The token is the credential:
// no API key, no cookies. GET only shows a confirm button, because mail
// scanners and link previews follow links; POST (what a mail provider sends,
// and what the button sends) turns the category's email off.

const oneClickField, oneClickValue = "List-Unsubscribe", "One-Click"

type unsubscribeView struct {
	Title, Message string
	// Button labels the confirm form; without one there is no form.
	Button string
	Lang   string
}

// unsubscribeText writes the page's words in the reader's language: their
// own locale or their tenant's where the link names them, else what their
// browser asks for (see locale.Page).
type unsubscribeText struct {
	lang language.Tag
	p    *message.Printer
}

func textFor(c echo.Context, want ...string) unsubscribeText {
	lang := locale.Page(c.Request().Header.Get("Accept-Language"), want...)
	return unsubscribeText{lang: lang, p: locale.Printer(lang)}
}

// view is a page with a title and a message, each a key of the message
// catalog; args fill the message's %s (the title has none).
func (t unsubscribeText) view(title, msg string, args ...any) unsubscribeView {
	return unsubscribeView{Title: t.p.Sprintf(title), Message: t.p.Sprintf(msg, args...), Lang: t.lang.String()}
}

// spoken joins categories as a sentence does: "issues, projects and
// outreach"; in German and French by their translated names.
func (t unsubscribeText) spoken(cats []string) string {
	names := slices.Clone(cats)
	if base, _ := t.lang.Base(); base.String() != locale.DefaultTag {
		for i, c := range names {
			names[i] = locale.Category(t.lang, c)
		}
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return t.p.Sprintf("%s and %s", strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
}

var unsubscribeTemplate = htmltemplate.Must(htmltemplate.New("unsubscribe").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;background:#f5f5f7;color:#1d1d1f;margin:0}
main{max-width:480px;margin:64px auto;background:#fff;border-radius:8px;padding:32px}
h1{font-size:20px;margin:0 0 12px}p{font-size:15px;line-height:1.5}
button{background:#2f54eb;color:#fff;border:0;border-radius:6px;padding:10px 16px;font-size:15px;cursor:pointer}</style>
</head><body><main><h1>{{.Title}}</h1><p>{{.Message}}</p>
{{with .Button}}<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">{{.}}</button></form>{{end}}
</main></body></html>
`))

func unsubscribeReply(c echo.Context, status int, v unsubscribeView) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	// The token is in the URL: no page it links to may see it.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	var b strings.Builder
	if err := unsubscribeTemplate.Execute(&b, v); err != nil {
		return err
	}
	return c.HTML(status, b.String())
}

// openUnsubscribe reads the link's token and the user it names, answering
// the page for a link that cannot be used.
func (s *Server) openUnsubscribe(c echo.Context) (seal.Unsubscribe, unsubscribeText, bool, error) {
	text := textFor(c)
	u, err := s.links.OpenUnsubscribe(c.Param("token"))
	if err != nil {
		return u, text, false, unsubscribeReply(c, http.StatusBadRequest, text.view("This link is not valid",
			"The unsubscribe link is damaged or incomplete. Open it again from the email, or change your notification settings in the app."))
	}
	t, err := dbq.New(s.pool).GetTenant(c.Request().Context(), u.TenantID)
	if isNoRows(err) {
		return u, text, false, unsubscribeReply(c, http.StatusNotFound, text.view("Nothing to unsubscribe from", "This subscription no longer exists."))
	}
	if err != nil {
		return u, text, false, err
	}
	st, err := tenantSettings(t)
	if err != nil {
		return u, text, false, err
	}
	user, err := dbq.New(s.pool).GetUser(c.Request().Context(), dbq.GetUserParams{TenantID: u.TenantID, ID: u.UserID})
	if isNoRows(err) {
		text = textFor(c, st.Locale)
		return u, text, false, unsubscribeReply(c, http.StatusNotFound, text.view("Nothing to unsubscribe from", "This subscription no longer exists."))
	} else if err != nil {
		return u, text, false, err
	}
	text = textFor(c, user.Locale, st.Locale)
	// A digest's link names every category it listed; what the tenant
	// requires (now) is left on.
	var free []string
	for _, cat := range u.Categories() {
		if !slices.Contains(st.Required.Categories[cat], channel.Email) {
			free = append(free, cat)
		}
	}
	if len(free) == 0 {
		return u, text, false, unsubscribeReply(c, http.StatusConflict, text.view("These emails are required",
			"Your organisation requires %s emails, so they cannot be turned off.", text.spoken(u.Categories())))
	}
	u.Category = strings.Join(free, ",")
	return u, text, true, nil
}

// htmlErrors answers a page's own failures (the database is down) as a page,
// not as the API's JSON: a person is reading.
func htmlErrors(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := h(c)
		if err == nil || c.Response().Committed {
			return err
		}
		c.Logger().Error(err)
		if rerr := unsubscribeReply(c, http.StatusInternalServerError, textFor(c).view("Something went wrong",
			"Nothing was changed. Please try the link again in a few minutes.")); rerr != nil {
			return err
		}
		return nil
	}
}

func (s *Server) unsubscribePage(c echo.Context) error {
	u, text, ok, err := s.openUnsubscribe(c)
	if !ok {
		return err
	}
	cats := text.spoken(u.Categories())
	return unsubscribeReply(c, http.StatusOK, unsubscribeView{Lang: text.lang.String(),
		Title:   text.p.Sprintf("Unsubscribe from %s emails?", cats),
		Message: text.p.Sprintf("You will stop receiving %s emails. Notifications in the app and on other channels continue.", cats),
		Button:  text.p.Sprintf("Unsubscribe from %s emails", cats)})
}

// unsubscribe turns the category's email off; repeating it changes nothing.
func (s *Server) unsubscribe(c echo.Context) error {
	if err := c.Request().ParseForm(); err != nil || c.Request().PostForm.Get(oneClickField) != oneClickValue {
		return unsubscribeReply(c, http.StatusBadRequest, textFor(c).view("Nothing was changed",
			"An unsubscribe request must carry List-Unsubscribe=One-Click. Use the button on the unsubscribe page."))
	}
	u, text, ok, err := s.openUnsubscribe(c)
	if !ok {
		return err
	}
	var n int64
	err = pgx.BeginFunc(c.Request().Context(), s.pool, func(tx pgx.Tx) error {
		for _, cat := range u.Categories() {
			var err error
			n, err = dbq.New(tx).SetUserCategoryEmail(c.Request().Context(), dbq.SetUserCategoryEmailParams{
				TenantID: u.TenantID, ID: u.UserID, Category: cat,
			})
			if err != nil || n == 0 {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return unsubscribeReply(c, http.StatusNotFound, text.view("Nothing to unsubscribe from", "This subscription no longer exists."))
	}
	return unsubscribeReply(c, http.StatusOK, text.view("You are unsubscribed",
		"You will no longer receive %s emails. Notifications in the app and on other channels continue.", text.spoken(u.Categories())))
}
