package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// String returns a pointer to s, for the optional fields of requests.
func String(s string) *string { return &s }

// Bool returns a pointer to b.
func Bool(b bool) *bool { return &b }

// Int returns a pointer to n.
func Int(n int) *int { return &n }

// RoleOf returns a pointer to r.
func RoleOf(r Role) *Role { return &r }

// withNulls sends fields as JSON null beside body's own: in a PUT, a field
// left out keeps its stored value and null resets it to its default.
func withNulls(body any, fields []string) (any, error) {
	if len(fields) == 0 {
		return body, nil
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, f := range fields {
		m[f] = json.RawMessage("null")
	}
	return m, nil
}

func (c *Client) put(ctx context.Context, r Route, args []string, body any, reset []string, out any) error {
	body, err := withNulls(body, reset)
	if err != nil {
		return err
	}
	return c.do(ctx, call{route: r, args: args, body: body}, out)
}

// Health calls GET /healthz: the API process is up.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var out Health
	return &out, c.do(ctx, call{route: rHealthz}, &out)
}

// Ready calls GET /readyz: PostgreSQL and Temporal answer. When one does
// not, the *Error is 503 not_ready and Details["checks"] says which; it is
// never retried.
func (c *Client) Ready(ctx context.Context) (*Readiness, error) {
	var out Readiness
	return &out, c.do(ctx, call{route: rReadyz}, &out)
}

// OpenAPI returns the OpenAPI document the server serves.
func (c *Client) OpenAPI(ctx context.Context) (json.RawMessage, error) {
	var out json.RawMessage
	return out, c.do(ctx, call{route: rOpenAPI}, &out)
}

// Metrics returns the server's Prometheus metrics, as text.
func (c *Client) Metrics(ctx context.Context) (string, error) {
	var out string
	return out, c.do(ctx, call{route: rMetrics, header: http.Header{"Accept": {"text/plain"}}}, &out)
}

// PutUser creates or updates user id; a nil field keeps its stored value,
// and the fields named in reset are sent as null.
func (c *Client) PutUser(ctx context.Context, id string, in UserInput, reset ...string) (*User, error) {
	var out User
	return &out, c.put(ctx, rPutUser, []string{id}, in, reset, &out)
}

// GetUser reads user id.
func (c *Client) GetUser(ctx context.Context, id string) (*User, error) {
	var out User
	return &out, c.do(ctx, call{route: rGetUser, args: []string{id}}, &out)
}

// DeleteUser removes user id; its pending deliveries are cancelled.
func (c *Client) DeleteUser(ctx context.Context, id string) error {
	return c.do(ctx, call{route: rDelUser, args: []string{id}}, nil)
}

// GetPreferences reads user id's preference document and the effective
// preferences.
func (c *Client) GetPreferences(ctx context.Context, id string) (*Preferences, error) {
	var out Preferences
	return &out, c.do(ctx, call{route: rGetPrefs, args: []string{id}}, &out)
}

// PutPreferences stores user id's preference document. Its answer carries a
// webhook channel's signing secret once, when the URL is first set or the
// secret rotated, so the client never repeats it on its own.
func (c *Client) PutPreferences(ctx context.Context, id string, doc PreferenceDocument, reset ...string) (*Preferences, error) {
	var out Preferences
	return &out, c.put(ctx, rPutPrefs, []string{id}, doc, reset, &out)
}

// GetTenantSettings reads the tenant's settings.
func (c *Client) GetTenantSettings(ctx context.Context) (*TenantSettings, error) {
	var out TenantSettings
	return &out, c.do(ctx, call{route: rGetSet}, &out)
}

// PutTenantSettings changes the tenant's settings: a nil field keeps its
// stored value, and the fields named in reset (such as "timezone") go back
// to their defaults.
func (c *Client) PutTenantSettings(ctx context.Context, in TenantSettings, reset ...string) (*TenantSettings, error) {
	var out TenantSettings
	return &out, c.put(ctx, rPutSet, nil, in, reset, &out)
}

// GetBranding reads the tenant's branding, defaults included.
func (c *Client) GetBranding(ctx context.Context) (*Branding, error) {
	var out Branding
	return &out, c.do(ctx, call{route: rGetBrand}, &out)
}

