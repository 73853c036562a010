package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/locale"
)

// eventTypeDefinition is a tenant's stored definition of an event type.
// Every field is optional on a built-in key and the definition holds only
// what the tenant set, so a later release's improvements to a built-in
// still reach the fields a tenant left alone.
type eventTypeDefinition struct {
	Category   *string            `json:"category,omitempty"`
	Title      *string            `json:"title,omitempty"`
	Urgent     *bool              `json:"urgent,omitempty"`
	Recipients *string            `json:"default_recipients,omitempty"`
	Channels   *[]channel.Channel `json:"channels,omitempty"`
	// Templates are maps, not catalog.Templates, so that a template left
	// out of an override is left out of the stored definition.
	Templates templatesDefinition `json:"templates,omitzero"`
	Required  *[]string           `json:"required_data,omitempty"`
	Throttle  *catalog.Throttle   `json:"throttle,omitempty"`
	Escalate  *catalog.Escalation `json:"escalate,omitempty"`
}

// eventTypeRequest changes a tenant's definition under the PUT rule
// (Field): a field left out keeps what the tenant stored; null drops it
// from the definition, so the built-in's value (or, for a type of the
// tenant's own, the default) applies again. Templates are one field: given,
// they replace the stored ones.
type eventTypeRequest struct {
	Category   Field[*string]             `json:"category"`
	Title      Field[*string]             `json:"title"`
	Urgent     Field[*bool]               `json:"urgent"`
	Recipients Field[*string]             `json:"default_recipients"`
	Channels   Field[*[]channel.Channel]  `json:"channels"`
	Templates  Field[templatesDefinition] `json:"templates"`
	Required   Field[*[]string]           `json:"required_data"`
	Throttle   Field[*catalog.Throttle]   `json:"throttle"`
	Escalate   Field[*catalog.Escalation] `json:"escalate"`
}

