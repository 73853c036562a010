package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/prefs"
	"github.com/heraldhq/herald/rules"
	"github.com/heraldhq/herald/workflows"
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
	return c.JSON(http.StatusOK, preferencesResponse{Document: doc, Effective: prefs.Resolve(doc, st, u.Timezone)})
}

// putPreferences replaces a user's document. The workflows of events with
// deliveries waiting out the user's quiet hours are told, so they decide
// those again under the new document and re-arm their timers.
func (s *Server) putPreferences(c echo.Context) error {
	ctx, tenant, id := c.Request().Context(), tenantOf(c), c.Param("id")
	var doc prefs.Document
	if err := decode(c, &doc); err != nil {
		return err
	}
	k, err := s.known(ctx, tenant.ID)
	if err != nil {
		return err
	}
	if e := doc.Validate(k); e != nil {
		return fieldError(e)
	}
	st, err := tenantSettings(tenant)
	if err != nil {
		return err
	}
	if field := doc.TurnsOffRequired(st.Required, k); field != "" {
		return newError(http.StatusUnprocessableEntity, "required_notification",
			"%s is required by your organisation and cannot be turned off", field).with("field", field)
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	q := dbq.New(s.pool)
	u, err := q.SetUserPreferences(ctx, dbq.SetUserPreferencesParams{TenantID: tenant.ID, ID: id, Preferences: raw})
	if isNoRows(err) {
		return notFound("user")
	}
	if err != nil {
		return fmt.Errorf("storing preferences: %w", err)
	}
	waiting, err := q.EventsWaitingForUser(ctx, dbq.EventsWaitingForUserParams{TenantID: tenant.ID, UserID: id})
	if err != nil {
		return fmt.Errorf("finding deliveries waiting for %s: %w", id, err)
	}
	s.reschedule(ctx, tenant.ID, waiting, id)
	return c.JSON(http.StatusOK, preferencesResponse{Document: doc, Effective: prefs.Resolve(doc, st, u.Timezone)})
}

// reschedule tells the workflows waiting for a user that the user changed
// their preferences or zone: those of events with deliveries waiting out
// quiet hours, and the user's open digest windows (which plan their close
// again; back on immediate, they send at once). A signal that cannot be
// sent costs lateness, never a wrong delivery: a waiting run decides each
// delivery again when its timer fires.
func (s *Server) reschedule(ctx context.Context, tenantID uuid.UUID, events []uuid.UUID, userID string) {
	for _, id := range events {
		err := s.temporal.SignalWorkflow(ctx, workflows.NotifyWorkflowID(id), "", workflows.SignalReschedule, userID)
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
		err := s.temporal.SignalWorkflow(ctx, workflows.DigestWorkflowID(tenantID, userID, channel.Channel(ch)), "", workflows.SignalReschedule, userID)
		var gone *serviceerror.NotFound
		if err != nil && !errors.As(err, &gone) { // an arming window has no run yet; it plans when it starts
			s.log.WarnContext(ctx, "telling a digest window its user's preferences changed", "channel", ch, "error", err)
		}
	}
}

// settingsDocument is the tenant settings document of the API.
type settingsDocument struct {
	Defaults      prefs.Document `json:"defaults"`
	Required      prefs.Required `json:"required"`
	Timezone      string         `json:"timezone"`
	LeadThreshold int            `json:"lead_threshold"`
	// Summaries enable the scheduled summaries (weekly_digest,
	// daily_summary) and set their local time.
	Summaries map[string]prefs.Summary `json:"summaries"`
	// Rules: in a GET, every rule the tenant runs (the built-ins as
	// edited, then its own); in a PUT, edits of built-ins by name (only the
	// fields given change) and the tenant's own rules. Absent keeps the
	// stored rules; [] restores the built-ins.
	Rules *[]rules.Rule `json:"rules"`
}

func toSettingsDocument(st prefs.Settings) settingsDocument {
	if st.Required.Events == nil {
		st.Required.Events = map[string][]channel.Channel{}
	}
	if st.Required.Categories == nil {
		st.Required.Categories = map[string][]channel.Channel{}
	}
	sums := map[string]prefs.Summary{}
	for _, kind := range []string{prefs.SummaryWeekly, prefs.SummaryDaily} {
		sm := st.Summaries[kind]
		if sm.At == "" {
			sm.At = prefs.SummaryAt
		}
		sums[kind] = sm
	}
	effective := rules.Effective(st.Rules)
	return settingsDocument{Defaults: st.Defaults, Required: st.Required, Timezone: st.Timezone, LeadThreshold: st.LeadThreshold, Summaries: sums,
		Rules: &effective}
}

func (s *Server) getSettings(c echo.Context) error {
	st, err := tenantSettings(tenantOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSettingsDocument(st))
}

// putSettings replaces the tenant's settings. Fields left out take their
// defaults (UTC, a lead threshold of 60).
func (s *Server) putSettings(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	var doc settingsDocument
	if err := decode(c, &doc); err != nil {
		return err
	}
	if doc.Timezone == "" {
		doc.Timezone = "UTC"
	}
	if doc.LeadThreshold == 0 {
		doc.LeadThreshold = prefs.DefaultLeadThreshold
	}
	st := prefs.Settings{Defaults: doc.Defaults, Required: doc.Required, Timezone: doc.Timezone, LeadThreshold: doc.LeadThreshold,
		Summaries: doc.Summaries}
	if doc.Rules != nil {
		st.Rules = ownRules(*doc.Rules)
	} else if current, err := tenantSettings(tenant); err == nil {
		st.Rules = current.Rules
	}
	k, err := s.known(ctx, tenant.ID)
	if err != nil {
		return err
	}
	if e := st.Validate(k); e != nil {
		return fieldError(e)
	}
	if err := s.validateRules(ctx, tenant.ID, st.Rules); err != nil {
		return err
	}
	stored := st
	stored.Timezone = "" // the column holds it
	raw, err := json.Marshal(stored)
	if err != nil {
		return err
	}
	t, err := dbq.New(s.pool).SetTenantSettings(ctx, dbq.SetTenantSettingsParams{ID: tenant.ID, Settings: raw, Timezone: st.Timezone})
	if err != nil {
		return fmt.Errorf("storing tenant settings: %w", err)
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