// PutBranding changes the tenant's branding: a nil field keeps its stored
// value, and the fields named in reset (such as "logo_url") go back to
// their defaults.
func (c *Client) PutBranding(ctx context.Context, in BrandingInput, reset ...string) (*Branding, error) {
	var out Branding
	return &out, c.put(ctx, rPutBrand, nil, in, reset, &out)
}

// GetSlackIntegration reads the tenant's Slack setup.
func (c *Client) GetSlackIntegration(ctx context.Context) (*SlackIntegration, error) {
	var out SlackIntegration
	return &out, c.do(ctx, call{route: rGetSlack}, &out)
}

// PutSlackIntegration changes the tenant's Slack setup.
func (c *Client) PutSlackIntegration(ctx context.Context, in SlackIntegrationInput, reset ...string) (*SlackIntegration, error) {
	var out SlackIntegration
	return &out, c.put(ctx, rPutSlack, nil, in, reset, &out)
}

// GetWebhookIntegration reads the tenant's webhook (its secret is never
// shown again).
func (c *Client) GetWebhookIntegration(ctx context.Context) (*WebhookIntegration, error) {
	var out WebhookIntegration
	return &out, c.do(ctx, call{route: rGetHook}, &out)
}

// PutWebhookIntegration changes the tenant's webhook. Its answer carries the
// signing secret once, so the client never repeats it on its own.
func (c *Client) PutWebhookIntegration(ctx context.Context, in WebhookIntegrationInput, reset ...string) (*WebhookIntegration, error) {
	var out WebhookIntegration
	return &out, c.put(ctx, rPutHook, nil, in, reset, &out)
}

// PageOptions pages a list; zero values are the server's defaults.
type PageOptions struct {
	Limit  int
	Cursor string
}

func (p PageOptions) query() url.Values {
	q := url.Values{}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	return q
}

// ListEventTypes pages the event catalog.
func (c *Client) ListEventTypes(ctx context.Context, page PageOptions) (*EventTypeList, error) {
	var out EventTypeList
	return &out, c.do(ctx, call{route: rListET, query: page.query()}, &out)
}

// PutEventType defines or changes event type key.
func (c *Client) PutEventType(ctx context.Context, key string, in EventTypeInput, reset ...string) (*EventType, error) {
	var out EventType
	return &out, c.put(ctx, rPutET, []string{key}, in, reset, &out)
}

// PreviewEventType renders what an event of type key would deliver on each
// channel, for in.UserID or a sample recipient, and sends nothing.
func (c *Client) PreviewEventType(ctx context.Context, key string, in PreviewInput) (*Preview, error) {
	var out Preview
	return &out, c.do(ctx, call{route: rPreviewET, args: []string{key}, body: in}, &out)
}

// ListEventTypeVersions pages the stored definitions of event type key,
// newest first (the first is the one in force).
func (c *Client) ListEventTypeVersions(ctx context.Context, key string, page PageOptions) (*EventTypeVersionPage, error) {
	var out EventTypeVersionPage
	return &out, c.do(ctx, call{route: rListETVersions, args: []string{key}, query: page.query()}, &out)
}

// RestoreEventTypeVersion PUTs version v of event type key back: every
// field v did not set is reset, so the type is again what it was then.
func (c *Client) RestoreEventTypeVersion(ctx context.Context, key string, v EventTypeVersion) (*EventType, error) {
	d := v.Definition
	var reset []string
	for field, unset := range map[string]bool{
		"category": d.Category == "", "title": d.Title == "", "urgent": d.Urgent == nil,
		"default_recipients": d.DefaultRecipients == "", "channels": d.Channels == nil,
		"templates": d.Templates == nil, "required_data": d.RequiredData == nil,
		"throttle": d.Throttle == nil,
	} {
		if unset {
			reset = append(reset, field)
		}
	}
	slices.Sort(reset)
	return c.PutEventType(ctx, key, d, reset...)
}

// ListChannels lists every delivery channel Herald knows, in planning
// order; one coming soon (push) is listed with Available false and cannot
// be chosen yet.
func (c *Client) ListChannels(ctx context.Context) (*ChannelList, error) {
	var out ChannelList
	return &out, c.do(ctx, call{route: rListChan}, &out)
}

