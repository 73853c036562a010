package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/integrations"
	"github.com/heraldhq/herald/seal"
	"github.com/heraldhq/herald/stdwebhooks"
)

// slackRequest updates the Slack integration under the PUT rule (Field):
// a field left out keeps its stored value; null resets it (no webhook URL,
// no bot token, no routes). Secrets are write-only, and an empty string
// removes one too.
// With a webhook URL and no routes, every event whose type sends to Slack
// posts on the webhook: a GET answers that implied route marked "implied",
// and a PUT ignores it.
type slackRequest struct {
	WebhookURL Field[string]               `json:"webhook_url"`
	BotToken   Field[string]               `json:"bot_token"`
	Routes     Field[[]integrations.Route] `json:"routes"`
}

type slackResponse struct {
	WebhookURLSet bool                 `json:"webhook_url_set"`
	BotTokenSet   bool                 `json:"bot_token_set"`
	Routes        []integrations.Route `json:"routes"`
	UpdatedAt     *time.Time           `json:"updated_at"`
}

// webhookRequest sets the tenant's endpoint under the PUT rule (Field): a
// field left out keeps its stored value; null resets it (no URL, every
// event type). rotate_secret is an action, not a stored field.
type webhookRequest struct {
	URL          Field[string]   `json:"url"`
	EventTypes   Field[[]string] `json:"event_types"`
	RotateSecret bool            `json:"rotate_secret"`
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

func (s *Server) integration(c echo.Context, kind integrations.Kind) (*dbq.Integration, error) {
	row, err := dbq.New(s.pool).GetIntegration(c.Request().Context(), dbq.GetIntegrationParams{TenantID: tenantOf(c).ID, Kind: kind})
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading the %s integration: %w", kind, err)
	}
	return &row, nil
}

func openSecrets[T any](s *Server, c echo.Context, row *dbq.Integration, kind integrations.Kind) (T, error) {
	if row == nil || row.Secrets == "" {
		var none T
		return none, nil
	}
	v, err := integrations.Open[T](s.links, integrations.SealPurpose(tenantOf(c).ID, kind), row.Secrets)
	if err != nil {
		return v, fmt.Errorf("opening the %s integration's secrets: %w", kind, err)
	}
	return v, nil
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
		if routes := cfg.EffectiveRoutes(); routes != nil {
			out.Routes = routes
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
	// Only what the request gives is checked: a stored URL was checked
	// when it was given.
	if u, ok := req.WebhookURL.Given(); ok {
		u = strings.TrimSpace(u)
		if u != "" {
			if err := s.guard.CheckURL(ctx, u); err != nil {
				return invalidField("webhook_url", "webhook_url: %s", err)
			}
		}
		req.WebhookURL.value = u
	}
	if tok, ok := req.BotToken.Given(); ok {
		tok = strings.TrimSpace(tok)
		if tok != "" && (!strings.HasPrefix(tok, "xox") || len(tok) > 255 || strings.ContainsAny(tok, " \t\r\n")) {
			return invalidField("bot_token", "bot_token: want a Slack bot token (xoxb-…)")
		}
		req.BotToken.value = tok
	}
	if routes, ok := req.Routes.Given(); ok {
		k, err := s.known(ctx, tenant.ID)
		if err != nil {
			return err
		}
		// The implied route is answered, never stored: a GET sent back
		// as it came keeps the integration as it was.
		routes = slices.DeleteFunc(slices.Clone(routes), func(r integrations.Route) bool { return r.Implied })
		req.Routes.value = routes
		if field, msg := integrations.ValidateRoutes(routes, integrations.Known{EventTypes: k.EventTypes, Categories: k.Categories}); field != "" {
			return invalidField(field, "%s: %s", field, msg)
		}
		for i := range routes {
			routes[i].Channel = strings.TrimSpace(routes[i].Channel)
			if routes[i].Purposes == nil {
				routes[i].Purposes = []string{}
			}
		}
	}
	saved, err := s.updateIntegration(c, integrations.KindSlack, func(row *dbq.Integration) (any, any, error) {
		secrets, err := openSecrets[integrations.SlackSecrets](s, c, row, integrations.KindSlack)
		if err != nil {
			return nil, nil, err
		}
		var stored []integrations.Route
		if row != nil {
			if old, err := integrations.Parse[integrations.Slack](row.Config); err == nil && old != nil {
				stored = old.Routes
			}
		}
		secrets.WebhookURL = req.WebhookURL.Apply(secrets.WebhookURL, "")
		secrets.BotToken = req.BotToken.Apply(secrets.BotToken, "")
		cfg := integrations.Slack{Routes: req.Routes.Apply(stored, nil)}
		if cfg.Routes == nil {
			cfg.Routes = []integrations.Route{}
		}
		cfg.WebhookURLSet, cfg.BotTokenSet = secrets.WebhookURL != "", secrets.BotToken != ""
		return cfg, secrets, nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSlackResponse(saved))
}

// updateIntegration stores the integration change makes of the stored one
// (nil when there is none), read under the row's lock so two PUTs of
// different fields both count. change answers the plain configuration and
// the secrets to seal.
func (s *Server) updateIntegration(c echo.Context, kind integrations.Kind, change func(row *dbq.Integration) (cfg, secrets any, err error)) (*dbq.Integration, error) {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	var saved *dbq.Integration
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbq.New(tx)
		var row *dbq.Integration
		found, err := q.LockIntegration(ctx, dbq.LockIntegrationParams{TenantID: tenant.ID, Kind: kind})
		if isNoRows(err) {
			// No row to lock yet: a first PUT takes the tenant's row, so a
			// concurrent first PUT waits, then finds this one's row and
			// merges over it (rather than both answering a secret and only
			// one being stored).
			if _, lerr := q.LockTenantSettings(ctx, tenant.ID); lerr != nil {
				return fmt.Errorf("locking the tenant: %w", lerr)
			}
			found, err = q.LockIntegration(ctx, dbq.LockIntegrationParams{TenantID: tenant.ID, Kind: kind})
		}
		switch {
		case err == nil:
			row = &found
		case !isNoRows(err):
			return fmt.Errorf("loading the %s integration: %w", kind, err)
		}
		cfg, secrets, err := change(row)
		if err != nil {
			return err
		}
		saved, err = storeIntegration(ctx, q, s.links, tenant.ID, kind, cfg, secrets)
		return err
	})
	return saved, err
}

