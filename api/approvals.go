package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/labstack/echo/v4"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/approval"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/intake"
	"github.com/heraldhq/herald/integrations"
	"github.com/heraldhq/herald/locale"
)

// approvalRequest is POST /v1/approvals.
type approvalRequest struct {
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Requester   string         `json:"requester"`
	Link        string         `json:"link"`
	Levels      []levelRequest `json:"levels"`
	RemindEvery string         `json:"remind_every"`
	CallbackURL string         `json:"callback_url"`
}

type levelRequest struct {
	Approvers []string `json:"approvers"`
	Timeout   string   `json:"timeout"`
}

type decisionRequest struct {
	Approver string            `json:"approver"`
	Decision approval.Decision `json:"decision"`
	Comment  string            `json:"comment"`
}

// approvalView is an approval as the API answers it: what was asked, its
// state (from the workflow while it runs, from the database once closed)
// and its history.
type approvalView struct {
	ID          string            `json:"id"`
	Status      approval.Status   `json:"status"`
	Level       int               `json:"level"`
	DecidedBy   *string           `json:"decided_by"`
	Decision    approval.Decision `json:"decision,omitempty"`
	Comment     string            `json:"comment,omitempty"`
	ClosedAt    *time.Time        `json:"closed_at"`
	Decisions   []decisionView    `json:"decisions"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Requester   string            `json:"requester"`
	Link        string            `json:"link"`
	Levels      json.RawMessage   `json:"levels"`
	RemindEvery string            `json:"remind_every"`
	CallbackURL string            `json:"callback_url"`
	CreatedAt   time.Time         `json:"created_at"`
	ExpiresAt   time.Time         `json:"expires_at"`
	// Deadline is when the current level times out, while pending.
	Deadline *time.Time               `json:"deadline,omitempty"`
	Asked    []contract.ApprovalAsked `json:"asked"`
	History  []historyView            `json:"history"`
	// WorkflowID is the approval's run in the Temporal UI.
	WorkflowID string `json:"workflow_id"`
}

type decisionView struct {
	Approver string            `json:"approver"`
	Decision approval.Decision `json:"decision"`
	Comment  string            `json:"comment"`
	At       *time.Time        `json:"at"`
}

type historyView struct {
	Kind   approval.Kind `json:"kind"`
	Level  int           `json:"level"`
	User   string        `json:"user"`
	Detail string        `json:"detail"`
	At     time.Time     `json:"at"`
}

var approvalIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:@-]{1,200}$`)

// parsed is a request checked for shape, with its durations read.
type parsedApproval struct {
	req    approvalRequest
	levels []contract.ApprovalLevel
	remind time.Duration
	total  time.Duration
	hash   []byte
}