// PostEvent posts an event. Its idempotency key is in.IdempotencyKey, or a
// random one when that is empty; the client's own retries of this call send
// the same key, so Herald starts the event once. To make a repeat of the
// call itself safe (after a crash, say), set IdempotencyKey from something
// of your own, such as the ID of the change that caused the event.
func (c *Client) PostEvent(ctx context.Context, in EventRequest) (*EventAccepted, error) {
	key := in.IdempotencyKey
	if key == "" {
		var err error
		if key, err = newIdempotencyKey(); err != nil {
			return nil, err
		}
	}
	var out EventAccepted
	return &out, c.do(ctx, call{route: rPostEvent, body: in, header: http.Header{"Idempotency-Key": {key}}}, &out)
}

// GetEvent reads an event, its workflow's status and (up to 100 of) its
// deliveries.
func (c *Client) GetEvent(ctx context.Context, id string) (*Event, error) {
	var out Event
	return &out, c.do(ctx, call{route: rGetEvent, args: []string{id}}, &out)
}

// CancelEvent cancels what an event has not delivered yet.
func (c *Client) CancelEvent(ctx context.Context, id string) (*CancelResult, error) {
	var out CancelResult
	return &out, c.do(ctx, call{route: rCancelEvent, args: []string{id}}, &out)
}

// DeliveryFilter selects deliveries of the log.
type DeliveryFilter struct {
	EventID string
	Status  DeliveryStatus
	PageOptions
}

// ListDeliveries pages the delivery log.
func (c *Client) ListDeliveries(ctx context.Context, f DeliveryFilter) (*DeliveryPage, error) {
	q := f.query()
	if f.EventID != "" {
		q.Set("event_id", f.EventID)
	}
	if f.Status != "" {
		q.Set("status", string(f.Status))
	}
	var out DeliveryPage
	return &out, c.do(ctx, call{route: rListDel, query: q}, &out)
}

// RetryDelivery re-delivers one failed delivery.
func (c *Client) RetryDelivery(ctx context.Context, id string) (*RetryAccepted, error) {
	var out RetryAccepted
	return &out, c.do(ctx, call{route: rRetryDel, args: []string{id}}, &out)
}

// RetryDeliveries re-delivers every failed delivery the filter matches, a
// page at a time.
func (c *Client) RetryDeliveries(ctx context.Context, in BulkRetryInput) (*BulkRetryAccepted, error) {
	var out BulkRetryAccepted
	return &out, c.do(ctx, call{route: rRetryDels, body: in}, &out)
}

// ListSuppressions pages the tenant's suppression list, newest first: the
// addresses email is not sent to.
func (c *Client) ListSuppressions(ctx context.Context, page PageOptions) (*SuppressionPage, error) {
	var out SuppressionPage
	return &out, c.do(ctx, call{route: rListSupp, query: page.query()}, &out)
}

// AddSuppression puts an address on the suppression list, such as one a
// recipient's complaint or a provider's bounce report names. An address
// already listed keeps its entry, which is answered as it is.
func (c *Client) AddSuppression(ctx context.Context, in SuppressionInput) (*Suppression, error) {
	var out Suppression
	return &out, c.do(ctx, call{route: rAddSupp, body: in}, &out)
}

// DeleteSuppression takes an address off the suppression list; email to it
// is sent again. An address not listed is 404 not_found.
func (c *Client) DeleteSuppression(ctx context.Context, address string) error {
	return c.do(ctx, call{route: rDelSupp, args: []string{address}}, nil)
}

// VerifyAudit verifies the tenant's audit chain; checkpoint, when not
// empty, is a checkpoint (as JSON) the chain must still hold.
func (c *Client) VerifyAudit(ctx context.Context, checkpoint string) (*AuditVerify, error) {
	q := url.Values{}
	if checkpoint != "" {
		q.Set("checkpoint", checkpoint)
	}
	var out AuditVerify
	return &out, c.do(ctx, call{route: rVerifyAudit, query: q}, &out)
}

// AuditFilter selects audit rows.
type AuditFilter struct {
	EventID string
	UserID  string
	Since   time.Time
	PageOptions
}

