// Package activities holds every piece of I/O Herald's workflows perform:
// database reads and writes and deliveries. Each activity is idempotent, so
// Temporal may retry it at will without a second inbox item or message.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/activity"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/audit"
	"github.com/heraldhq/herald/branding"
	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/integrations"
	"github.com/heraldhq/herald/personal"
	"github.com/heraldhq/herald/prefs"
	"github.com/heraldhq/herald/seal"
)

// Error types of non-retryable failures: retrying cannot heal them.
const (
	ErrTypeNotFound      = "NotFound"
	ErrTypeUndecodable   = "Undecodable"
	ErrTypeTemplate      = "TemplateError"
	ErrTypeNoSender      = "NoSender"
	ErrTypeWrongTenant   = "WrongTenant"
	ErrTypeTemporary     = "DeliveryTemporaryFailure"
	ErrTypeHeldElsewhere = "DeliveryHeldByAnotherAttempt"
)

// Activities holds the dependencies of every activity.
type Activities struct {
	Pool    *pgxpool.Pool
	senders map[channel.Channel]Sender
	// Seal opens integration secrets; without it no integration sends.
	// It also mints personal links (an approver's) under PublicURL when
	// they are sent: without it their recipients get the event's own link.
	Seal      *seal.Sealer
	PublicURL string
	// Checkpoints signs the audit checkpoint retention stores before it
	// prunes a chain's prefix; without it audit rows are not pruned.
	Checkpoints *audit.Signer
}

// New returns Activities over a database pool, delivering through senders
// (one per channel). In-app has its own: pages store their in-app items
// themselves, and only what a hold window sends at its close goes through it.
func New(pool *pgxpool.Pool, senders ...Sender) *Activities {
	a := &Activities{Pool: pool, senders: make(map[channel.Channel]Sender, len(senders)+1)}
	a.senders[channel.InApp] = inAppSender{pool}
	for _, s := range senders {
		a.senders[s.Channel()] = s
	}
	return a
}

// channels are the recipient-level channels this worker delivers: in-app, and
// every channel with a sender, in the order of channel.All.
func (a *Activities) channels() []channel.Channel {
	out := []channel.Channel{channel.InApp}
	for _, c := range channel.All {
		if _, ok := a.senders[c]; ok && c != channel.InApp {
			out = append(out, c)
		}
	}
	return out
}

func (a *Activities) q() *dbq.Queries { return dbq.New(a.Pool) }

// Event is what every delivery of one event needs to know.
type Event struct {
	Row      dbq.Event
	Type     catalog.EventType
	Data     map[string]any
	Settings prefs.Settings
	Render   *catalog.Renderer
	// The tenant's integrations (nil: none), without their secrets.
	Slack   *integrations.Slack
	Webhook *integrations.Webhook
	// Personal describes the link of the event's one recipient's own (an
	// approver's); nil for none. Row.Link is the link anyone may see.
	Personal *personal.Link

	a *Activities
}

// linkFor is the link a send to user carries on their own channel (email,
// Slack DM): their personal link, minted now, or the event's own. It
// reports whether the link is personal. Shared destinations (Slack
// channels, webhooks) use Row.Link and never call it.
func (ev *Event) linkFor(user string) (string, bool) {
	if ev.Personal != nil && ev.a != nil {
		m := personal.Minter{Seal: ev.a.Seal, PublicURL: ev.a.PublicURL}
		if l := m.For(ev.Row.TenantID, ev.Personal, user); l != "" {
			return l, true
		}
	}
	return ev.Row.Link, false
}

// integrationSecrets opens the sealed secrets of one of the event's
// tenant's integrations. Only sending opens them, just before it sends.
func integrationSecrets[T any](ctx context.Context, ev *Event, kind integrations.Kind) (T, error) {
	var v T
	if ev.a.opener() == nil {
		return v, errors.New("this worker cannot open integration secrets (no HERALD_SIGNING_KEY)")
	}
	row, err := ev.a.q().GetIntegration(ctx, dbq.GetIntegrationParams{TenantID: ev.Row.TenantID, Kind: kind})
	if err != nil {
		return v, fmt.Errorf("loading the %s integration: %w", kind, err)
	}
	if row.Secrets == "" {
		return v, Permanent(fmt.Errorf("the %s integration has no secrets", kind))
	}
	v, err = integrations.Open[T](ev.a.opener(), integrations.SealPurpose(ev.Row.TenantID, kind), row.Secrets)
	if err != nil {
		return v, Permanent(fmt.Errorf("the %s integration's secrets: %w", kind, err))
	}
	return v, nil
}

// opener opens sealed secrets; nil when this worker has no signing key.
func (a *Activities) opener() integrations.Opener {
	if a == nil || a.Seal == nil {
		return nil
	}
	return a.Seal
}

// recipient is what templates know of a user: who they are, and the
// language and time zone they read in.
func recipient(u dbq.User) catalog.Recipient {
	return catalog.Recipient{ID: u.ID, Name: u.Name, Email: u.Email, Locale: u.Locale, Timezone: u.Timezone}
}

