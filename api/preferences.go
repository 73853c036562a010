package api

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/integrations"
	"github.com/heraldhq/herald/locale"
	"github.com/heraldhq/herald/prefs"
	"github.com/heraldhq/herald/rules"
	"github.com/heraldhq/herald/stdwebhooks"
)

// preferencesResponse is the stored document with, under effective, what
// applies after the tenant's defaults and requirements.
type preferencesResponse struct {
	prefs.Document
	Effective prefs.Effective `json:"effective"`
}

// known lists what a tenant's documents may name.
func (s *Server) known(ctx context.Context, tenantID uuid.UUID) (prefs.Known, error) {
	cat, err := catalog.TenantCatalog(ctx, db.Definitions{Q: dbq.New(s.pool)}, tenantID)
	if err != nil {
		return prefs.Known{}, fmt.Errorf("loading the catalog: %w", err)
	}
	k := prefs.Known{Categories: map[string]bool{}, EventTypes: map[string]bool{}, CategoryOf: map[string]string{}}
	for _, t := range cat.All() {
		if t.Key == catalog.Digest {
			// Digests are turned off by a channel's frequency, not by name.
			continue
		}
		k.EventTypes[t.Key] = true
		k.CategoryOf[t.Key] = t.Category
		if t.Category != "" {
			k.Categories[t.Category] = true
		}
	}
	return k, nil
}

func tenantSettings(t dbq.Tenant) (prefs.Settings, error) {
	st, err := prefs.ParseSettings(t.Settings, t.Timezone)
	if err != nil {
		return st, fmt.Errorf("reading tenant settings: %w", err)
	}
	return st, nil
}

func fieldError(e *prefs.FieldError) *Error {
	if e.NotAvailable {
		return channelNotAvailable(e.Field, "%s: %s", e.Field, e.Message)
	}
	return invalidField(e.Field, "%s: %s", e.Field, e.Message)
}

func (s *Server) getPreferences(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	u, err := dbq.New(s.pool).GetUser(ctx, dbq.GetUserParams{TenantID: tenant.ID, ID: c.Param("id")})
	if isNoRows(err) {
		return notFound("user")
	}
	if err != nil {
		return err
	}
	doc, err := prefs.Parse(u.Preferences)
	if err != nil {
		return fmt.Errorf("reading stored preferences of %s: %w", u.ID, err)
	}
	st, err := tenantSettings(tenant)
	if err != nil {
		return err
	}
	secrets, err := s.userWebhookSecrets(tenant.ID, u.ID, u.WebhookSecrets)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, preferencesResponse{Document: withWebhookSecret(doc, secrets, ""), Effective: prefs.Resolve(doc, st, u.Timezone)})
}

// userWebhookSecrets opens the sealed secrets of a user's own webhook
// endpoint ("" is none).
func (s *Server) userWebhookSecrets(tenantID uuid.UUID, userID, sealed string) (integrations.WebhookSecrets, error) {
	if sealed == "" {
		return integrations.WebhookSecrets{}, nil
	}
	if s.links == nil {
		return integrations.WebhookSecrets{}, errors.New("this server has no signing key to open webhook secrets")
	}
	v, err := integrations.Open[integrations.WebhookSecrets](s.links, integrations.UserWebhookSealPurpose(tenantID, userID), sealed)
	if err != nil {
		return v, fmt.Errorf("opening %s's webhook secret: %w", userID, err)
	}
	return v, nil
}

// withWebhookSecret is doc as answered: its webhook says whether it has a
// secret and, during a rotation, when the old one stops signing; fresh, a
// secret just made, is answered this once.
func withWebhookSecret(doc prefs.Document, secrets integrations.WebhookSecrets, fresh string) prefs.Document {
	c, ok := doc.Channels[string(channel.Webhook)]
	if !ok || secrets.Secret == "" {
		return doc
	}
	out := doc
	out.Channels = maps.Clone(doc.Channels)
	c.Secret, c.SecretSet, c.PreviousSecretExpiresAt = fresh, true, secrets.PreviousExpiresAt(time.Now())
	out.Channels[string(channel.Webhook)] = c
	return out
}