func storeIntegration(ctx context.Context, q *dbq.Queries, links *seal.Sealer, tenantID uuid.UUID, kind integrations.Kind, cfg, secrets any) (*dbq.Integration, error) {
	plain, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	secret, err := json.Marshal(secrets)
	if err != nil {
		return nil, err
	}
	row, err := q.PutIntegration(ctx, dbq.PutIntegrationParams{
		TenantID: tenantID, Kind: kind, Config: plain, Secrets: links.Seal(integrations.SealPurpose(tenantID, kind), secret),
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
	out.PreviousSecretExpiresAt = secrets.PreviousExpiresAt(time.Now())
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
	if u, ok := req.URL.Given(); ok {
		u = strings.TrimSpace(u)
		if u != "" { // none: the secret signs approval callbacks only
			if err := s.guard.CheckURL(ctx, u); err != nil {
				return invalidField("url", "url: %s", err)
			}
		}
		req.URL.value = u
	}
	if types, ok := req.EventTypes.Given(); ok && len(types) > 0 {
		k, err := s.known(ctx, tenant.ID)
		if err != nil {
			return err
		}
		for i, t := range types {
			if !k.EventTypes[t] {
				field := fmt.Sprintf("event_types[%d]", i)
				return invalidField(field, "%s: %q is not an event type of this tenant", field, t)
			}
		}
		slices.Sort(types)
		req.EventTypes.value = slices.Compact(types)
	}
	var secrets integrations.WebhookSecrets
	var fresh string
	saved, err := s.updateIntegration(c, integrations.KindWebhook, func(row *dbq.Integration) (any, any, error) {
		var err error
		if secrets, err = openSecrets[integrations.WebhookSecrets](s, c, row, integrations.KindWebhook); err != nil {
			return nil, nil, err
		}
		var stored integrations.Webhook
		if row != nil {
			if old, err := integrations.Parse[integrations.Webhook](row.Config); err == nil && old != nil {
				stored = *old
			}
		}
		cfg := integrations.Webhook{URL: req.URL.Apply(stored.URL, ""), EventTypes: req.EventTypes.Apply(stored.EventTypes, nil)}
		if cfg.EventTypes == nil {
			cfg.EventTypes = []string{}
		}
		switch {
		case secrets.Secret == "":
			fresh = stdwebhooks.NewSecret()
			secrets = integrations.WebhookSecrets{Secret: fresh}
		case req.RotateSecret:
			fresh = stdwebhooks.NewSecret()
			secrets = secrets.Rotate(fresh, time.Now())
		}
		return cfg, secrets, nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toWebhookResponse(saved, secrets, fresh))
}
