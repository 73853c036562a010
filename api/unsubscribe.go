package api

import (
	htmltemplate "html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/seal"
)

// The one-click unsubscribe link of RFC 8058. The token is the credential:
// no API key, no cookies. GET only shows a confirm button, because mail
// scanners and link previews follow links; POST (what a mail provider sends,
// and what the button sends) turns the category's email off.

const oneClickField, oneClickValue = "List-Unsubscribe", "One-Click"

type unsubscribeView struct {
	Title, Message, Category string
	Confirm                  bool
}

var unsubscribeTemplate = htmltemplate.Must(htmltemplate.New("unsubscribe").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;background:#f5f5f7;color:#1d1d1f;margin:0}
main{max-width:480px;margin:64px auto;background:#fff;border-radius:8px;padding:32px}
h1{font-size:20px;margin:0 0 12px}p{font-size:15px;line-height:1.5}
button{background:#2f54eb;color:#fff;border:0;border-radius:6px;padding:10px 16px;font-size:15px;cursor:pointer}</style>
</head><body><main><h1>{{.Title}}</h1><p>{{.Message}}</p>
{{if .Confirm}}<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe from {{.Category}} emails</button></form>{{end}}
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

var invalidLink = unsubscribeView{
	Title:   "This link is not valid",
	Message: "The unsubscribe link is damaged or incomplete. Open it again from the email, or change your notification settings in the app.",
}

// openUnsubscribe reads the link's token and the user it names, answering
// the page for a link that cannot be used.
func (s *Server) openUnsubscribe(c echo.Context) (seal.Unsubscribe, bool, error) {
	u, err := s.links.OpenUnsubscribe(c.Param("token"))
	if err != nil {
		return u, false, unsubscribeReply(c, http.StatusBadRequest, invalidLink)
	}
	t, err := dbq.New(s.pool).GetTenant(c.Request().Context(), u.TenantID)
	if isNoRows(err) {
		return u, false, unsubscribeReply(c, http.StatusNotFound, unsubscribeView{Title: "Nothing to unsubscribe from",
			Message: "This subscription no longer exists."})
	}
	if err != nil {
		return u, false, err
	}
	st, err := tenantSettings(t)
	if err != nil {
		return u, false, err
	}
	if _, err := dbq.New(s.pool).GetUser(c.Request().Context(), dbq.GetUserParams{TenantID: u.TenantID, ID: u.UserID}); isNoRows(err) {
		return u, false, unsubscribeReply(c, http.StatusNotFound, unsubscribeView{Title: "Nothing to unsubscribe from",
			Message: "This subscription no longer exists."})
	} else if err != nil {
		return u, false, err
	}
	// A digest's link names every category it listed; what the tenant
	// requires (now) is left on.
	var free []string
	for _, cat := range u.Categories() {
		if !slices.Contains(st.Required.Categories[cat], channel.Email) {
			free = append(free, cat)
		}
	}
	if len(free) == 0 {
		return u, false, unsubscribeReply(c, http.StatusConflict, unsubscribeView{Title: "These emails are required",
			Message: "Your organisation requires " + spoken(u.Categories()) + " emails, so they cannot be turned off."})
	}
	u.Category = strings.Join(free, ",")
	return u, true, nil
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
		if rerr := unsubscribeReply(c, http.StatusInternalServerError, unsubscribeView{Title: "Something went wrong",
			Message: "Nothing was changed. Please try the link again in a few minutes."}); rerr != nil {
			return err
		}
		return nil
	}
}

func (s *Server) unsubscribePage(c echo.Context) error {
	u, ok, err := s.openUnsubscribe(c)
	if !ok {
		return err
	}
	cats := spoken(u.Categories())
	return unsubscribeReply(c, http.StatusOK, unsubscribeView{Title: "Unsubscribe from " + cats + " emails?", Confirm: true, Category: cats,
		Message: "You will stop receiving " + cats + " emails. Notifications in the app and on other channels continue."})
}

// unsubscribe turns the category's email off; repeating it changes nothing.
func (s *Server) unsubscribe(c echo.Context) error {
	if err := c.Request().ParseForm(); err != nil || c.Request().PostForm.Get(oneClickField) != oneClickValue {
		return unsubscribeReply(c, http.StatusBadRequest, unsubscribeView{Title: "Nothing was changed",
			Message: "An unsubscribe request must carry List-Unsubscribe=One-Click. Use the button on the unsubscribe page."})
	}
	u, ok, err := s.openUnsubscribe(c)
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
		return unsubscribeReply(c, http.StatusNotFound, unsubscribeView{Title: "Nothing to unsubscribe from",
			Message: "This subscription no longer exists."})
	}
	return unsubscribeReply(c, http.StatusOK, unsubscribeView{Title: "You are unsubscribed",
		Message: "You will no longer receive " + spoken(u.Categories()) + " emails. Notifications in the app and on other channels continue."})
}

// spoken joins categories as a sentence does: "issues, projects and outreach".
func spoken(cats []string) string {
	if len(cats) < 2 {
		return strings.Join(cats, "")
	}
	return strings.Join(cats[:len(cats)-1], ", ") + " and " + cats[len(cats)-1]
}
