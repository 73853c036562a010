package api

import (
	"cmp"
	"embed"
	"encoding/json"
	"errors"
	htmltemplate "html/template"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/heraldhq/herald/approval"
	"github.com/heraldhq/herald/branding"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/locale"
	"github.com/heraldhq/herald/seal"
)

// An approver's link, PUBLIC_URL/a/{token}. The token is the credential:
// no API key, no cookie. GET shows the request and two buttons and never
// decides (mail scanners and link previews follow links); POST decides
// through the workflow's update, the same path as the API, so the first
// decision wins and every later one is told who decided and when.

//go:embed approvalpage/approval.html
var approvalPageFiles embed.FS

var approvalPage = htmltemplate.Must(htmltemplate.ParseFS(approvalPageFiles, "approvalpage/approval.html"))

type approvalPageView struct {
	Heading, Message, Outcome           string
	Title, Description, Requester, Link string
	Level, Levels                       int
	Form                                bool
	// Suggest is the button chosen in a Slack message (?decision=); the
	// page only focuses it: GET never decides.
	Suggest string
	// Brand is the approval's tenant's; Herald's own before the link's
	// tenant is known.
	Brand branding.Branding
	// text is the page's language: the approver's, else their tenant's,
	// else the browser's (see pageTextFor).
	text pageText
}

// T writes one of the page's messages in its language.
func (v approvalPageView) T(key string, args ...any) string { return v.text.T(key, args...) }

// Lang is the page's language, for <html lang>.
func (v approvalPageView) Lang() string { return v.text.Lang() }

// SuggestLabel is the button the approver chose in their message.
func (v approvalPageView) SuggestLabel() string {
	if v.Suggest == string(approval.Reject) {
		return v.T("Reject")
	}
	return v.T("Approve")
}

// pageText is a page's language, and the zone its times are written in.
type pageText struct {
	lang language.Tag
	p    *message.Printer
	zone *time.Location
}

// T writes one of the page's messages in its language; a page whose
// language was never chosen is English.
func (t pageText) T(key string, args ...any) string {
	if t.p == nil {
		return locale.Printer(locale.Default).Sprintf(key, args...)
	}
	return t.p.Sprintf(key, args...)
}

// Lang is the page's language as a tag, for <html lang>.
func (t pageText) Lang() string {
	if t.p == nil {
		return locale.DefaultTag
	}
	return t.lang.String()
}

// pageTextFor picks a page's language: want in turn (a user's locale, their
// tenant's), then the browser's Accept-Language, then English.
func pageTextFor(c echo.Context, zone string, want ...string) pageText {
	lang := locale.Page(c.Request().Header.Get("Accept-Language"), want...)
	return pageText{lang: lang, p: locale.Printer(lang), zone: locale.Zone(zone)}
}

// readerText is a page's language for a user of the tenant: the
// approver of a link, the owner of an inbox.
func (s *Server) readerText(c echo.Context, tenantID uuid.UUID, user string) pageText {
	ctx := c.Request().Context()
	var tenantLocale, zone string
	if t, err := dbq.New(s.pool).GetTenant(ctx, tenantID); err == nil {
		if st, err := tenantSettings(t); err == nil {
			tenantLocale, zone = st.Locale, t.Timezone
		}
	}
	u, err := dbq.New(s.pool).GetUser(ctx, dbq.GetUserParams{TenantID: tenantID, ID: user})
	if err != nil {
		return pageTextFor(c, zone, tenantLocale)
	}
	return pageTextFor(c, cmp.Or(u.Timezone, zone), u.Locale, tenantLocale)
}

// when writes an instant for the page's reader: RFC 3339 in English, as
// the API writes it; a date and time in the reader's zone otherwise.
func (t pageText) when(at time.Time) string {
	if base, _ := t.lang.Base(); base.String() == locale.DefaultTag {
		return at.UTC().Format(time.RFC3339)
	}
	return locale.For(t.lang).DateTime(at, t.zone)
}

