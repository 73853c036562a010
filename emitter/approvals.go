package emitter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/approval"
	"github.com/heraldhq/herald/audience"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/intake"
	"github.com/heraldhq/herald/personal"
	"github.com/heraldhq/herald/seal"
)

// ApprovalDeps are the approval activities' own dependencies.
type ApprovalDeps struct {
	// Links opens the tenant's webhook secrets that sign callbacks.
	// Approvers' links are minted where they are sent, not here.
	Links *seal.Sealer
	// Callbacks posts outcomes to clients' callback URLs; it must dial
	// through the SSRF guard.
	Callbacks *http.Client
	Log       *slog.Logger
}

// errTypeApprovalGone: the approval's row was deleted (its tenant was).
const errTypeApprovalGone = "ApprovalGone"

func (a *Activities) approvalRow(ctx context.Context, q *dbq.Queries, tenantID [16]byte, id string) (dbq.Approval, error) {
	row, err := q.GetApproval(ctx, dbq.GetApprovalParams{TenantID: tenantID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return row, temporal.NewNonRetryableApplicationError("approval "+id+" no longer exists", errTypeApprovalGone, err)
	}
	if err != nil {
		return row, fmt.Errorf("loading approval %s: %w", id, err)
	}
	return row, nil
}

// ApprovalNotice emits one notice of an approval. Approvers get one event
// each, carrying a description of their own link (never the link: each
// send to them mints it, so no token is stored or enters workflow
// history, and none reaches a Slack channel or the tenant webhook). Every
// event's key derives from the approval, kind, level, reminder and user,
// so a retry submits the same events and nobody is told twice. A user
// deleted since is skipped; the others are still told.
func (a *Activities) ApprovalNotice(ctx context.Context, n contract.ApprovalNotice) (contract.ApprovalNoticeResult, error) {
	q := dbq.New(a.Pool)
	row, err := a.approvalRow(ctx, q, n.TenantID, n.ID)
	if err != nil {
		return contract.ApprovalNoticeResult{}, err
	}
	data := map[string]any{
		"approval_id": row.ID, "title": row.Title, "description": row.Description,
		"requester": a.displayName(ctx, q, row), "level": n.Level,
	}
	if n.State != nil {
		data["outcome"] = string(n.State.Status)
		if n.State.DecidedBy != "" {
			data["decided_by"] = n.State.DecidedBy
		}
		if n.State.Comment != "" {
			data["comment"] = n.State.Comment
		}
	}
	switch n.Kind {
	case approval.Asked, approval.Reminded, approval.Escalated:
		typ := map[approval.Kind]string{approval.Asked: approval.TypeRequested, approval.Reminded: approval.TypeReminder,
			approval.Escalated: approval.TypeEscalated}[n.Kind]
		_, err := a.perApprover(ctx, q, row, n, n.Users, typ, data, n.Kind == approval.Escalated)
		return contract.ApprovalNoticeResult{}, err
	case approval.ExecutiveAlert:
		if n.Decide {
			execs, err := a.executives(ctx, q, row)
			if err != nil || len(execs) == 0 {
				return contract.ApprovalNoticeResult{}, err
			}
			told, err := a.perApprover(ctx, q, row, n, execs, approval.TypeExecutiveAlert, data, true)
			return contract.ApprovalNoticeResult{Users: told}, err
		}
		// Runs from before alert executives once the approval has expired:
		// nothing is left to decide, so the alert carries no link of theirs.
		key := approval.Key(row.ID, n.Kind, n.Level, 0, "role:executive")
		_, err := a.Intake.Submit(ctx, n.TenantID, intake.Request{Type: approval.TypeExecutiveAlert,
			Recipients: &intake.Recipients{Roles: n.Roles}, Data: data, IdempotencyKey: key, Urgent: true, Link: row.Link})
		if err != nil {
			return contract.ApprovalNoticeResult{}, refusal(err)
		}
		return contract.ApprovalNoticeResult{}, a.history(ctx, q, row, key, n.Kind, n.Level, "role:executive", "")
	case approval.Decided, approval.ExpiredKind, approval.WithdrawnKind:
		var refused []string
		for _, u := range n.Users {
			_, err := a.Intake.Submit(ctx, n.TenantID, intake.Request{Type: approval.TypeOutcome,
				Recipients: &intake.Recipients{Users: []string{u}}, Data: data,
				IdempotencyKey: approval.Key(row.ID, "outcome", 0, 0, u), Link: row.Link})
			if err := refusal(err); err != nil {
				if !temporal.IsApplicationError(err) {
					return contract.ApprovalNoticeResult{}, err
				}
				refused = append(refused, u)
			}
		}
		if len(refused) > 0 {
			a.log().WarnContext(ctx, "approval outcome not told", "approval_id", row.ID, "users", refused)
		}
		return contract.ApprovalNoticeResult{}, nil
	}
	return contract.ApprovalNoticeResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("unknown approval notice %q", n.Kind), contract.ErrTypeEmitRefused, nil)
}

// maxExecutives bounds an executive alert: executives are a handful, and
// each is an event of their own.
const maxExecutives = approval.MaxApprovers

// executives are the tenant's executives who may be alerted with a link to
// decide: the first maxExecutives by ID, never the requester.
func (a *Activities) executives(ctx context.Context, q *dbq.Queries, row dbq.Approval) ([]string, error) {
	users, err := q.RoleRecipientsPage(ctx, dbq.RoleRecipientsPageParams{TenantID: row.TenantID,
		Roles: []string{string(audience.Executive)}, AfterID: "", PageSize: maxExecutives + 1})
	if err != nil {
		return nil, fmt.Errorf("listing executives: %w", err)
	}
	var out []string
	for _, u := range users {
		if u.ID != row.Requester && len(out) < maxExecutives {
			out = append(out, u.ID)
		}
	}
	if len(users) > maxExecutives {
		a.log().WarnContext(ctx, "more executives than an alert reaches; the first by ID were alerted", "approval_id", row.ID, "alerted", len(out))
	}
	return out, nil
}

