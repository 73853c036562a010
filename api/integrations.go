package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/integrations"
	"github.com/heraldhq/herald/stdwebhooks"
)

// rotationGrace is how long a rotated webhook secret keeps signing beside
// the new one, so receivers can switch without losing a message.
const rotationGrace = 24 * time.Hour

// slackRequest updates the Slack integration. Secrets are write-only: a
// secret left out keeps its stored value, an empty string removes it. Routes
// left out keep theirs; given, they replace them.
type slackRequest struct {
	WebhookURL *string               `json:"webhook_url"`
	BotToken   *string               `json:"bot_token"`
	Routes     *[]integrations.Route `json:"routes"`
}

type slackResponse struct {
	WebhookURLSet bool                 `json:"webhook_url_set"`
	BotTokenSet   bool                 `json:"bot_token_set"`
	Routes        []integrations.Route `json:"routes"`
	UpdatedAt     *time.Time           `json:"updated_at"`
}

type webhookRequest struct {
	URL          string   `json:"url"`
	EventTypes   []string `json:"event_types"`
	RotateSecret bool     `json:"rotate_secret"`
}

type webhookResponse struct {
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	// Secret is answered once: when the endpoint is first set up and when
	// it is rotated.
	Secret                  string     `json:"secret,omitempty"`
	SecretSet               bool       `json:"secret_set"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
	DisabledAt              *time.Time `json:"disabled_at"`
	DisabledReason          string     `json:"disabled_reason,omitempty"`
	UpdatedAt               *time.Time `json:"updated_at"`
}

func (s *Server) integration(c echo.Context, kind string) (*dbq.Integration, error) {
	row, err := dbq.New(s.pool).GetIntegration(c.Request().Context(), dbq.GetIntegrationParams{TenantID: tenantOf(c).ID, Kind: kind})
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading the %s integration: %w", kind, err)
	}
	return &row, nil
}

func openSecrets[T any](s *Server, c echo.Context, row *dbq.Integration, kind string) (T, error) {
	var v T
	if row == nil || row.Secrets == "" {
		return v, nil
	}
	raw, err := s.links.Open(integrations.SealPurpose(tenantOf(c).ID, kind), row.Secrets)
	if err != nil {
		return v, fmt.Errorf("opening the %s integration's secrets (was HERALD_SIGNING_KEY changed?): %w", kind, err)
	}
	return v, json.Unmarshal(raw, &v)
}

func (s *Server) getSlack(c echo.Context) error {
	row, err := s.integration(c, integrations.KindSlack)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSlackResponse(row))
}

func toSlackResponse(row *dbq.Integration) slackResponse {
	out := slackResponse{Routes: []integrations.Route{}}
	if row == nil {
		return out
	}
	if cfg, err := integrations.Parse[integrations.Slack](row.Config); err == nil && cfg != nil {
		out.WebhookURLSet, out.BotTokenSet = cfg.WebhookURLSet, cfg.BotTokenSet
		if cfg.Routes != nil {
			out.Routes = cfg.Routes
		}
	}
	out.UpdatedAt = &row.UpdatedAt
	return out
}

func (s *Server) putSlack(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	var req slackRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	row, err := s.integration(c, integrations.KindSlack)
	if err != nil {
		return err
	}
	secrets, err := openSecrets[integrations.SlackSecrets](s, c, row, integrations.KindSlack)
	if err != nil {
		return err
	}
	cfg := integrations.Slack{Routes: []integrations.Route{}}
	if row != nil {
		if old, err := integrations.Parse[integrations.Slack](row.Config); err == nil && old != nil && old.Routes != nil {
			cfg.Routes = old.Routes
		}
	}
	if req.WebhookURL != nil {
		u := strings.TrimSpace(*req.WebhookURL)
		if u != "" {
			if err := s.guard.CheckURL(ctx, u); err != nil {
				return invalidField("webhook_url", "webhook_url: %s", err)
			}
		}
		secrets.WebhookURL = u
	}
	if req.BotToken != nil {
		tok := strings.TrimSpace(*req.BotToken)
		if tok != "" && (!strings.HasPrefix(tok, "xox") || len(tok) > 255 || strings.ContainsAny(tok, " \t\r\n")) {
			return invalidField("bot_token", "bot_token: want a Slack bot token (xoxb-…)")
		}
		secrets.BotToken = tok
	}
	if req.Routes != nil {
		k, err := s.known(ctx, tenant.ID)
		if err != nil {
			return err
		}
		routes := *req.Routes
		if field, msg := integrations.ValidateRoutes(routes, integrations.Known{EventTypes: k.EventTypes, Categories: k.Categories}); field != "" {
			return invalidField(field, "%s: %s", field, msg)
		}
		for i := range routes {
			routes[i].Channel = strings.TrimSpace(routes[i].Channel)
			if routes[i].Purposes == nil {
				routes[i].Purposes = []string{}
			}
		}
		cfg.Routes = routes
	}
	cfg.WebhookURLSet, cfg.BotTokenSet = secrets.WebhookURL != "", secrets.BotToken != ""
	saved, err := s.storeIntegration(c, integrations.KindSlack, cfg, secrets)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSlackResponse(saved))
}

func (s *Server) storeIntegration(c echo.Context, kind string, cfg, secrets any) (*dbq.Integration, error) {
	tenant := tenantOf(c)
	plain, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	secret, err := json.Marshal(secrets)
	if err != nil {
		return nil, err
	}
	row, err := dbq.New(s.pool).PutIntegration(c.Request().Context(), dbq.PutIntegrationParams{
		TenantID: tenant.ID, Kind: kind, Config: plain, Secrets: s.links.Seal(integrations.SealPurpose(tenant.ID, kind), secret),
	})
	if err != nil {
		return nil, fmt.Errorf("storing the %s integration: %w", kind, err)
	}
	return &row, nil
}

func (s *Server) getWebhook(c echo.Context) error {
	row, err := s.integration(c, integrations.KindWebhook)
	if err != nil {
		return err
	}
	if row == nil {
		return notFound("webhook integration")
	}
	secrets, err := openSecrets[integrations.WebhookSecrets](s, c, row, integrations.KindWebhook)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toWebhookResponse(row, secrets, ""))
}

func toWebhookResponse(row *dbq.Integration, secrets integrations.WebhookSecrets, newSecret string) webhookResponse {
	out := webhookResponse{EventTypes: []string{}, Secret: newSecret, SecretSet: secrets.Secret != "",
		DisabledAt: row.DisabledAt, DisabledReason: row.DisabledReason, UpdatedAt: &row.UpdatedAt}
	if cfg, err := integrations.Parse[integrations.Webhook](row.Config); err == nil && cfg != nil {
		out.URL = cfg.URL
		if cfg.EventTypes != nil {
			out.EventTypes = cfg.EventTypes
		}
	}
	if secrets.Previous != "" && time.Unix(secrets.PreviousUntil, 0).After(time.Now()) {
		until := time.Unix(secrets.PreviousUntil, 0).UTC()
		out.PreviousSecretExpiresAt = &until
	}
	return out
}

// putWebhook sets the tenant's endpoint. Its signing secret is made on the
// first PUT and answered then, once; rotate_secret makes a new one (answered
// once) and keeps the old one signing beside it for 24 hours. A PUT also
// re-enables an endpoint disabled by a 410.
func (s *Server) putWebhook(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	var req webhookRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	req.URL = strings.TrimSpace(req.URL)
	if req.URL != "" { // none: the secret signs users' own endpoints only
		if err := s.guard.CheckURL(ctx, req.URL); err != nil {
			return invalidField("url", "url: %s", err)
		}
	}
	if req.EventTypes == nil {
		req.EventTypes = []string{}
	}
	if len(req.EventTypes) > 0 {
		k, err := s.known(ctx, tenant.ID)
		if err != nil {
			return err
		}
		for i, t := range req.EventTypes {
			if !k.EventTypes[t] {
				field := fmt.Sprintf("event_types[%d]", i)
				return invalidField(field, "%s: %q is not an event type of this tenant", field, t)
			}
		}
		slices.Sort(req.EventTypes)
		req.EventTypes = slices.Compact(req.EventTypes)
	}
	row, err := s.integration(c, integrations.KindWebhook)
	if err != nil {
		return err
	}
	secrets, err := openSecrets[integrations.WebhookSecrets](s, c, row, integrations.KindWebhook)
	if err != nil {
		return err
	}
	var fresh string
	switch {
	case secrets.Secret == "":
		fresh = stdwebhooks.NewSecret()
		secrets = integrations.WebhookSecrets{Secret: fresh}
	case req.RotateSecret:
		fresh = stdwebhooks.NewSecret()
		secrets = integrations.WebhookSecrets{Secret: fresh, Previous: secrets.Secret, PreviousUntil: time.Now().Add(rotationGrace).Unix()}
	}
	saved, err := s.storeIntegration(c, integrations.KindWebhook, integrations.Webhook{URL: req.URL, EventTypes: req.EventTypes}, secrets)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toWebhookResponse(saved, secrets, fresh))
}