// loadEvent reads an event with its type and tenant defaults. Errors that a
// retry cannot heal (no such event, undecodable rows, broken templates) are
// non-retryable; anything else (the database is down) is retried.
func (a *Activities) loadEvent(ctx context.Context, q *dbq.Queries, eventID uuid.UUID) (*Event, error) {
	row, err := q.LoadEventContext(ctx, eventID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("event %s does not exist", eventID), ErrTypeNotFound, err)
	}
	if err != nil {
		return nil, fmt.Errorf("loading event %s: %w", eventID, err)
	}
	ev := &Event{Row: row.Event, a: a}
	typ, ok, err := catalog.BuiltIn().Resolve(ev.Row.Type, row.TypeDefinition)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError("event type definition", ErrTypeUndecodable, err)
	}
	if !ok {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("event type %s no longer exists", ev.Row.Type), ErrTypeNotFound, nil)
	}
	ev.Type = typ
	if ev.Data, err = catalog.DecodeData(ev.Row.Data); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("event data", ErrTypeUndecodable, err)
	}
	if ev.Settings, err = prefs.ParseSettings(row.TenantSettings, row.TenantTimezone); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("tenant settings", ErrTypeUndecodable, err)
	}
	if ev.Slack, err = integrations.Parse[integrations.Slack](row.SlackConfig); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("slack integration", ErrTypeUndecodable, err)
	}
	if ev.Webhook, err = integrations.Parse[integrations.Webhook](row.WebhookConfig); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("webhook integration", ErrTypeUndecodable, err)
	}
	if ev.Personal, err = personal.Parse(ev.Row.PersonalLink); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("personal link", ErrTypeUndecodable, err)
	}
	if ev.Render, err = catalog.NewRenderer(typ); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("templates of %s", typ.Key), ErrTypeTemplate, err)
	}
	ev.Render.Tenant = row.TenantName
	ev.Render.Locale, ev.Render.Zone = ev.Settings.Locale, row.TenantTimezone
	// Branding only dresses the message: one that does not parse must not
	// stop it, so it falls back to Herald's own look.
	if ev.Render.Brand, err = branding.Parse(row.TenantBranding); err != nil {
		eventLogger(ctx, ev).Warn("tenant branding does not parse; sending with the default", "error", err)
	}
	return ev, nil
}

// FinishEvent records an event's final status (runs before CloseEvent).
func (a *Activities) FinishEvent(ctx context.Context, eventID uuid.UUID, status delivery.EventStatus) error {
	return a.q().SetEventStatus(ctx, dbq.SetEventStatusParams{ID: eventID, Status: status})
}

// CloseInput records an event's outcome.
type CloseInput struct {
	EventID uuid.UUID            `json:"event_id"`
	Status  delivery.EventStatus `json:"status"`
	// RunID is the event's first run: the one the API answered with.
	RunID string `json:"run_id"`
}

// CloseEvent records an event's final status and confirms its run, so a
// repeated post is answered from the row.
func (a *Activities) CloseEvent(ctx context.Context, in CloseInput) error {
	return a.q().SetEventStatus(ctx, dbq.SetEventStatusParams{ID: in.EventID, Status: in.Status, RunID: in.RunID})
}

// SettleInput records an event's outcome: Status, or (empty) the outcome
// its delivery rows come to.
type SettleInput struct {
	EventID uuid.UUID            `json:"event_id"`
	Status  delivery.EventStatus `json:"status,omitempty"`
	// RunID is the event's first run: the one the API answered with.
	RunID string `json:"run_id"`
}

// SettledEvent is the outcome recorded, with the event's tally.
type SettledEvent struct {
	Status delivery.EventStatus `json:"status"`
	Tally
}

// SettleEvent tallies an event's deliveries, records its outcome (delivered,
// partial or failed, unless Status says otherwise) and confirms its run, so
// a repeated post is answered from the row. The rows are the truth: a run
// need not count what its batches, retries and releases did.
func (a *Activities) SettleEvent(ctx context.Context, in SettleInput) (SettledEvent, error) {
	t, err := a.TallyEvent(ctx, in.EventID)
	if err != nil {
		return SettledEvent{}, err
	}
	status := in.Status
	if status == "" {
		status = delivery.Outcome(t.Delivered, t.Failed)
	}
	status, err = a.q().SettleEventStatus(ctx, dbq.SettleEventStatusParams{ID: in.EventID, Status: status, RunID: in.RunID})
	if err != nil {
		return SettledEvent{}, fmt.Errorf("recording event %s's outcome: %w", in.EventID, err)
	}
	return SettledEvent{Status: status, Tally: t}, nil
}

// warner is the part of a logger activities use.
type warner interface{ Warn(string, ...any) }

// logger is the activity's logger, or the default one when an activity
// method is called directly (by tests, or by another activity), with
// keyvals on every line.
func logger(ctx context.Context, keyvals ...any) warner {
	if activity.IsActivity(ctx) {
		return sdklog.With(activity.GetLogger(ctx), keyvals...)
	}
	return slog.Default().With(keyvals...)
}

// eventLogger logs every line about an event with its tenant and ID (the
// SDK adds the workflow's).
func eventLogger(ctx context.Context, ev *Event, keyvals ...any) warner {
	return logger(ctx, append([]any{"tenant", ev.Row.TenantID.String(), "event_id", ev.Row.ID.String()}, keyvals...)...)
}
