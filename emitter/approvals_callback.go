package emitter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/approval"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/integrations"
	"github.com/heraldhq/herald/internal/netguard"
	"github.com/heraldhq/herald/stdwebhooks"
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

// errTypeCallbackRefused: the receiver or the guard refused for good.
const errTypeCallbackRefused = "CallbackRefused"

// ApprovalCallback posts the outcome to the approval's callback_url,
// signed as Standard Webhooks with the tenant's webhook secret (and the
// previous one during a rotation). Every attempt carries the same
// webhook-id, so a receiver drops a repeat. 408, 429, 5xx and network
// failures are retried by the activity's policy; any other answer, and an
// address the SSRF guard refuses, fail at once. The URL never appears in
// an error: it may carry a client's secret.
func (a *Activities) ApprovalCallback(ctx context.Context, c contract.ApprovalClose) error {
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
	id := "msg_" + uuid.NewSHA1(row.TenantID, []byte("approval:"+row.ID)).String()
	code, err := stdwebhooks.Post(ctx, a.Approvals.Callbacks, row.CallbackUrl, id, secrets, body)
	if err != nil {
		switch {
		case errors.Is(err, stdwebhooks.ErrBadURL):
			return temporal.NewNonRetryableApplicationError("the callback URL is invalid", errTypeCallbackRefused, nil)
		case errors.Is(err, stdwebhooks.ErrBadSecret):
			return temporal.NewNonRetryableApplicationError("the tenant's webhook secret cannot sign", errTypeCallbackRefused, nil)
		case errors.Is(err, netguard.ErrForbidden):
			return temporal.NewNonRetryableApplicationError("the callback URL's address is private or reserved, and refused", errTypeCallbackRefused, nil)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("posting the callback: %w", err)
	}
	switch {
	case code >= 200 && code < 300:
		return a.history(ctx, q, row, approval.Key(row.ID, approval.Callback, 0, 0, "delivered"), approval.Callback, 0, "",
			fmt.Sprintf("delivered (HTTP %d)", code))
	case stdwebhooks.Retryable(code):
		return fmt.Errorf("the callback URL answered HTTP %d", code)
	default:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("the callback URL answered HTTP %d", code), errTypeCallbackRefused, nil)
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
			"the tenant has no webhook signing secret to sign the callback (PUT /v1/integrations/webhook makes one)", errTypeCallbackRefused, nil)
	}
	keys, err := integrations.WebhookKeys(a.Approvals.Links, integrations.SealPurpose(tenantID, integrations.KindWebhook), row.Secrets, time.Now())
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError("the tenant's webhook secret: "+err.Error(), errTypeCallbackRefused, nil)
	}
	return keys, nil
}
