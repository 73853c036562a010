package api

import (
	"embed"
	"encoding/json"
	"errors"
	htmltemplate "html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/approval"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/seal"
	"github.com/heraldhq/herald/workflows"
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
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	var b strings.Builder
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
		if rerr := approvalReply(c, http.StatusInternalServerError, approvalPageView{Heading: "Something went wrong",
			Message: "Nothing was recorded. Please open the link again in a few minutes."}); rerr != nil {
			return err
		}
		return nil
	}
}

// openApprovalLink reads the link's token and its approval, answering the
// page itself when the link cannot be used: tampered 403, expired or
// closed 410.
func (s *Server) openApprovalLink(c echo.Context) (seal.Approval, dbq.Approval, bool, error) {
	var row dbq.Approval
	if s.links == nil {
		return seal.Approval{}, row, false, approvalReply(c, http.StatusServiceUnavailable, approvalPageView{Heading: "Links are not accepted here",
			Message: "This server has no signing key."})
	}
	tok, err := s.links.OpenApproval(c.Param("token"), time.Now())
	if errors.Is(err, seal.ErrInvalid) {
		return tok, row, false, approvalReply(c, http.StatusForbidden, approvalPageView{Heading: "This link is not valid",
			Message: "The link is damaged or incomplete. Open it again from the email or message you received."})
	}
	row, rerr := dbq.New(s.pool).GetApproval(c.Request().Context(), dbq.GetApprovalParams{TenantID: tok.TenantID, ID: tok.ApprovalID})
	if isNoRows(rerr) {
		return tok, row, false, approvalReply(c, http.StatusGone, approvalPageView{Heading: "This request no longer exists"})
	}
	if rerr != nil {
		return tok, row, false, rerr
	}
	if row.Status.Closed() {
		return tok, row, false, s.closedPage(c, row, storedState(row))
	}
	if errors.Is(err, seal.ErrExpired) {
		return tok, row, false, approvalReply(c, http.StatusGone, approvalPageView{Heading: "This link has expired",
			Message: "The request is no longer waiting for a decision.", Title: row.Title, Requester: row.Requester})
	}
	return tok, row, true, nil
}

// closedPage says who decided and when: 410, the link is used up.
func (s *Server) closedPage(c echo.Context, row dbq.Approval, st workflows.ApprovalState) error {
	v := s.pageView(c, row, st)
	v.Heading, v.Outcome = "This request is already "+string(st.Status), string(st.Status)
	v.Message = "It was " + closedSentence(st) + "."
	if st.Status == approval.Expired && st.ClosedAt != nil {
		v.Message = "No one decided in time; it expired at " + st.ClosedAt.UTC().Format(time.RFC3339) + "."
	}
	return approvalReply(c, http.StatusGone, v)
}

func (s *Server) pageView(c echo.Context, row dbq.Approval, st workflows.ApprovalState) approvalPageView {
	v := approvalPageView{Title: row.Title, Description: row.Description, Requester: row.Requester, Link: row.Link, Level: st.Level}
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
	_, row, ok, err := s.openApprovalLink(c)
	if !ok {
		return err
	}
	st := s.approvalState(c.Request().Context(), row)
	if st.Status.Closed() {
		return s.closedPage(c, row, st)
	}
	v := s.pageView(c, row, st)
	v.Heading, v.Form = "Your decision is requested", true
	if d := approval.Decision(c.QueryParam("decision")); d.Valid() {
		v.Suggest = string(d)
	}
	return approvalReply(c, http.StatusOK, v)
}

func (s *Server) approvalLinkDecide(c echo.Context) error {
	if err := crossOrigin.Check(c.Request()); err != nil {
		return approvalReply(c, http.StatusForbidden, approvalPageView{Heading: "Nothing was recorded",
			Message: "The decision was sent from another site. Open the link from your email and use its buttons."})
	}
	req := c.Request()
	req.Body = http.MaxBytesReader(c.Response(), req.Body, 64<<10)
	if err := req.ParseForm(); err != nil {
		return approvalReply(c, http.StatusBadRequest, approvalPageView{Heading: "Nothing was recorded", Message: "The form could not be read."})
	}
	d, comment := approval.Decision(req.PostForm.Get("decision")), strings.TrimSpace(req.PostForm.Get("comment"))
	if !d.Valid() || len(comment) > approval.MaxComment {
		return approvalReply(c, http.StatusBadRequest, approvalPageView{Heading: "Nothing was recorded",
			Message: "Choose Approve or Reject; a comment may have up to " + strconv.Itoa(approval.MaxComment) + " characters."})
	}
	tok, row, ok, err := s.openApprovalLink(c)
	if !ok {
		return err
	}
	st, err := s.update(req.Context(), row, workflows.UpdateDecide, workflows.DecideRequest{Approver: tok.Approver, Decision: d, Comment: comment})
	var closed *closedError
	switch {
	case errors.As(err, &closed):
		return s.closedPage(c, row, closed.st)
	case errors.Is(err, errNotApprover):
		return approvalReply(c, http.StatusForbidden, approvalPageView{Heading: "Nothing was recorded",
			Message: "This link's approver is not asked to decide this request."})
	case err != nil:
		return err
	}
	v := s.pageView(c, row, st)
	v.Outcome = string(st.Status)
	v.Heading = map[approval.Status]string{approval.Approved: "Approved", approval.Rejected: "Rejected"}[st.Status]
	v.Message = "Your decision is recorded: " + closedSentence(st) + ". " + v.Requester + " is told."
	return approvalReply(c, http.StatusOK, v)
}