// over is the stored definition with the request's fields applied.
func (r eventTypeRequest) over(stored eventTypeDefinition) eventTypeDefinition {
	return eventTypeDefinition{
		Category:   r.Category.Apply(stored.Category, nil),
		Title:      r.Title.Apply(stored.Title, nil),
		Urgent:     r.Urgent.Apply(stored.Urgent, nil),
		Recipients: r.Recipients.Apply(stored.Recipients, nil),
		Channels:   r.Channels.Apply(stored.Channels, nil),
		Templates:  r.Templates.Apply(stored.Templates, templatesDefinition{}),
		Required:   r.Required.Apply(stored.Required, nil),
		Throttle:   r.Throttle.Apply(stored.Throttle, nil),
		Escalate:   r.Escalate.Apply(stored.Escalate, nil),
	}
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
	maxLocales  = 50
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
	// Merged, checked and stored under the definition's row lock, so two
	// PUTs of different fields both count.
	var inserted bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbq.New(tx)
		var stored eventTypeDefinition
		raw, err := q.LockTenantEventType(ctx, dbq.LockTenantEventTypeParams{TenantID: tenant.ID, Key: key})
		if isNoRows(err) {
			// No row to lock yet: a first PUT of the key takes the tenant's
			// row, so a concurrent one waits, then merges over this one's.
			if _, lerr := q.LockTenantSettings(ctx, tenant.ID); lerr != nil {
				return fmt.Errorf("locking the tenant: %w", lerr)
			}
			raw, err = q.LockTenantEventType(ctx, dbq.LockTenantEventTypeParams{TenantID: tenant.ID, Key: key})
		}
		switch {
		case isNoRows(err):
		case err != nil:
			return fmt.Errorf("reading event type %s: %w", key, err)
		default:
			if err := json.Unmarshal(raw, &stored); err != nil {
				return fmt.Errorf("reading event type %s: %w", key, err)
			}
		}
		d := req.over(stored)
		if !isBuiltIn {
			if err := completeNewType(&d); err != nil {
				return err
			}
		}
		if err := checkEventType(&d); err != nil {
			return err
		}
		def, err := json.Marshal(d)
		if err != nil {
			return err
		}
		typ, _, err := catalog.BuiltIn().Resolve(key, def)
		if err != nil {
			return invalidField("templates", "%v", err)
		}
		if typ.Escalate != nil && !typ.Has(channel.InApp) {
			// Checked on the type as it resolves: a built-in's channels, or
			// a later PUT of channels alone, count as much as this request.
			return &Error{Status: http.StatusUnprocessableEntity, Code: "escalation_needs_in_app",
				Message: "escalate holds channels until the in-app item goes unread, so the type's channels must include in_app",
				Details: map[string]any{"field": "escalate", "channels": typ.Channels}}
		}
		if err := renders(typ); err != nil {
			return err
		}
		inserted, err = q.PutTenantEventType(ctx, dbq.PutTenantEventTypeParams{TenantID: tenant.ID, Key: key, Definition: def})
		if err != nil {
			return fmt.Errorf("storing event type %s: %w", key, err)
		}
		return keepVersion(ctx, q, tenant.ID, key, def)
	})
	if err != nil {
		return err
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
func completeNewType(req *eventTypeDefinition) error {
	switch {
	case req.Category == nil:
		return invalidField("category", "a new event type needs a category, such as deploys")
	case req.Title == nil:
		return invalidField("title", "a new event type needs a title")
	case req.Templates.Parts["text"] == "":
		return invalidField("templates.text", "a new event type needs templates.text, the body its notifications read")
	}
	if req.Recipients == nil {
		r := catalog.RecipientsSubscribers
		req.Recipients = &r
	}
	if req.Channels == nil {
		ch := []channel.Channel{channel.InApp, channel.Email}
		req.Channels = &ch
	}
	return nil
}

func checkEventType(req *eventTypeDefinition) error {
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
			switch {
			case ch.Valid():
			case ch.ComingSoon():
				return channelNotAvailable("channels", "channels: the %s channel is not available yet", ch)
			default:
				return invalidField("channels", "unknown channel %q; want in_app, email, slack or webhook", ch)
			}
			if slices.Contains((*req.Channels)[:i], ch) {
				return invalidField("channels", "channel %s is listed twice", ch)
			}
		}
	}
	if req.Escalate != nil {
		if err := checkEscalation(*req.Escalate); err != nil {
			return err
		}
	}
	if err := checkTemplateParts("templates.", req.Templates.Parts, "subject, text, html, action or locales"); err != nil {
		return err
	}
	if len(req.Templates.Locales) > maxLocales {
		return invalidField("templates.locales", "at most %d locales", maxLocales)
	}
	canonical := make(map[string]map[string]string, len(req.Templates.Locales))
	for _, tag := range slices.Sorted(maps.Keys(req.Templates.Locales)) {
		field := "templates.locales." + tag
		c, err := locale.Parse(tag)
		if err != nil {
			return invalidField(field, "%q is not a BCP 47 language tag such as de or pt-BR", tag)
		}
		if c == locale.DefaultTag {
			return invalidField(field, "the templates themselves are English; put English wording there")
		}
		if _, dup := canonical[c]; dup {
			return invalidField(field, "locale %s is given twice", c)
		}
		if err := checkTemplateParts(field+".", req.Templates.Locales[tag], "subject, text, html or action"); err != nil {
			return err
		}
		canonical[c] = req.Templates.Locales[tag]
	}
	if len(canonical) > 0 {
		req.Templates.Locales = canonical
	}
	if req.Throttle != nil {
		if err := checkThrottle(req.Throttle); err != nil {
			return err
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

// checkThrottle refuses a throttle out of bounds (400). An overflow left
// out is stored as skip, so GET says what happens.
func checkThrottle(t *catalog.Throttle) error {
	if t.Max < catalog.MinThrottleMax || t.Max > catalog.MaxThrottleMax {
		return invalidField("throttle.max", "throttle.max is %d to %d notifications per window", catalog.MinThrottleMax, catalog.MaxThrottleMax)
	}
	if per, ok := t.Period(); !ok || per < catalog.MinThrottlePer || per > catalog.MaxThrottlePer {
		return invalidField("throttle.per", "throttle.per is a duration from 1m to 30d, such as 1h, 90m or 7d")
	}
	switch t.Overflow {
	case "":
		t.Overflow = catalog.OverflowSkip
	case catalog.OverflowSkip, catalog.OverflowDigest:
	default:
		return invalidField("throttle.overflow", "unknown throttle.overflow %q; want skip or digest", t.Overflow)
	}
	return nil
}

// checkEscalation checks an escalation's shape: a wait within the bounds
// and channels other than in_app, the one it escalates from.
func checkEscalation(e catalog.Escalation) error {
	if _, err := e.Wait(); err != nil {
		return invalidField("escalate.after", "escalate.after: %v; want a duration from 1m to 7d, such as 30m", err)
	}
	if len(e.To) == 0 {
		return invalidField("escalate.to", "escalate.to names at least one channel to escalate to")
	}
	for i, ch := range e.To {
		switch {
		case ch == channel.InApp:
			return invalidField("escalate.to", "escalate.to: an escalation goes from in_app to other channels; in_app cannot be one of them")
		case ch.Valid():
		case ch.ComingSoon():
			return channelNotAvailable("escalate.to", "escalate.to: the %s channel is not available yet", ch)
		default:
			return invalidField("escalate.to", "unknown channel %q; want email, slack or webhook", ch)
		}
		if slices.Contains(e.To[:i], ch) {
			return invalidField("escalate.to", "channel %s is listed twice", ch)
		}
	}
	return nil
}

// checkTemplateParts checks one language's templates: known names, bounded sizes.
func checkTemplateParts(prefix string, parts map[string]string, want string) error {
	for _, name := range slices.Sorted(maps.Keys(parts)) {
		switch name {
		case "subject", "text", "html", "action":
		default:
			return invalidField(prefix+name, "unknown template %q; want %s", name, want)
		}
		if len(parts[name]) > maxTemplate {
			return invalidField(prefix+name, "%s%s is over %d KiB", prefix, name, maxTemplate>>10)
		}
	}
	return nil
}

// templatesDefinition is the templates object of an event type document:
// the English templates by name, and under "locales" the same by language
// tag ({"subject": …, "locales": {"de": {"subject": …}}}).
type templatesDefinition struct {
	Parts   map[string]string
	Locales map[string]map[string]string
}

func (t templatesDefinition) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(t.Parts)+1)
	for k, v := range t.Parts {
		m[k] = v
	}
	if len(t.Locales) > 0 {
		m["locales"] = t.Locales
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads the object strictly: every template is a string and
// every locale an object of strings.
func (t *templatesDefinition) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return errors.New("templates must be an object of template strings")
	}
	*t = templatesDefinition{}
	for k, v := range raw {
		if k == "locales" {
			if string(v) == "null" {
				continue
			}
			if err := json.Unmarshal(v, &t.Locales); err != nil {
				return errors.New("templates.locales must map language tags to objects of template strings")
			}
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("templates.%s must be a string", k)
		}
		if t.Parts == nil {
			t.Parts = map[string]string{}
		}
		t.Parts[k] = s
	}
	return nil
}

