// Package activities holds every piece of I/O Herald's workflows perform:
// database reads and writes and deliveries. Each activity is idempotent, so
// Temporal may retry it at will without a second inbox item or message.
package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/activity"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/integrations"
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
	Seal *seal.Sealer
}

// New returns Activities over a database pool, delivering through senders
// (one per channel; in-app needs none, it is stored by the page itself).
func New(pool *pgxpool.Pool, senders ...Sender) *Activities {
	a := &Activities{Pool: pool, senders: make(map[channel.Channel]Sender, len(senders))}
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
		if _, ok := a.senders[c]; ok {
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

	a *Activities
}

// secrets opens the sealed secrets of one of the event's tenant's
// integrations into v. Only sending opens them, just before it sends.
func (ev *Event) secrets(ctx context.Context, kind string, v any) error {
	if ev.a == nil || ev.a.Seal == nil {
		return errors.New("this worker cannot open integration secrets (no HERALD_SIGNING_KEY)")
	}
	row, err := ev.a.q().GetIntegration(ctx, dbq.GetIntegrationParams{TenantID: ev.Row.TenantID, Kind: kind})
	if err != nil {
		return fmt.Errorf("loading the %s integration: %w", kind, err)
	}
	if row.Secrets == "" {
		return Permanent(fmt.Errorf("the %s integration has no secrets", kind))
	}
	raw, err := ev.a.Seal.Open(integrations.SealPurpose(ev.Row.TenantID, kind), row.Secrets)
	if err != nil {
		return Permanent(fmt.Errorf("the %s integration's secrets cannot be opened (was HERALD_SIGNING_KEY changed?)", kind))
	}
	return json.Unmarshal(raw, v)
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
	if ev.Render, err = catalog.NewRenderer(typ); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("templates of %s", typ.Key), ErrTypeTemplate, err)
	}
	ev.Render.Tenant = row.TenantName
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