// webhookSecretFor decides a PUT's effect on the user's own endpoint's
// secret: the endpoint's first URL makes one, rotate_secret a new one (the
// old one signs beside it for 24 hours), no URL drops it. It answers the
// secrets to store and the fresh secret, if one was made. A secret in the
// document is an answer sent back, never a secret to use: anything but the
// current one is refused.
func webhookSecretFor(hook prefs.Channel, current integrations.WebhookSecrets, now time.Time) (integrations.WebhookSecrets, string, error) {
	if hook.Secret != "" && subtle.ConstantTimeCompare([]byte(hook.Secret), []byte(current.Secret)) != 1 {
		return current, "", invalidField("channels.webhook.secret",
			"channels.webhook.secret: Herald makes the secret and answers it once; ask for a new one with rotate_secret")
	}
	hasURL := hook.URL != nil && *hook.URL != ""
	switch {
	case !hasURL && hook.RotateSecret:
		return current, "", invalidField("channels.webhook.rotate_secret", "channels.webhook.rotate_secret: there is no endpoint; set channels.webhook.url")
	case !hasURL:
		return integrations.WebhookSecrets{}, "", nil
	case current.Secret == "":
		fresh := stdwebhooks.NewSecret()
		return integrations.WebhookSecrets{Secret: fresh}, fresh, nil
	case hook.RotateSecret:
		fresh := stdwebhooks.NewSecret()
		return current.Rotate(fresh, now), fresh, nil
	}
	return current, "", nil
}

// preferencesRequest is a PUT of a user's document under the PUT rule
// (Field): a top-level field left out keeps the stored one, null resets it
// (to nothing of the user's own: the tenant's defaults apply).
type preferencesRequest struct {
	Channels   Field[map[string]prefs.Channel]   `json:"channels"`
	Categories Field[map[string]prefs.Category]  `json:"categories"`
	Events     Field[map[string]map[string]bool] `json:"events"`
	QuietHours Field[*prefs.QuietHours]          `json:"quiet_hours"`
}

// given is the part of the document the request gave.
func (r preferencesRequest) given() prefs.Document {
	return r.over(prefs.Document{})
}

// over is the stored document with the request's fields applied.
func (r preferencesRequest) over(stored prefs.Document) prefs.Document {
	return prefs.Document{
		Channels:   r.Channels.Apply(stored.Channels, nil),
		Categories: r.Categories.Apply(stored.Categories, nil),
		Events:     r.Events.Apply(stored.Events, nil),
		QuietHours: r.QuietHours.Apply(stored.QuietHours, nil),
	}
}

