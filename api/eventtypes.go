package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/db/dbq"
)

// eventTypeRequest is a tenant's definition of an event type. Every field
// is optional on a built-in key (only those given change it) and the
// stored definition holds only what was given, so a later release's
// improvements to a built-in still reach the fields a tenant left alone.
type eventTypeRequest struct {
	Category   *string   `json:"category,omitempty"`
	Title      *string   `json:"title,omitempty"`
	Urgent     *bool     `json:"urgent,omitempty"`
	Recipients *string   `json:"default_recipients,omitempty"`
	Channels   *[]string `json:"channels,omitempty"`
	// Templates are a map, not catalog.Templates, so that a template left
	// out of an override is left out of the stored definition.
	Templates map[string]string `json:"templates,omitempty"`
	Required  *[]string         `json:"required_data,omitempty"`
}

var (
	categoryPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,49}$`)
	dataKeyPattern  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
)

// Bounds of a tenant's definition.
const (
	maxTitle    = 200
	maxTemplate = 32 << 10
	maxRequired = 20
)

// putEventType creates a tenant event type or changes a built-in one for
// the tenant: 201 for a new key, 200 otherwise, with the type as it now
// resolves. Templates are parsed and rendered before anything is stored.
func (s *Server) putEventType(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	key := c.Param("key")
	if !catalog.ValidKey(key) {
		return invalidField("key", "an event type key is dotted lower case, such as deploy.finished (at most 100 characters)")
	}
	var req eventTypeRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	builtIn, isBuiltIn := catalog.BuiltIn().Lookup(key)
	switch {
	case isBuiltIn && builtIn.Internal:
		return &Error{Status: http.StatusUnprocessableEntity, Code: "internal_event_type",
			Message: fmt.Sprintf("%s is sent by Herald itself and cannot be changed", key), Details: map[string]any{"type": key}}
	case isBuiltIn && builtIn.Input:
		return &Error{Status: http.StatusUnprocessableEntity, Code: "input_event_type",
			Message: fmt.Sprintf("%s is an input type that feeds rules; change the rules in PUT /v1/tenant/settings", key),
			Details: map[string]any{"type": key}}
	}
	if !isBuiltIn {
		if err := completeNewType(&req); err != nil {
			return err
		}
	}
	if err := checkEventType(req); err != nil {
		return err
	}
	def, err := json.Marshal(req)
	if err != nil {
		return err
	}
	typ, _, err := catalog.BuiltIn().Resolve(key, def)
	if err != nil {
		return invalidField("templates", "%v", err)
	}
	if err := renders(typ); err != nil {
		return err
	}
	inserted, err := dbq.New(s.pool).PutTenantEventType(ctx, dbq.PutTenantEventTypeParams{TenantID: tenant.ID, Key: key, Definition: def})
	if err != nil {
		return fmt.Errorf("storing event type %s: %w", key, err)
	}
	status := http.StatusOK
	if inserted && !isBuiltIn {
		status = http.StatusCreated
	}
	// Answer from the store, as every later read resolves it.
	stored, _, err := catalog.ForTenant(ctx, db.Definitions{Q: dbq.New(s.pool)}, tenant.ID, key)
	if err != nil {
		return err
	}
	return c.JSON(status, stored)
}

// completeNewType fills a new type's defaults and insists on what only the
// tenant can say: its category, title and text.
func completeNewType(req *eventTypeRequest) error {
	switch {
	case req.Category == nil:
		return invalidField("category", "a new event type needs a category, such as deploys")
	case req.Title == nil:
		return invalidField("title", "a new event type needs a title")
	case req.Templates["text"] == "":
		return invalidField("templates.text", "a new event type needs templates.text, the body its notifications read")
	}
	if req.Recipients == nil {
		r := catalog.RecipientsSubscribers
		req.Recipients = &r
	}
	if req.Channels == nil {
		ch := []string{catalog.ChannelInApp, catalog.ChannelEmail}
		req.Channels = &ch
	}
	return nil
}

func checkEventType(req eventTypeRequest) error {
	if req.Category != nil && (!categoryPattern.MatchString(*req.Category) || *req.Category == "digest") {
		return invalidField("category", "a category is one lower-case word of letters, digits and _ (at most 50)")
	}
	if req.Title != nil && (len(*req.Title) == 0 || len(*req.Title) > maxTitle) {
		return invalidField("title", "a title is 1 to %d characters", maxTitle)
	}
	if req.Recipients != nil {
		switch *req.Recipients {
		case catalog.RecipientsNamed, catalog.RecipientsSubscribers, catalog.RecipientsOwner:
		default:
			return invalidField("default_recipients", "want named, subscribers or owner")
		}
	}
	if req.Channels != nil {
		if len(*req.Channels) == 0 {
			return invalidField("channels", "an event type delivers on at least one channel")
		}
		for i, ch := range *req.Channels {
			switch ch {
			case catalog.ChannelInApp, catalog.ChannelEmail, catalog.ChannelSlack, catalog.ChannelWebhook:
			default:
				return invalidField("channels", "unknown channel %q; want in_app, email, slack or webhook", ch)
			}
			if slices.Contains((*req.Channels)[:i], ch) {
				return invalidField("channels", "channel %s is listed twice", ch)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(req.Templates)) {
		switch name {
		case "subject", "text", "html", "action":
		default:
			return invalidField("templates."+name, "unknown template %q; want subject, text, html or action", name)
		}
		if len(req.Templates[name]) > maxTemplate {
			return invalidField("templates."+name, "templates.%s is over %d KiB", name, maxTemplate>>10)
		}
	}
	if req.Required != nil {
		if len(*req.Required) > maxRequired {
			return invalidField("required_data", "at most %d required data keys", maxRequired)
		}
		for _, k := range *req.Required {
			if !dataKeyPattern.MatchString(k) {
				return invalidField("required_data", "%q is not a data key (letters, digits and _)", k)
			}
		}
	}
	return nil
}

// renders parses the type's templates and renders them once with empty
// data and once with every required key: a template that cannot render
// is refused now, not when its first event is delivered.
func renders(t catalog.EventType) error {
	r, err := catalog.NewRenderer(t)
	if err != nil {
		return templateError(err)
	}
	full := map[string]any{}
	for _, k := range t.Required {
		full[k] = "sample"
	}
	for _, data := range []map[string]any{{}, full} {
		if _, err := r.Email(data, catalog.Recipient{ID: "u1", Name: "Ada", Email: "ada@example.com"}, "https://example.com"); err != nil {
			return templateError(err)
		}
	}
	return nil
}

func templateError(err error) error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_template",
		Message: "a template does not render: " + err.Error(), Details: map[string]any{"error": err.Error()}}
}