// closed says how a request closed, in the page's language: "approved by
// Kim at …". English keeps RFC 3339 times, as the API writes them.
func (t pageText) closed(st contract.ApprovalState) string {
	status := t.T(string(st.Status))
	at := ""
	if st.ClosedAt != nil {
		at = t.when(*st.ClosedAt)
	}
	switch {
	case st.DecidedBy != "" && at != "":
		return t.T("%[1]s by %[2]s at %[3]s", status, st.DecidedBy, at)
	case st.DecidedBy != "":
		return t.T("%[1]s by %[2]s", status, st.DecidedBy)
	case at != "":
		return t.T("%[1]s at %[2]s", status, at)
	}
	return status
}

// crossOrigin refuses a POST another site's page makes a browser send:
// Sec-Fetch-Site, or Origin against Host where a browser sends no
// Sec-Fetch-Site.
var crossOrigin = http.NewCrossOriginProtection()

func approvalReply(c echo.Context, status int, v approvalPageView) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	// The token is in the URL: no page it links to may see it.
	h.Set("Referrer-Policy", "no-referrer")
	csp := "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
	if o := v.Brand.LogoOrigin(); o != "" {
		csp += "; img-src " + o
	}
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	var b strings.Builder
	if v.text.p == nil {
		v.text = pageTextFor(c, "")
	}
	if err := approvalPage.Execute(&b, v); err != nil {
		return err
	}
	return c.HTML(status, b.String())
}

// approvalPageErrors answers a page's own failures as a page.
func approvalPageErrors(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := h(c)
		if err == nil || c.Response().Committed {
			return err
		}
		c.Logger().Error(err)
		t := pageTextFor(c, "")
		status, view := http.StatusInternalServerError, approvalPageView{Heading: t.T("Something went wrong"),
			Message: t.T("Nothing was recorded. Please open the link again in a few minutes."), text: t}
		if unavailable(err) {
			// The decision may have reached the approval and be recorded
			// later: only opening the link again tells.
			status, view = http.StatusServiceUnavailable, approvalPageView{Heading: t.T("Herald is slow to answer"),
				Message: t.T("Your decision may not have been recorded yet. Open the link again in a minute to see where the approval stands."), text: t}
		}
		if rerr := approvalReply(c, status, view); rerr != nil {
			return err
		}
		return nil
	}
}

// openApprovalLink reads the link's token and its approval, answering the
// page itself when the link cannot be used: tampered 403, expired or
// closed 410.
func (s *Server) openApprovalLink(c echo.Context) (seal.Approval, dbq.Approval, pageText, bool, error) {
	var row dbq.Approval
	t := pageTextFor(c, "")
	if s.links == nil {
		return seal.Approval{}, row, t, false, approvalReply(c, http.StatusServiceUnavailable, approvalPageView{Heading: t.T("Links are not accepted here"),
			Message: t.T("This server has no signing key."), text: t})
	}
	tok, err := s.links.OpenApproval(c.Param("token"), time.Now())
	if errors.Is(err, seal.ErrInvalid) {
		return tok, row, t, false, approvalReply(c, http.StatusForbidden, approvalPageView{Heading: t.T("This link is not valid"),
			Message: t.T("The link is damaged or incomplete. Open it again from the email or message you received."), text: t})
	}
	t = s.readerText(c, tok.TenantID, tok.Approver)
	row, rerr := dbq.New(s.pool).GetApproval(c.Request().Context(), dbq.GetApprovalParams{TenantID: tok.TenantID, ID: tok.ApprovalID})
	if isNoRows(rerr) {
		return tok, row, t, false, approvalReply(c, http.StatusGone, approvalPageView{Heading: t.T("This request no longer exists"), text: t})
	}
	if rerr != nil {
		return tok, row, t, false, rerr
	}
	if row.Status.Closed() {
		return tok, row, t, false, s.closedPage(c, row, storedState(row), t)
	}
	if errors.Is(err, seal.ErrExpired) {
		return tok, row, t, false, approvalReply(c, http.StatusGone, approvalPageView{Heading: t.T("This link has expired"),
			Message: t.T("The request is no longer waiting for a decision."), Title: row.Title, Requester: row.Requester,
			Brand: s.brandOf(c, row.TenantID), text: t})
	}
	return tok, row, t, true, nil
}