func parseApproval(req approvalRequest) (*parsedApproval, error) {
	if !approvalIDPattern.MatchString(req.ID) {
		return nil, invalidField("id", "id is required: 1 to %d letters, digits and . _ : @ -", approval.MaxIDLen)
	}
	if req.Title == "" || len(req.Title) > approval.MaxTitleLen {
		return nil, invalidField("title", "title is required, at most %d characters", approval.MaxTitleLen)
	}
	if len(req.Description) > approval.MaxDescription {
		return nil, invalidField("description", "description must be at most %d characters", approval.MaxDescription)
	}
	if req.Requester == "" {
		return nil, invalidField("requester", "requester is required: the user ID of who asks")
	}
	if err := checkLink("link", req.Link); err != nil {
		return nil, err
	}
	if len(req.Levels) == 0 || len(req.Levels) > approval.MaxLevels {
		return nil, invalidField("levels", "levels must list 1 to %d levels of approvers", approval.MaxLevels)
	}
	p := &parsedApproval{req: req}
	for i, lv := range req.Levels {
		f := fmt.Sprintf("levels[%d]", i)
		if len(lv.Approvers) == 0 || len(lv.Approvers) > approval.MaxApprovers {
			return nil, invalidField(f+".approvers", "%s.approvers must list 1 to %d user IDs", f, approval.MaxApprovers)
		}
		for j, u := range lv.Approvers {
			if u == "" || slices.Contains(lv.Approvers[:j], u) {
				return nil, invalidField(fmt.Sprintf("%s.approvers[%d]", f, j), "%s.approvers[%d] is empty or repeated", f, j)
			}
		}
		d, err := approval.ParseDuration(lv.Timeout)
		if err != nil || d < approval.MinTimeout {
			return nil, invalidField(f+".timeout", "%s.timeout must be a duration of at least 1m, like 24h", f)
		}
		p.levels = append(p.levels, contract.ApprovalLevel{Approvers: lv.Approvers, Timeout: d})
		p.total += d
	}
	if p.total > approval.MaxTotalTimeout {
		return nil, invalidField("levels", "the levels' timeouts add up to more than 366 days")
	}
	if req.RemindEvery != "" {
		d, err := approval.ParseDuration(req.RemindEvery)
		if err != nil || d < approval.MinTimeout {
			return nil, invalidField("remind_every", "remind_every must be a duration of at least 1m, like 4h")
		}
		p.remind = d
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(b)
	p.hash = h[:]
	return p, nil
}

// postApproval stores an approval and starts its workflow. The same id with
// the same body answers the approval (200); with another body, 409.
func (s *Server) postApproval(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	var req approvalRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := parseApproval(req)
	if err != nil {
		return err
	}
	q := dbq.New(s.pool)
	if existing, err := q.GetApproval(ctx, dbq.GetApprovalParams{TenantID: tenant.ID, ID: req.ID}); err == nil {
		return s.repeatApproval(c, existing, p)
	} else if !isNoRows(err) {
		return err
	}
	if err := s.checkApprovers(c, p); err != nil {
		return err
	}
	levels, _ := json.Marshal(req.Levels)
	var row dbq.Approval
	var owed intake.Owed
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) (err error) {
		qtx := dbq.New(tx)
		row, err = qtx.InsertApproval(ctx, dbq.InsertApprovalParams{TenantID: tenant.ID, ID: req.ID, RequestHash: p.hash,
			Title: req.Title, Description: req.Description, Requester: req.Requester, Link: req.Link, Levels: levels,
			RemindEvery: req.RemindEvery, CallbackUrl: req.CallbackURL, ExpiresAt: time.Now().Add(p.total).UTC()})
		if err != nil {
			return err
		}
		// Stored with the start it owes: a start Temporal does not take now
		// is made by a worker's reconciler, so a 201 means it runs.
		owed, err = intake.Owe(ctx, qtx, approvalStart(row, p))
		return err
	})
	if isNoRows(err) { // a concurrent POST of the same id won
		existing, err := q.GetApproval(ctx, dbq.GetApprovalParams{TenantID: tenant.ID, ID: req.ID})
		if err != nil {
			return err
		}
		return s.repeatApproval(c, existing, p)
	}
	if err != nil {
		return err
	}
	_ = s.intake.Make(ctx, owed) // not taken now: the reconciler makes it
	return s.answerApproval(c, http.StatusCreated, row, nil)
}

func (s *Server) repeatApproval(c echo.Context, row dbq.Approval, p *parsedApproval) error {
	if string(row.RequestHash) != string(p.hash) {
		return newError(http.StatusConflict, "idempotency_conflict",
			"approval %q exists with a different body; use a new id for a new approval", row.ID).with("id", row.ID)
	}
	// Starting again is how a POST that stored the row but died before the
	// start is repaired; a run that exists already is left alone. A closed
	// approval is never started again: its run may have been purged by
	// retention, and a new one would remind, escalate and call back about a
	// request that was decided long ago.
	if row.Status == approval.Pending {
		ctx := c.Request().Context()
		owed, err := intake.Owe(ctx, dbq.New(s.pool), approvalStart(row, p))
		if err != nil {
			return err
		}
		_ = s.intake.Make(ctx, owed) // not taken now: the reconciler makes it
	}
	return s.answerApproval(c, http.StatusOK, row, nil)
}

// approvalStart is the start of an approval's workflow.
func approvalStart(row dbq.Approval, p *parsedApproval) intake.Start {
	return intake.Start{TenantID: row.TenantID, WorkflowID: contract.ApprovalWorkflowID(row.TenantID, row.ID),
		WorkflowType: contract.ApprovalWorkflowName, Input: contract.ApprovalInput{TenantID: row.TenantID, ID: row.ID,
			Requester: row.Requester, Levels: p.levels, RemindEvery: p.remind, Callback: row.CallbackUrl != ""}}
}