// perApprover submits one event per user, each describing the user's own
// link, and returns those told.
func (a *Activities) perApprover(ctx context.Context, q *dbq.Queries, row dbq.Approval, n contract.ApprovalNotice, users []string,
	typ string, data map[string]any, urgent bool) ([]string, error) {
	var told, refused []string
	for _, u := range users {
		key := approval.Key(row.ID, n.Kind, n.Level, n.N, u)
		_, err := a.Intake.Submit(ctx, row.TenantID, intake.Request{Type: typ, Recipients: &intake.Recipients{Users: []string{u}},
			Data: data, IdempotencyKey: key, Urgent: urgent, Link: row.Link, Herald: true,
			Personal: &personal.Link{Kind: personal.KindApproval, ApprovalID: row.ID, Approver: u, Expires: n.Expires}})
		if conflict(err) {
			// The key names this very notice: an earlier release submitted
			// it, with the approver's link where its description is now.
			err = nil
		}
		if err := refusal(err); err != nil {
			if !temporal.IsApplicationError(err) {
				return told, err
			}
			refused = append(refused, u)
			continue
		}
		if err := a.history(ctx, q, row, key, n.Kind, n.Level, u, ""); err != nil {
			return told, err
		}
		told = append(told, u)
	}
	if len(refused) == len(users) && len(refused) > 0 {
		return told, temporal.NewNonRetryableApplicationError(fmt.Sprintf("no one of level %d could be told (deleted since?)", n.Level), contract.ErrTypeEmitRefused, nil)
	}
	if len(refused) > 0 {
		a.log().WarnContext(ctx, "approvers not told", "approval_id", row.ID, "level", n.Level, "users", refused)
	}
	return told, nil
}

// conflict reports intake's idempotency_conflict.
func conflict(err error) bool {
	var ie *intake.Error
	return errors.As(err, &ie) && ie.Code == "idempotency_conflict"
}

func (a *Activities) history(ctx context.Context, q *dbq.Queries, row dbq.Approval, key string, kind approval.Kind, level int, user, detail string) error {
	if err := q.InsertApprovalHistory(ctx, dbq.InsertApprovalHistoryParams{TenantID: row.TenantID, ApprovalID: row.ID, Key: key,
		Kind: kind, Level: int32(level), UserID: user, Detail: detail, At: nowUTC()}); err != nil {
		return fmt.Errorf("recording approval history: %w", err)
	}
	return nil
}

// displayName is the requester's name, or their ID.
func (a *Activities) displayName(ctx context.Context, q *dbq.Queries, row dbq.Approval) string {
	u, err := q.GetUser(ctx, dbq.GetUserParams{TenantID: row.TenantID, ID: row.Requester})
	if err == nil && u.Name != "" {
		return u.Name
	}
	return row.Requester
}

// CloseApproval stores an approval's outcome and its history row. The
// first outcome stays: a retry, or a later one, changes nothing.
func (a *Activities) CloseApproval(ctx context.Context, c contract.ApprovalClose) error {
	return pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error {
		q := dbq.New(tx)
		row, err := q.CloseApproval(ctx, dbq.CloseApprovalParams{TenantID: c.TenantID, ID: c.ID, Status: c.State.Status,
			DecidedBy: c.State.DecidedBy, Comment: c.State.Comment, ClosedAt: c.State.ClosedAt})
		if errors.Is(err, pgx.ErrNoRows) {
			_, err = a.approvalRow(ctx, q, c.TenantID, c.ID)
			return err // closed already (a retry), or gone
		}
		if err != nil {
			return fmt.Errorf("closing approval %s: %w", c.ID, err)
		}
		kind := map[approval.Status]approval.Kind{approval.Approved: approval.Decided, approval.Rejected: approval.Decided,
			approval.Expired: approval.ExpiredKind, approval.Withdrawn: approval.WithdrawnKind}[c.State.Status]
		detail := string(c.State.Decision)
		if c.State.Comment != "" {
			detail += ": " + c.State.Comment
		}
		at := nowUTC()
		if c.State.ClosedAt != nil {
			at = *c.State.ClosedAt
		}
		return q.InsertApprovalHistory(ctx, dbq.InsertApprovalHistoryParams{TenantID: row.TenantID, ApprovalID: row.ID,
			Key: approval.Key(row.ID, kind, c.State.Level, 0, c.State.DecidedBy), Kind: kind, Level: int32(c.State.Level),
			UserID: c.State.DecidedBy, Detail: detail, At: at})
	})
}

// ApprovalHistory stores one history row (a callback that failed for good).
func (a *Activities) ApprovalHistory(ctx context.Context, e contract.ApprovalEntry) error {
	return dbq.New(a.Pool).InsertApprovalHistory(ctx, dbq.InsertApprovalHistoryParams{TenantID: e.TenantID, ApprovalID: e.ID,
		Key: e.Key, Kind: e.Kind, Detail: e.Detail, At: e.At})
}

func (a *Activities) log() *slog.Logger {
	if a.Approvals.Log != nil {
		return a.Approvals.Log
	}
	return slog.Default()
}

func nowUTC() time.Time { return time.Now().UTC() }
