package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
)

// page is a keyset position: the (created_at, id) of the last row returned.
type page struct {
	limit     int
	hasCursor bool
	time      time.Time
	id        uuid.UUID
}

const (
	defaultLimit = 50
	maxLimit     = 200
)

// parseLimit reads ?limit= (1 to maxLimit, default defaultLimit).
func parseLimit(c echo.Context) (int, error) {
	s := c.QueryParam("limit")
	if s == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, invalidField("limit", "limit must be a number from 1 to %d", maxLimit)
	}
	return n, nil
}

func parsePage(c echo.Context) (page, error) {
	limit, err := parseLimit(c)
	if err != nil {
		return page{}, err
	}
	p := page{limit: limit}
	if s := c.QueryParam("cursor"); s != "" {
		var err error
		if p.time, p.id, err = decodeCursor(s); err != nil {
			return p, invalidField("cursor", "cursor is not one this API returned")
		}
		p.hasCursor = true
	}
	return p, nil
}

var errCursor = errors.New("cursor is not one this API returned")

// decodeCursor reads a keyset position written by encodeCursor.
func decodeCursor(s string) (time.Time, uuid.UUID, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	ts, rawID, ok := strings.Cut(string(raw), "|")
	if err != nil || !ok {
		return time.Time{}, uuid.Nil, errCursor
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, uuid.Nil, errCursor
	}
	id, err := uuid.Parse(rawID)
	if err != nil {
		return time.Time{}, uuid.Nil, errCursor
	}
	return t, id, nil
}

func encodeCursor(t time.Time, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + "|" + id.String()))
}

// nextCursor is the cursor after a page of n rows ending at (t, id), or nil
// when the page was not full and so was the last.
func (p page) nextCursor(n int, t time.Time, id uuid.UUID) *string {
	if n < p.limit {
		return nil
	}
	c := encodeCursor(t, id)
	return &c
}

// listAnswer is a keyset page's answer: its rows as the API shows them, and
// the cursor after the last (null on the last page).
func listAnswer[R, O any](c echo.Context, p page, rows []R, show func(R) O, key func(R) (time.Time, uuid.UUID)) error {
	out := make([]O, 0, len(rows))
	for _, r := range rows {
		out = append(out, show(r))
	}
	var next *string
	if n := len(rows); n > 0 {
		t, id := key(rows[n-1])
		next = p.nextCursor(n, t, id)
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out, "next_cursor": next})
}