// closedPage says who decided and when: 410, the link is used up.
func (s *Server) closedPage(c echo.Context, row dbq.Approval, st contract.ApprovalState, t pageText) error {
	v := s.pageView(c, row, st, t)
	v.Heading, v.Outcome = t.T("This request is already %s", t.T(string(st.Status))), string(st.Status)
	v.Message = t.T("It was %s.", t.closed(st))
	if st.Status == approval.Expired && st.ClosedAt != nil {
		v.Message = t.T("No one decided in time; it expired at %s.", t.when(*st.ClosedAt))
	}
	return approvalReply(c, http.StatusGone, v)
}

func (s *Server) pageView(c echo.Context, row dbq.Approval, st contract.ApprovalState, t pageText) approvalPageView {
	v := approvalPageView{Title: row.Title, Description: row.Description, Requester: row.Requester, Link: row.Link, Level: st.Level,
		Brand: s.brandOf(c, row.TenantID), text: t}
	if u, err := dbq.New(s.pool).GetUser(c.Request().Context(), dbq.GetUserParams{TenantID: row.TenantID, ID: row.Requester}); err == nil && u.Name != "" {
		v.Requester = u.Name
	}
	if v.Level > 0 {
		var levels []levelRequest
		_ = json.Unmarshal(row.Levels, &levels)
		v.Levels = len(levels)
	}
	return v
}

func (s *Server) approvalLinkPage(c echo.Context) error {
	_, row, t, ok, err := s.openApprovalLink(c)
	if !ok {
		return err
	}
	st := s.approvalState(c.Request().Context(), row)
	if st.Status.Closed() {
		return s.closedPage(c, row, st, t)
	}
	v := s.pageView(c, row, st, t)
	v.Heading, v.Form = t.T("Your decision is requested"), true
	if d := approval.Decision(c.QueryParam("decision")); d.Valid() {
		v.Suggest = string(d)
	}
	return approvalReply(c, http.StatusOK, v)
}

func (s *Server) approvalLinkDecide(c echo.Context) error {
	t := pageTextFor(c, "")
	if err := crossOrigin.Check(c.Request()); err != nil {
		return approvalReply(c, http.StatusForbidden, approvalPageView{Heading: t.T("Nothing was recorded"),
			Message: t.T("The decision was sent from another site. Open the link from your email and use its buttons."), text: t})
	}
	req := c.Request()
	req.Body = http.MaxBytesReader(c.Response(), req.Body, 64<<10)
	if err := req.ParseForm(); err != nil {
		return approvalReply(c, http.StatusBadRequest, approvalPageView{Heading: t.T("Nothing was recorded"), Message: t.T("The form could not be read."), text: t})
	}
	d, comment := approval.Decision(req.PostForm.Get("decision")), strings.TrimSpace(req.PostForm.Get("comment"))
	if !d.Valid() || len(comment) > approval.MaxComment {
		return approvalReply(c, http.StatusBadRequest, approvalPageView{Heading: t.T("Nothing was recorded"),
			Message: t.T("Choose Approve or Reject; a comment may have up to %d characters.", approval.MaxComment), text: t})
	}
	tok, row, t, ok, err := s.openApprovalLink(c)
	if !ok {
		return err
	}
	st, err := s.update(req.Context(), row, contract.UpdateDecide, contract.DecideRequest{Approver: tok.Approver, Decision: d, Comment: comment})
	var closed *closedError
	switch {
	case errors.As(err, &closed):
		return s.closedPage(c, row, closed.st, t)
	case errors.Is(err, errNotApprover):
		return approvalReply(c, http.StatusForbidden, approvalPageView{Heading: t.T("Nothing was recorded"),
			Message: t.T("This link's approver is not asked to decide this request."), Brand: s.brandOf(c, row.TenantID), text: t})
	case err != nil:
		return err
	}
	v := s.pageView(c, row, st, t)
	v.Outcome = string(st.Status)
	v.Heading = map[approval.Status]string{approval.Approved: t.T("Approved"), approval.Rejected: t.T("Rejected")}[st.Status]
	v.Message = t.T("Your decision is recorded: %s. %s is told.", t.closed(st), v.Requester)
	return approvalReply(c, http.StatusOK, v)
}
