package emitter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/approval"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/integrations"
	"github.com/heraldhq/herald/internal/netguard"
	"github.com/heraldhq/herald/stdwebhooks"
	"github.com/heraldhq/herald/workflows"
)

// CallbackPayload is the body posted to an approval's callback_url.
type CallbackPayload struct {
	Type       string            `json:"type"` // "approval.outcome"
	ApprovalID string            `json:"approval_id"`
	Status     approval.Status   `json:"status"`
	Level      int               `json:"level"`
	DecidedBy  string            `json:"decided_by,omitempty"`
	Decision   approval.Decision `json:"decision,omitempty"`
	Comment    string            `json:"comment,omitempty"`
	ClosedAt   *time.Time        `json:"closed_at,omitempty"`
}

// errCallbackRefused: the receiver or the guard refused for good.
const errCallbackRefused = "CallbackRefused"

// ApprovalCallback posts the outcome to the approval's callback_url,
// signed as Standard Webhooks with the tenant's webhook secret (and the
// previous one during a rotation). Every attempt carries the same
// webhook-id, so a receiver drops a repeat. 408, 429, 5xx and network
// failures are retried by the activity's policy; any other answer, and an
// address the SSRF guard refuses, fail at once. The URL never appears in
// an error: it may carry a client's secret.
func (a *Activities) ApprovalCallback(ctx context.Context, c workflows.ApprovalClose) error {
	q := dbq.New(a.Pool)
	row, err := a.approvalRow(ctx, q, c.TenantID, c.ID)
	if err != nil || row.CallbackUrl == "" {
		return err
	}
	secrets, err := a.webhookSecrets(ctx, q, c.TenantID)
	if err != nil {
		return err
	}
	body, err := json.Marshal(CallbackPayload{Type: approval.TypeOutcome, ApprovalID: row.ID, Status: c.State.Status, Level: c.State.Level,
		DecidedBy: c.State.DecidedBy, Decision: c.State.Decision, Comment: c.State.Comment, ClosedAt: c.State.ClosedAt})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, row.CallbackUrl, bytes.NewReader(body))
	if err != nil {
		return temporal.NewNonRetryableApplicationError("the callback URL is invalid", errCallbackRefused, nil)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Herald-Webhooks/1")
	id := "msg_" + uuid.NewSHA1(row.TenantID, []byte("approval:"+row.ID)).String()
	if err := stdwebhooks.Headers(req.Header, secrets, id, time.Now(), body); err != nil {
		return temporal.NewNonRetryableApplicationError("the tenant's webhook secret cannot sign", errCallbackRefused, nil)
	}
	res, err := a.Approvals.Callbacks.Do(req)
	if err != nil {
		if errors.Is(err, netguard.ErrForbidden) {
			return temporal.NewNonRetryableApplicationError("the callback URL's address is private or reserved, and refused", errCallbackRefused, nil)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("posting the callback: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	switch code := res.StatusCode; {
	case code >= 200 && code < 300:
		return a.history(ctx, q, row, approval.Key(row.ID, approval.Callback, 0, 0, "delivered"), approval.Callback, 0, "",
			fmt.Sprintf("delivered (HTTP %d)", code))
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("the callback URL answered HTTP %d", code)
	default:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("the callback URL answered HTTP %d", code), errCallbackRefused, nil)
	}
}

// webhookSecrets are the tenant's webhook signing secrets: the current one
// and, during a rotation, the previous.
func (a *Activities) webhookSecrets(ctx context.Context, q *dbq.Queries, tenantID uuid.UUID) ([]string, error) {
	row, err := q.GetIntegration(ctx, dbq.GetIntegrationParams{TenantID: tenantID, Kind: integrations.KindWebhook})
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("loading the webhook integration: %w", err)
	}
	if err != nil || row.Secrets == "" || a.Approvals.Links == nil {
		return nil, temporal.NewNonRetryableApplicationError(
			"the tenant has no webhook signing secret to sign the callback (PUT /v1/integrations/webhook makes one)", errCallbackRefused, nil)
	}
	raw, err := a.Approvals.Links.Open(integrations.SealPurpose(tenantID, integrations.KindWebhook), row.Secrets)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError("the tenant's webhook secret cannot be opened (was HERALD_SIGNING_KEY changed?)", errCallbackRefused, nil)
	}
	var s integrations.WebhookSecrets
	if err := json.Unmarshal(raw, &s); err != nil || s.Secret == "" {
		return nil, temporal.NewNonRetryableApplicationError("the tenant's webhook secret is unreadable", errCallbackRefused, nil)
	}
	return s.SigningKeys(time.Now()), nil
}