// IsZero leaves an empty templates object out of a stored definition.
func (t templatesDefinition) IsZero() bool { return len(t.Parts) == 0 && len(t.Locales) == 0 }

// renders parses the type's templates and renders them once with empty
// data and once with every required key: a template that cannot render,
// or exceeds a bound of rendering (output, time, range items) even with
// this little data, is refused now, not when its first event is delivered.
// Each render is bounded, so a hostile template costs the API at most
// that (see catalog.MaxPartBytes and the bounds beside it).
func renders(t catalog.EventType) error {
	r, err := catalog.NewRenderer(t)
	if err != nil {
		return templateError(err)
	}
	if err := r.Check(); err != nil {
		return templateError(err)
	}
	full := map[string]any{}
	for _, k := range t.Required {
		full[k] = "sample"
	}
	for _, lang := range r.Languages() {
		for _, data := range []map[string]any{{}, full} {
			if _, err := r.Email(data, catalog.Recipient{ID: "u1", Name: "Ada", Email: "ada@example.com", Locale: lang}, "https://example.com"); err != nil {
				return templateError(err)
			}
		}
	}
	return nil
}

func templateError(err error) error {
	var bound *catalog.BoundError
	if errors.As(err, &bound) {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_template",
			Message: "a template exceeds a bound of rendering: " + err.Error(),
			Details: map[string]any{"error": err.Error(), "template": bound.Template, "bound": bound.Bound}}
	}
	return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_template",
		Message: "a template does not render: " + err.Error(), Details: map[string]any{"error": err.Error()}}
}