// ListAudit pages the tenant's audit rows.
func (c *Client) ListAudit(ctx context.Context, f AuditFilter) (*AuditPage, error) {
	q := f.query()
	if f.EventID != "" {
		q.Set("event_id", f.EventID)
	}
	if f.UserID != "" {
		q.Set("user_id", f.UserID)
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.Format(time.RFC3339Nano))
	}
	var out AuditPage
	return &out, c.do(ctx, call{route: rListAudit, query: q}, &out)
}

// StartApproval starts an approval; the same ID with the same body answers
// the existing one.
func (c *Client) StartApproval(ctx context.Context, in ApprovalInput) (*Approval, error) {
	var out Approval
	return &out, c.do(ctx, call{route: rPostApproval, body: in}, &out)
}

// GetApproval reads an approval's state.
func (c *Client) GetApproval(ctx context.Context, id string) (*Approval, error) {
	var out Approval
	return &out, c.do(ctx, call{route: rGetApproval, args: []string{id}}, &out)
}

// WithdrawApproval withdraws a pending approval.
func (c *Client) WithdrawApproval(ctx context.Context, id string) (*Approval, error) {
	var out Approval
	return &out, c.do(ctx, call{route: rDelApproval, args: []string{id}}, &out)
}

// DecideApproval records an approver's decision and answers the final
// state; once decided, it is 409.
func (c *Client) DecideApproval(ctx context.Context, id string, in ApprovalDecisionInput) (*Approval, error) {
	var out Approval
	return &out, c.do(ctx, call{route: rDecide, args: []string{id}, body: in}, &out)
}

// StartExperiment starts an A/B experiment.
func (c *Client) StartExperiment(ctx context.Context, in ExperimentInput) (*Experiment, error) {
	var out Experiment
	return &out, c.do(ctx, call{route: rPostExp, body: in}, &out)
}

// GetExperiment reads an experiment's state.
func (c *Client) GetExperiment(ctx context.Context, id string) (*Experiment, error) {
	var out Experiment
	return &out, c.do(ctx, call{route: rGetExp, args: []string{id}}, &out)
}

// PostExperimentSamples passes each variant's current total.
func (c *Client) PostExperimentSamples(ctx context.Context, id string, counts map[string]int64) (*SamplesAccepted, error) {
	var out SamplesAccepted
	return &out, c.do(ctx, call{route: rSamples, args: []string{id}, body: ExperimentSamples{Counts: counts}}, &out)
}

// ConcludeExperiment records the winner.
func (c *Client) ConcludeExperiment(ctx context.Context, id, winner string) (*Experiment, error) {
	var out Experiment
	return &out, c.do(ctx, call{route: rConclude, args: []string{id}, body: ExperimentConclusion{Winner: winner}}, &out)
}

// StartBatch posts a fan-in batch.
func (c *Client) StartBatch(ctx context.Context, in BatchInput) (*Batch, error) {
	var out Batch
	return &out, c.do(ctx, call{route: rPostBatch, body: in}, &out)
}

// GetBatch reads a batch.
func (c *Client) GetBatch(ctx context.Context, id string) (*Batch, error) {
	var out Batch
	return &out, c.do(ctx, call{route: rGetBatch, args: []string{id}}, &out)
}

// CompleteBatchJob reports a job of a batch done; a repeat counts once.
func (c *Client) CompleteBatchJob(ctx context.Context, batchID, job string) (*JobCompletion, error) {
	var out JobCompletion
	return &out, c.do(ctx, call{route: rCompleteJob, args: []string{batchID, job}}, &out)
}

// TestNotification sends a sample through every configured channel of
// userID (empty: the tenant's owner).
func (c *Client) TestNotification(ctx context.Context, userID string) (*TestNotificationResult, error) {
	var out TestNotificationResult
	return &out, c.do(ctx, call{route: rTestNotify, body: TestNotificationInput{UserID: userID}}, &out)
}

// NotificationFilter selects inbox items: Status is unread, unseen or
// archived.
type NotificationFilter struct {
	Unread bool
	Status string
	PageOptions
}

// ListNotifications pages user id's inbox, newest first.
func (c *Client) ListNotifications(ctx context.Context, id string, f NotificationFilter) (*NotificationPage, error) {
	q := f.query()
	if f.Unread {
		q.Set("unread", "true")
	}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	var out NotificationPage
	return &out, c.do(ctx, call{route: rListInbox, args: []string{id}, query: q}, &out)
}