// checkApprovers refuses unknown users (400), the requester among the
// approvers (422), and a callback Herald could not sign or may not call.
func (s *Server) checkApprovers(c echo.Context, p *parsedApproval) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	ids := []string{p.req.Requester}
	for i, lv := range p.req.Levels {
		for _, u := range lv.Approvers {
			if u == p.req.Requester {
				return newError(http.StatusUnprocessableEntity, "requester_is_approver",
					"the requester %q cannot approve their own request (levels[%d])", u, i).with("user", u)
			}
			if !slices.Contains(ids, u) {
				ids = append(ids, u)
			}
		}
	}
	found, err := dbq.New(s.pool).ExistingUserIDs(ctx, dbq.ExistingUserIDsParams{TenantID: tenant.ID, Ids: ids})
	if err != nil {
		return err
	}
	if missing, n := intake.MissingIDs(ids, found); n > 0 {
		return newError(http.StatusBadRequest, "unknown_users",
			"%d user(s) do not exist; create them with PUT /v1/users/{id}", n).with("users", missing)
	}
	if p.req.CallbackURL == "" {
		return nil
	}
	if err := s.guard.CheckURL(ctx, p.req.CallbackURL); err != nil {
		return invalidField("callback_url", "callback_url: %s", err)
	}
	row, err := s.integration(c, integrations.KindWebhook)
	if err != nil {
		return err
	}
	secrets, err := openSecrets[integrations.WebhookSecrets](s, c, row, integrations.KindWebhook)
	if err != nil {
		return err
	}
	if secrets.Secret == "" {
		return newError(http.StatusUnprocessableEntity, "webhook_secret_required",
			"callbacks are signed with the tenant's webhook secret, and there is none yet; PUT /v1/integrations/webhook makes one").
			with("field", "callback_url")
	}
	return nil
}

func (s *Server) getApproval(c echo.Context) error {
	row, err := s.approvalRow(c)
	if err != nil {
		return err
	}
	return s.answerApproval(c, http.StatusOK, row, nil)
}

func (s *Server) approvalRow(c echo.Context) (dbq.Approval, error) {
	row, err := dbq.New(s.pool).GetApproval(c.Request().Context(), dbq.GetApprovalParams{TenantID: tenantOf(c).ID, ID: c.Param("id")})
	if isNoRows(err) {
		return row, notFound("approval")
	}
	return row, err
}

// approvalState is the approval's state: the workflow's while it runs,
// the stored outcome once it is closed (or when the run cannot answer).
func (s *Server) approvalState(ctx context.Context, row dbq.Approval) contract.ApprovalState {
	if !row.Status.Closed() {
		v, err := s.temporal.QueryWorkflow(ctx, contract.ApprovalWorkflowID(row.TenantID, row.ID), "", contract.QueryApproval)
		var st contract.ApprovalState
		if err == nil && v.Get(&st) == nil {
			return st
		}
		if err != nil {
			s.log.WarnContext(ctx, "querying an approval", "approval_id", row.ID, "error", err)
		}
	}
	return storedState(row)
}

func storedState(row dbq.Approval) contract.ApprovalState {
	st := contract.ApprovalState{Status: row.Status, DecidedBy: row.DecidedBy, Comment: row.Comment, ClosedAt: row.ClosedAt}
	switch row.Status {
	case approval.Approved:
		st.Decision = approval.Approve
	case approval.Rejected:
		st.Decision = approval.Reject
	}
	return st
}

func (s *Server) answerApproval(c echo.Context, status int, row dbq.Approval, st *contract.ApprovalState) error {
	ctx := c.Request().Context()
	if st == nil {
		v := s.approvalState(ctx, row)
		st = &v
	}
	hist, err := dbq.New(s.pool).ApprovalHistory(ctx, dbq.ApprovalHistoryParams{TenantID: row.TenantID, ApprovalID: row.ID})
	if err != nil {
		return err
	}
	v := approvalView{ID: row.ID, Status: st.Status, Level: st.Level, Decision: st.Decision, Comment: st.Comment,
		ClosedAt: st.ClosedAt, Decisions: []decisionView{}, Title: row.Title, Description: row.Description,
		Requester: row.Requester, Link: row.Link, Levels: rawJSON(row.Levels), RemindEvery: row.RemindEvery,
		CallbackURL: row.CallbackUrl, CreatedAt: row.CreatedAt, ExpiresAt: row.ExpiresAt, Asked: st.Asked,
		History: make([]historyView, 0, len(hist)), WorkflowID: contract.ApprovalWorkflowID(row.TenantID, row.ID)}
	if st.Status == approval.Pending {
		v.Deadline = st.Deadline
	}
	if st.DecidedBy != "" {
		v.DecidedBy = &st.DecidedBy
		v.Decisions = append(v.Decisions, decisionView{Approver: st.DecidedBy, Decision: st.Decision, Comment: st.Comment, At: st.ClosedAt})
	}
	for _, h := range hist {
		v.History = append(v.History, historyView{Kind: h.Kind, Level: int(h.Level), User: h.UserID, Detail: h.Detail, At: h.At})
		if v.Level < int(h.Level) {
			v.Level = int(h.Level) // a closed approval's level is the last one asked
		}
	}
	if v.Asked == nil {
		v.Asked = []contract.ApprovalAsked{}
		for _, h := range hist {
			if (h.Kind == approval.Asked || h.Kind == approval.Escalated) && !slices.ContainsFunc(v.Asked, func(a contract.ApprovalAsked) bool { return a.User == h.UserID }) {
				v.Asked = append(v.Asked, contract.ApprovalAsked{User: h.UserID, Level: int(h.Level)})
			}
		}
	}
	return c.JSON(status, v)
}