// putPreferences changes a user's document. The workflows of events with
// deliveries waiting out the user's quiet hours are told, so they decide
// those again under the new document and re-arm their timers.
func (s *Server) putPreferences(c echo.Context) error {
	ctx, tenant, id := c.Request().Context(), tenantOf(c), c.Param("id")
	var req preferencesRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	k, err := s.known(ctx, tenant.ID)
	if err != nil {
		return err
	}
	// What the request gives is checked before anything is read, so a bad
	// field is named even when the user does not exist.
	if e := req.given().Validate(k); e != nil {
		return fieldError(e)
	}
	st, err := tenantSettings(tenant)
	if err != nil {
		return err
	}
	// Only what the request turns off is refused: a stored opt-out that a
	// later requirement overrides is ignored by delivery, and must not
	// block a change to another field.
	if field := req.given().TurnsOffRequired(st.Required, k); field != "" {
		return newError(http.StatusUnprocessableEntity, "required_notification",
			"%s is required by your organisation and cannot be turned off", field).with("field", field)
	}
	if hook, _ := req.Channels.Given(); s.links == nil && hook[string(channel.Webhook)].URL != nil {
		return newError(http.StatusServiceUnavailable, "unavailable", "this server has no signing key for webhook secrets")
	}
	// The document is merged and the secret decided and stored under the
	// user's row lock: two PUTs of different fields both count, and two
	// PUTs cannot both make the first secret and answer different ones.
	var u dbq.User
	var doc prefs.Document
	var secrets integrations.WebhookSecrets
	var fresh string
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbq.New(tx)
		row, err := q.LockUserPreferences(ctx, dbq.LockUserPreferencesParams{TenantID: tenant.ID, ID: id})
		if isNoRows(err) {
			return notFound("user")
		}
		if err != nil {
			return fmt.Errorf("reading %s's preferences: %w", id, err)
		}
		stored, err := prefs.Parse(row.Preferences)
		if err != nil {
			return fmt.Errorf("reading stored preferences of %s: %w", id, err)
		}
		doc = req.over(stored)
		if e := doc.Validate(k); e != nil {
			return fieldError(e)
		}
		current, err := s.userWebhookSecrets(tenant.ID, id, row.WebhookSecrets)
		if err != nil {
			return err
		}
		if secrets, fresh, err = webhookSecretFor(doc.Channels[string(channel.Webhook)], current, time.Now()); err != nil {
			return err
		}
		sealed, err := s.sealUserWebhookSecrets(tenant.ID, id, secrets)
		if err != nil {
			return err
		}
		doc = doc.Stored()
		raw, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		u, err = q.SetUserPreferences(ctx, dbq.SetUserPreferencesParams{TenantID: tenant.ID, ID: id, Preferences: raw, WebhookSecrets: sealed})
		if err != nil {
			return fmt.Errorf("storing preferences: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	waiting, err := dbq.New(s.pool).EventsWaitingForUser(ctx, dbq.EventsWaitingForUserParams{TenantID: tenant.ID, UserID: id})
	if err != nil {
		return fmt.Errorf("finding deliveries waiting for %s: %w", id, err)
	}
	s.reschedule(ctx, tenant.ID, waiting, id)
	return c.JSON(http.StatusOK, preferencesResponse{Document: withWebhookSecret(doc, secrets, fresh), Effective: prefs.Resolve(doc, st, u.Timezone)})
}

// sealUserWebhookSecrets is the stored form of a user's webhook secrets
// ("" for none).
func (s *Server) sealUserWebhookSecrets(tenantID uuid.UUID, userID string, secrets integrations.WebhookSecrets) (string, error) {
	if secrets.Secret == "" {
		return "", nil
	}
	b, err := json.Marshal(secrets)
	if err != nil {
		return "", err
	}
	return s.links.Seal(integrations.UserWebhookSealPurpose(tenantID, userID), b), nil
}

// reschedule tells the workflows waiting for a user that the user changed
// their preferences or zone: those of events with deliveries waiting out
// quiet hours, and the user's open digest windows (which plan their close
// again; back on immediate, they send at once). A signal that cannot be
// sent costs lateness, never a wrong delivery: a waiting run decides each
// delivery again when its timer fires.
func (s *Server) reschedule(ctx context.Context, tenantID uuid.UUID, events []uuid.UUID, userID string) {
	for _, id := range events {
		err := s.temporal.SignalWorkflow(ctx, contract.NotifyWorkflowID(id), "", contract.SignalReschedule, userID)
		if err != nil {
			s.log.WarnContext(ctx, "telling a waiting event its deliveries moved", "event_id", id, "error", err)
		}
	}
	windows, err := dbq.New(s.pool).OpenDigestWindows(ctx, dbq.OpenDigestWindowsParams{TenantID: tenantID, UserID: userID})
	if err != nil {
		s.log.WarnContext(ctx, "finding a user's digest windows", "error", err)
		return
	}
	for _, ch := range windows {
		err := s.temporal.SignalWorkflow(ctx, contract.DigestWorkflowID(tenantID, userID, channel.Channel(ch)), "", contract.SignalReschedule, userID)
		var gone *serviceerror.NotFound
		if err != nil && !errors.As(err, &gone) { // an arming window has no run yet; it plans when it starts
			s.log.WarnContext(ctx, "telling a digest window its user's preferences changed", "channel", ch, "error", err)
		}
	}
}

// settingsDocument is the tenant settings document of the API, as GET
// answers it.
type settingsDocument struct {
	Defaults prefs.Document `json:"defaults"`
	Required prefs.Required `json:"required"`
	Timezone string         `json:"timezone"`
	// Locale is the default language of the tenant's users (BCP 47).
	Locale        string `json:"locale"`
	LeadThreshold int    `json:"lead_threshold"`
	// UsageTrendPercent is the growth over the previous period, in
	// percent, past which the usage_trend rule alerts (default 50).
	UsageTrendPercent int `json:"usage_trend_percent"`
	// Summaries enable the scheduled summaries (weekly_digest,
	// daily_summary, time_review) and set their local time.
	Summaries map[string]prefs.Summary `json:"summaries"`
	// Rules: every rule the tenant runs (the built-ins as edited, then its
	// own).
	Rules []rules.Rule `json:"rules"`
	// Retention is the periods in effect, defaults included.
	Retention retentionDocument `json:"retention"`
}

// retentionDocument is a tenant's retention periods in days, as in effect.
type retentionDocument struct {
	InboxDays      int `json:"inbox_days"`
	DeliveriesDays int `json:"deliveries_days"`
}

// settingsRequest is a PUT of the tenant settings under the PUT rule
// (Field): a field left out keeps its stored value, null resets it to its
// default (no defaults or requirements, UTC, a lead threshold of 60, no
// summaries, the built-in rules).
type settingsRequest struct {
	Defaults Field[prefs.Document] `json:"defaults"`
	Required Field[prefs.Required] `json:"required"`
	Timezone Field[string]         `json:"timezone"`
	// Locale: null restores English.
	Locale        Field[string] `json:"locale"`
	LeadThreshold Field[int]    `json:"lead_threshold"`
	// UsageTrendPercent: null restores the default (50).
	UsageTrendPercent Field[int]                      `json:"usage_trend_percent"`
	Summaries         Field[map[string]prefs.Summary] `json:"summaries"`
	// Rules edit built-ins by name (only the fields given change) and add
	// the tenant's own; [] or null restores the built-ins.
	Rules Field[[]rules.Rule] `json:"rules"`
	// Retention replaces the periods; one left out of it (or null) is its
	// default, as is the whole when null.
	Retention Field[prefs.Retention] `json:"retention"`
}

// over is the stored settings with the request's fields applied.
func (r settingsRequest) over(stored prefs.Settings) prefs.Settings {
	st := prefs.Settings{
		Defaults:          r.Defaults.Apply(stored.Defaults, prefs.Document{}),
		Required:          r.Required.Apply(stored.Required, prefs.Required{}),
		Timezone:          r.Timezone.Apply(stored.Timezone, "UTC"),
		Locale:            r.Locale.Apply(stored.Locale, ""),
		LeadThreshold:     r.LeadThreshold.Apply(stored.LeadThreshold, prefs.DefaultLeadThreshold),
		UsageTrendPercent: r.UsageTrendPercent.Apply(stored.UsageTrendPercent, prefs.DefaultUsageTrendPercent),
		Summaries:         r.Summaries.Apply(stored.Summaries, nil),
		Rules:             stored.Rules,
		Retention:         r.Retention.Apply(stored.Retention, prefs.Retention{}),
	}
	if st.Timezone == "" {
		st.Timezone = "UTC"
	}
	if tag, err := locale.Parse(st.Locale); err == nil {
		st.Locale = tag // canonical; a bad one is refused by Validate
	}
	if st.Locale == locale.DefaultTag {
		st.Locale = "" // stored as the default it is
	}
	if list, ok := r.Rules.Given(); ok {
		st.Rules = ownRules(list)
	} else if r.Rules.Sent() {
		st.Rules = nil
	}
	return st
}

func toSettingsDocument(st prefs.Settings) settingsDocument {
	if st.Required.Events == nil {
		st.Required.Events = map[string][]channel.Channel{}
	}
	if st.Required.Categories == nil {
		st.Required.Categories = map[string][]channel.Channel{}
	}
	sums := map[string]prefs.Summary{}
	for _, kind := range prefs.SummaryKinds {
		sm := st.Summaries[kind]
		if sm.At == "" {
			sm.At = prefs.SummaryAt
		}
		sums[kind] = sm
	}
	return settingsDocument{Defaults: st.Defaults, Required: st.Required, Timezone: st.Timezone, Locale: cmp.Or(st.Locale, locale.DefaultTag),
		LeadThreshold: st.LeadThreshold, Summaries: sums,
		UsageTrendPercent: st.UsageTrendPercent, Rules: rules.Effective(st.Rules),
		Retention: retentionDocument{InboxDays: st.Retention.Inbox(), DeliveriesDays: st.Retention.Deliveries()}}
}

func (s *Server) getSettings(c echo.Context) error {
	st, err := tenantSettings(tenantOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSettingsDocument(st))
}

// putSettings changes the tenant's settings, then brings the scheduled
// summaries in line with them.
func (s *Server) putSettings(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	var req settingsRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	k, err := s.known(ctx, tenant.ID)
	if err != nil {
		return err
	}
	// Merged, checked and stored under the tenant row's lock, so two PUTs
	// of different fields both count.
	var t dbq.Tenant
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbq.New(tx)
		row, err := q.LockTenantSettings(ctx, tenant.ID)
		if err != nil {
			return fmt.Errorf("reading tenant settings: %w", err)
		}
		stored, err := prefs.ParseSettings(row.Settings, row.Timezone)
		if err != nil {
			return fmt.Errorf("reading tenant settings: %w", err)
		}
		st := req.over(stored)
		if e := st.Validate(k); e != nil {
			return fieldError(e)
		}
		if err := s.validateRules(ctx, tenant.ID, st.Rules); err != nil {
			return err
		}
		tz := st.Timezone
		st.Timezone = "" // the column holds it
		raw, err := json.Marshal(st)
		if err != nil {
			return err
		}
		t, err = q.SetTenantSettings(ctx, dbq.SetTenantSettingsParams{ID: tenant.ID, Settings: raw, Timezone: tz})
		if err != nil {
			return fmt.Errorf("storing tenant settings: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	saved, err := tenantSettings(t)
	if err != nil {
		return err
	}
	// The schedules follow the stored settings; a PUT repeated after a
	// failure here brings them in line.
	if err := s.intake.SyncSummaries(ctx, tenant.ID, saved); err != nil {
		s.log.WarnContext(ctx, "syncing scheduled summaries", "error", err)
		return newError(http.StatusServiceUnavailable, "schedules_unavailable",
			"the settings are stored, but the scheduled summaries could not be updated in Temporal; send the same PUT again")
	}
	return c.JSON(http.StatusOK, toSettingsDocument(saved))
}

// ownRules is what a tenant's rule list changes: entries identical to a
// built-in (as a GET returns them) are dropped, so later releases'
// built-ins reach tenants who never edited them.
func ownRules(list []rules.Rule) []rules.Rule {
	out := make([]rules.Rule, 0, len(list))
	for _, r := range list {
		if b, ok := rules.Lookup(r.Name); ok && reflect.DeepEqual(b, r) {
			continue
		}
		out = append(out, r)
	}
	return out
}