// MarkNotificationRead marks one inbox item read.
func (c *Client) MarkNotificationRead(ctx context.Context, id, nid string) (*Notification, error) {
	var out Notification
	return &out, c.do(ctx, call{route: rMarkRead, args: []string{id, nid}}, &out)
}

// SetNotificationState sets an inbox item's seen, read and archived flags.
func (c *Client) SetNotificationState(ctx context.Context, id, nid string, st NotificationState) (*Notification, error) {
	var out Notification
	return &out, c.do(ctx, call{route: rPatchItem, args: []string{id, nid}, body: st}, &out)
}

// SnoozeNotification hides an inbox item until a time; it comes back
// unread.
func (c *Client) SnoozeNotification(ctx context.Context, id, nid string, until time.Time) (*Notification, error) {
	var out Notification
	return &out, c.do(ctx, call{route: rSnooze, args: []string{id, nid}, body: Snooze{Until: until}}, &out)
}

// MarkAllRead marks every unread item of user id read.
func (c *Client) MarkAllRead(ctx context.Context, id string) (*MarkedCount, error) {
	var out MarkedCount
	return &out, c.do(ctx, call{route: rMarkAllRead, args: []string{id}}, &out)
}

// MarkAllSeen marks every unseen item of user id seen.
func (c *Client) MarkAllSeen(ctx context.Context, id string) (*MarkedCount, error) {
	var out MarkedCount
	return &out, c.do(ctx, call{route: rMarkAllSeen, args: []string{id}}, &out)
}

// ArchiveAllRead archives every read item of user id.
func (c *Client) ArchiveAllRead(ctx context.Context, id string) (*ArchivedCount, error) {
	var out ArchivedCount
	return &out, c.do(ctx, call{route: rArchiveRead, args: []string{id}}, &out)
}

// UnreadCount counts user id's unread and unseen items.
func (c *Client) UnreadCount(ctx context.Context, id string) (*UnreadCount, error) {
	var out UnreadCount
	return &out, c.do(ctx, call{route: rUnreadCount, args: []string{id}}, &out)
}

// CreateInboxToken makes a short-lived token for user id's browser inbox.
func (c *Client) CreateInboxToken(ctx context.Context, id string) (*InboxToken, error) {
	var out InboxToken
	return &out, c.do(ctx, call{route: rInboxToken, args: []string{id}}, &out)
}

// InboxPage returns the HTML of the inbox page for an inbox token.
func (c *Client) InboxPage(ctx context.Context, token string) (string, error) {
	var out string
	return out, c.do(ctx, call{route: rInboxPage, query: url.Values{"token": {token}}, header: html}, &out)
}

// InboxWidget returns the embeddable widget.js.
func (c *Client) InboxWidget(ctx context.Context) (string, error) {
	var out string
	return out, c.do(ctx, call{route: rWidget, header: http.Header{"Accept": {"application/javascript"}}}, &out)
}

// ApprovalPage returns the HTML of an approver's page for a link's token.
func (c *Client) ApprovalPage(ctx context.Context, token string) (string, error) {
	var out string
	return out, c.do(ctx, call{route: rApprovalPage, args: []string{token}, header: html}, &out)
}

// DecideApprovalPage records a decision as the approver's page does; a
// token is single-use.
func (c *Client) DecideApprovalPage(ctx context.Context, token string, d ApprovalPageDecision) (string, error) {
	form := url.Values{"decision": {d.Decision}}
	if d.Comment != "" {
		form.Set("comment", d.Comment)
	}
	var out string
	return out, c.do(ctx, call{route: rApprovalPost, args: []string{token}, form: form, header: html}, &out)
}

// UnsubscribePage returns the HTML of an unsubscribe link's page.
func (c *Client) UnsubscribePage(ctx context.Context, token string) (string, error) {
	var out string
	return out, c.do(ctx, call{route: rUnsubPage, args: []string{token}, header: html}, &out)
}

// Unsubscribe is the one-click unsubscribe (RFC 8058) of an email link's
// token.
func (c *Client) Unsubscribe(ctx context.Context, token string) (string, error) {
	var out string
	return out, c.do(ctx, call{route: rUnsubPost, args: []string{token},
		form: url.Values{"List-Unsubscribe": {"One-Click"}}, header: html}, &out)
}

var html = http.Header{"Accept": {"text/html"}}
