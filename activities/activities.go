// Package activities holds every piece of I/O Herald's workflows perform:
// database reads and writes and deliveries. Each activity is idempotent, so
// Temporal may retry it at will without a second inbox item or email.
package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/internal/mailer"
	"github.com/heraldhq/herald/prefs"
)

// Activities holds the dependencies of every activity.
type Activities struct {
	Pool *pgxpool.Pool
	Mail *mailer.Sender
	// MailDomain is the right-hand side of Message-IDs.
	MailDomain string
}

// New returns Activities over a database pool and a mail sender.
func New(pool *pgxpool.Pool, mail *mailer.Sender, mailDomain string) *Activities {
	return &Activities{Pool: pool, Mail: mail, MailDomain: mailDomain}
}

func (a *Activities) q() *dbq.Queries { return dbq.New(a.Pool) }

// eventContext is what every delivery of one event needs to know.
type eventContext struct {
	event    dbq.Event
	typ      catalog.EventType
	data     map[string]any
	defaults prefs.Document
	render   *catalog.Renderer
}

func (a *Activities) loadEvent(ctx context.Context, q *dbq.Queries, eventID uuid.UUID) (*eventContext, error) {
	row, err := q.LoadEventContext(ctx, eventID)
	if err != nil {
		return nil, fmt.Errorf("loading event %s: %w", eventID, err)
	}
	ev := row.Event
	typ, ok, err := catalog.BuiltIn().Resolve(ev.Type, row.TypeDefinition)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("event type %s no longer exists", ev.Type)
	}
	ec := &eventContext{event: ev, typ: typ}
	if err := json.Unmarshal(ev.Data, &ec.data); err != nil {
		return nil, fmt.Errorf("event data: %w", err)
	}
	var settings struct {
		Preferences prefs.Document `json:"preferences"`
	}
	if err := json.Unmarshal(row.TenantSettings, &settings); err != nil {
		return nil, fmt.Errorf("tenant settings: %w", err)
	}
	ec.defaults = settings.Preferences
	if ec.render, err = catalog.NewRenderer(typ); err != nil {
		return nil, fmt.Errorf("templates of %s: %w", typ.Key, err)
	}
	ec.render.Tenant = row.TenantName
	return ec, nil
}

// TenantEventType resolves one event type for a tenant: its own definition
// over the built-in one.
func TenantEventType(ctx context.Context, q *dbq.Queries, tenantID uuid.UUID, key string) (catalog.EventType, bool, error) {
	row, err := q.GetTenantEventType(ctx, dbq.GetTenantEventTypeParams{TenantID: tenantID, Key: key})
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return catalog.EventType{}, false, fmt.Errorf("loading event type %s: %w", key, err)
	}
	return catalog.BuiltIn().Resolve(key, row.Definition)
}

// TenantCatalog is the built-in catalog with a tenant's own event types over it.
func TenantCatalog(ctx context.Context, q *dbq.Queries, tenantID uuid.UUID) (catalog.Catalog, error) {
	rows, err := q.GetTenantEventTypes(ctx, tenantID)
	if err != nil {
		return catalog.Catalog{}, fmt.Errorf("loading event types: %w", err)
	}
	defs := make(map[string][]byte, len(rows))
	for _, r := range rows {
		defs[r.Key] = r.Definition
	}
	return catalog.BuiltIn().WithTenant(defs)
}

// FinishEvent records an event's final status.
func (a *Activities) FinishEvent(ctx context.Context, eventID uuid.UUID, status string) error {
	return a.q().SetEventStatus(ctx, dbq.SetEventStatusParams{ID: eventID, Status: status})
}
