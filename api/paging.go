package api

import (
	"encoding/base64"
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

func parsePage(c echo.Context) (page, error) {
	p := page{limit: defaultLimit}
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return p, invalidField("limit", "limit must be a number from 1 to %d", maxLimit)
		}
		p.limit = n
	}
	if s := c.QueryParam("cursor"); s != "" {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		ts, id, ok := strings.Cut(string(raw), "|")
		if err != nil || !ok {
			return p, invalidField("cursor", "cursor is not one this API returned")
		}
		if p.time, err = time.Parse(time.RFC3339Nano, ts); err != nil {
			return p, invalidField("cursor", "cursor is not one this API returned")
		}
		if p.id, err = uuid.Parse(id); err != nil {
			return p, invalidField("cursor", "cursor is not one this API returned")
		}
		p.hasCursor = true
	}
	return p, nil
}

// nextCursor is the cursor after a page of n rows ending at (t, id), or nil
// when the page was not full and so was the last.
func (p page) nextCursor(n int, t time.Time, id uuid.UUID) *string {
	if n < p.limit {
		return nil
	}
	c := base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + "|" + id.String()))
	return &c
}
