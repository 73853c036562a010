package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/db/dbq"
)

// keptVersions is how many of a key's definitions are kept: enough to
// undo a run of bad edits, few enough that a tenant PUTting in a loop
// cannot grow the table without bound.
const keptVersions = 20

// keepVersion records a definition just stored as the key's next version,
// unless it is the latest already, and drops the ones past keptVersions. It runs in the PUT's transaction,
// under the definition's row lock.
func keepVersion(ctx context.Context, q *dbq.Queries, tenantID uuid.UUID, key string, def []byte) error {
	v, err := q.AddEventTypeVersion(ctx, dbq.AddEventTypeVersionParams{TenantID: tenantID, Key: key, Definition: def})
	if isNoRows(err) {
		return nil // the latest version already
	}
	if err != nil {
		return fmt.Errorf("recording a version of event type %s: %w", key, err)
	}
	if v > keptVersions {
		err = q.TrimEventTypeVersions(ctx, dbq.TrimEventTypeVersionsParams{TenantID: tenantID, Key: key, OldestKept: v - keptVersions + 1})
		if err != nil {
			return fmt.Errorf("trimming the versions of event type %s: %w", key, err)
		}
	}
	return nil
}

// versionDefinition is a stored definition with every field spelled out,
// null where the tenant set nothing: PUT keeps what a body leaves out, so
// only a body that names every field puts an old version back exactly.
type versionDefinition struct {
	Category   *string            `json:"category"`
	Title      *string            `json:"title"`
	Urgent     *bool              `json:"urgent"`
	Recipients *string            `json:"default_recipients"`
	Channels   *[]channel.Channel `json:"channels"`
	Templates  map[string]string  `json:"templates"`
	Required   *[]string          `json:"required_data"`
	Throttle   *catalog.Throttle  `json:"throttle"`
}

type eventTypeVersion struct {
	Version    int32             `json:"version"`
	CreatedAt  time.Time         `json:"created_at"`
	Definition versionDefinition `json:"definition"`
}

// listEventTypeVersions pages a key's stored definitions, newest first;
// the newest is the one in force. The cursor is the last version answered.
func (s *Server) listEventTypeVersions(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	key := c.Param("key")
	limit, err := parseLimit(c)
	if err != nil {
		return err
	}
	var before int32
	if v := c.QueryParam("cursor"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		n, perr := strconv.ParseInt(string(raw), 10, 32)
		if err != nil || perr != nil || n < 1 {
			return invalidField("cursor", "cursor is not one this API returned")
		}
		before = int32(n)
	}
	if _, ok, err := catalog.ForTenant(ctx, db.Definitions{Q: dbq.New(s.pool)}, tenant.ID, key); err != nil {
		return err
	} else if !ok {
		return notFound("event type")
	}
	rows, err := dbq.New(s.pool).EventTypeVersions(ctx, dbq.EventTypeVersionsParams{
		TenantID: tenant.ID, Key: key, Before: before, MaxRows: int32(limit)})
	if err != nil {
		return err
	}
	out := make([]eventTypeVersion, 0, len(rows))
	for _, r := range rows {
		v := eventTypeVersion{Version: r.Version, CreatedAt: r.CreatedAt}
		if err := json.Unmarshal(r.Definition, &v.Definition); err != nil {
			return fmt.Errorf("reading version %d of event type %s: %w", r.Version, key, err)
		}
		out = append(out, v)
	}
	var next *string
	if len(rows) == limit && rows[len(rows)-1].Version > 1 {
		cur := base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(int(rows[len(rows)-1].Version))))
		next = &cur
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out, "next_cursor": next})
}
