package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/branding"
	"github.com/heraldhq/herald/db/dbq"
)

// brandingDocument is GET /v1/tenant/branding: every field, defaults
// included, so a client sees what notifications show. "" is none.
type brandingDocument struct {
	ProductName string `json:"product_name"`
	LogoURL     string `json:"logo_url"`
	AccentColor string `json:"accent_color"`
	FromName    string `json:"from_name"`
	ReplyTo     string `json:"reply_to"`
	Footer      string `json:"footer"`
}

func toBrandingDocument(b branding.Branding) brandingDocument {
	return brandingDocument{ProductName: b.Product(), LogoURL: b.LogoURL, AccentColor: b.Accent(),
		FromName: b.FromName, ReplyTo: b.ReplyTo, Footer: b.Footer}
}

// brandingRequest is PUT /v1/tenant/branding, under the PUT rule.
type brandingRequest struct {
	ProductName Field[string] `json:"product_name"`
	LogoURL     Field[string] `json:"logo_url"`
	AccentColor Field[string] `json:"accent_color"`
	FromName    Field[string] `json:"from_name"`
	ReplyTo     Field[string] `json:"reply_to"`
	Footer      Field[string] `json:"footer"`
}

// over is the stored branding with the request's fields applied; every
// field's default is its zero value.
func (r brandingRequest) over(b branding.Branding) branding.Branding {
	return branding.Branding{
		ProductName: r.ProductName.Apply(b.ProductName, ""),
		LogoURL:     r.LogoURL.Apply(b.LogoURL, ""),
		AccentColor: r.AccentColor.Apply(b.AccentColor, ""),
		FromName:    r.FromName.Apply(b.FromName, ""),
		ReplyTo:     r.ReplyTo.Apply(b.ReplyTo, ""),
		Footer:      r.Footer.Apply(b.Footer, ""),
	}
}

// brandOf is a tenant's branding for a page it shows: Herald's own when
// it cannot be read, since a page must still answer.
func (s *Server) brandOf(c echo.Context, tenant uuid.UUID) branding.Branding {
	raw, err := dbq.New(s.pool).GetTenantBranding(c.Request().Context(), tenant)
	if err != nil {
		return branding.Branding{}
	}
	b, _ := branding.Parse(raw)
	return b
}

func (s *Server) getBranding(c echo.Context) error {
	b, err := branding.Parse(tenantOf(c).Branding)
	if err != nil {
		return fmt.Errorf("reading tenant branding: %w", err)
	}
	return c.JSON(http.StatusOK, toBrandingDocument(b))
}

func (s *Server) putBranding(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	var req brandingRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	// A product name or colour sent blank is not a way to reset it: null is.
	for _, f := range []struct {
		name string
		f    Field[string]
	}{{"product_name", req.ProductName}, {"accent_color", req.AccentColor}} {
		if v, ok := f.f.Given(); ok && strings.TrimSpace(v) == "" {
			return invalidField(f.name, "%s: must not be empty; send null for the default", f.name)
		}
	}
	var saved branding.Branding
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbq.New(tx)
		raw, err := q.LockTenantBranding(ctx, tenant.ID)
		if err != nil {
			return fmt.Errorf("reading tenant branding: %w", err)
		}
		stored, err := branding.Parse(raw)
		if err != nil {
			return fmt.Errorf("reading tenant branding: %w", err)
		}
		b, ferr := req.over(stored).Normalize()
		if ferr != nil {
			return invalidField(ferr.Field, "%s: %s", ferr.Field, ferr.Message)
		}
		out, err := json.Marshal(b)
		if err != nil {
			return err
		}
		if err := q.SetTenantBranding(ctx, dbq.SetTenantBrandingParams{ID: tenant.ID, Branding: out}); err != nil {
			return fmt.Errorf("storing tenant branding: %w", err)
		}
		saved = b
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toBrandingDocument(saved))
}