// Refusals of a decision or withdrawal.
var errNotApprover = errors.New("not an approver")

// closedError is an approval already closed; st names who and when.
type closedError struct{ st contract.ApprovalState }

func (e *closedError) Error() string { return "approval already " + string(e.st.Status) }

// sentence says how an approval closed: "approved by ada at 2026-…".
func closedSentence(st contract.ApprovalState) string {
	return pageText{lang: locale.Default, p: locale.Printer(locale.Default), zone: time.UTC}.closed(st)
}

// update sends an update to the approval's run. It answers the final
// state, errNotApprover, or a *closedError (also when the run has ended:
// the stored outcome answers then).
func (s *Server) update(ctx context.Context, row dbq.Approval, name string, args ...any) (contract.ApprovalState, error) {
	var st contract.ApprovalState
	if row.Status.Closed() {
		return st, &closedError{storedState(row)}
	}
	h, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: contract.ApprovalWorkflowID(row.TenantID, row.ID), UpdateName: name, Args: args,
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, &st)
	}
	if err == nil {
		return st, nil
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		switch ae.Type() {
		case contract.ErrTypeNotApprover:
			return st, errNotApprover
		case contract.ErrTypeApprovalClosed:
			var shown contract.ApprovalState
			if ae.Details(&shown) == nil {
				return st, &closedError{shown}
			}
		case contract.ErrTypeBadDecision:
			return st, invalidField("decision", "decision must be approve or reject")
		}
	}
	// The run may have ended between the read and the update: its outcome
	// is stored before it ends.
	fresh, rerr := dbq.New(s.pool).GetApproval(ctx, dbq.GetApprovalParams{TenantID: row.TenantID, ID: row.ID})
	if rerr == nil && fresh.Status.Closed() {
		return st, &closedError{storedState(fresh)}
	}
	return st, fmt.Errorf("updating approval %s: %w", row.ID, err)
}

func (s *Server) decideApproval(c echo.Context) error {
	var req decisionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Approver == "" {
		return invalidField("approver", "approver is required: the user ID of who decides")
	}
	if !req.Decision.Valid() {
		return invalidField("decision", "decision must be approve or reject")
	}
	if len(req.Comment) > approval.MaxComment {
		return invalidField("comment", "comment must be at most %d characters", approval.MaxComment)
	}
	row, err := s.approvalRow(c)
	if err != nil {
		return err
	}
	st, err := s.update(c.Request().Context(), row, contract.UpdateDecide,
		contract.DecideRequest{Approver: req.Approver, Decision: req.Decision, Comment: req.Comment})
	if err != nil {
		return apiRefusal(row.ID, req.Approver, err)
	}
	return s.answerApproval(c, http.StatusOK, row, &st)
}

func (s *Server) withdrawApproval(c echo.Context) error {
	row, err := s.approvalRow(c)
	if err != nil {
		return err
	}
	st, err := s.update(c.Request().Context(), row, contract.UpdateWithdraw)
	if err != nil {
		return apiRefusal(row.ID, "", err)
	}
	return s.answerApproval(c, http.StatusOK, row, &st)
}

func apiRefusal(id, approver string, err error) error {
	var closed *closedError
	switch {
	case errors.Is(err, errNotApprover):
		return newError(http.StatusForbidden, "not_an_approver",
			"%q is not an approver of %s, or their level has not been asked yet", approver, id).with("approver", approver)
	case errors.As(err, &closed):
		e := newError(http.StatusConflict, "already_decided", "approval %s is already %s", id, closedSentence(closed.st)).
			with("status", closed.st.Status)
		if closed.st.DecidedBy != "" {
			e = e.with("decided_by", closed.st.DecidedBy)
		}
		if closed.st.ClosedAt != nil {
			e = e.with("decided_at", closed.st.ClosedAt.UTC())
		}
		return e
	}
	return err
}
