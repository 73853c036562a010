package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/audience"
	"github.com/heraldhq/herald/branding"
	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/intake"
	"github.com/heraldhq/herald/integrations"
	"github.com/heraldhq/herald/locale"
	"github.com/heraldhq/herald/prefs"
	"github.com/heraldhq/herald/slackmsg"
)

type previewRequest struct {
	UserID  string          `json:"user_id"`
	Data    json.RawMessage `json:"data"`
	Channel channel.Channel `json:"channel"`
	Link    string          `json:"link"`
	// Locale renders the variant a reader of this BCP 47 tag would get,
	// instead of the user's own locale (or the tenant's).
	Locale string `json:"locale"`
}

// Reasons a preview gives beyond the delivery log's skip reasons.
const (
	// previewNotConfigured: the tenant (or user) has set nothing up to
	// deliver on the channel (no Slack integration, no webhook endpoint).
	previewNotConfigured = "not_configured"
	// previewNotOnType: the type does not deliver on the channel asked for.
	previewNotOnType = "not_on_type"
	// previewUnreadablePrefs: the user's stored preferences cannot be read;
	// delivery fails such a recipient's rows rather than guess.
	previewUnreadablePrefs = "unreadable_preferences"
)

// sampleRecipient stands in for a user when a preview names none.
var sampleRecipient = catalog.Recipient{ID: "sample-user", Name: "Ada Lovelace", Email: "ada@example.com"}

// previewDecision says whether the recipient would get the channel and,
// if not, why.
type previewDecision struct {
	WouldSend bool   `json:"would_send"`
	Reason    string `json:"reason,omitempty"`
	// QuietHours: the user's quiet hours apply, so at some times of day it
	// would wait for them to end.
	QuietHours bool `json:"quiet_hours,omitempty"`
	// EscalatesAfter: the type escalates to the channel, so it waits this
	// long after the in-app item and goes only if that is still unread.
	EscalatesAfter string `json:"escalates_after,omitempty"`
}

// throttlePreview is the type's throttle as it stands for the recipient.
type throttlePreview struct {
	Max int    `json:"max"`
	Per string `json:"per"`
	// Used counts the recipient's notifications of the type in the
	// current window (0 for the sample recipient); at Max, the rest of the
	// window's are skipped as throttled, or held (throttled_held) until
	// WindowEnds with overflow digest.
	Used       int       `json:"used"`
	WindowEnds time.Time `json:"window_ends"`
}

type emailPreview struct {
	previewDecision
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

type inAppPreview struct {
	previewDecision
	Title string `json:"title"`
	Body  string `json:"body"`
	Link  string `json:"link,omitempty"`
}

type slackPreview struct {
	previewDecision
	// DM says the recipient would get a direct message; Channels are the
	// tenant's routed channel posts (one per event, not per recipient).
	DM       bool     `json:"dm"`
	Channels []string `json:"channels"`
	slackmsg.Message
}

type webhookPreview struct {
	previewDecision
	// UserEndpoint: the recipient's own endpoint would get the payload;
	// TenantEndpoint: the tenant's endpoint would (once per event).
	UserEndpoint   bool `json:"user_endpoint"`
	TenantEndpoint bool `json:"tenant_endpoint"`
	// Payload: the event's id and time are only known once an event is
	// posted, so a preview shows the nil UUID and the time of the preview.
	Payload integrations.WebhookPayload `json:"payload"`
}

type previewChannels struct {
	InApp   *inAppPreview   `json:"in_app,omitempty"`
	Email   *emailPreview   `json:"email,omitempty"`
	Slack   *slackPreview   `json:"slack,omitempty"`
	Webhook *webhookPreview `json:"webhook,omitempty"`
}

type previewResponse struct {
	Type string `json:"type"`
	// UserID is the user previewed for; null for the sample recipient.
	UserID *string `json:"user_id"`
	Urgent bool    `json:"urgent"`
	// Locale is the language rendered, after the fallback chain.
	Locale   string          `json:"locale"`
	Channels previewChannels `json:"channels"`
	// Throttle is there when the type has one.
	Throttle *throttlePreview `json:"throttle,omitempty"`
}

// previewEventType renders what an event of the type would deliver to one
// user (or a sample recipient) on each channel, with the bounds of a send,
// and says per channel whether that user would get it. It reads and
// renders only: nothing is stored, started or sent.
func (s *Server) previewEventType(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	key := c.Param("key")
	var req previewRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Channel != "" {
		switch {
		case req.Channel.Valid():
		case req.Channel.ComingSoon():
			return channelNotAvailable("channel", "channel: the %s channel is not available yet", req.Channel)
		default:
			return invalidField("channel", "unknown channel %q; want in_app, email, slack or webhook", req.Channel)
		}
	}
	if req.Locale != "" {
		tag, err := locale.Parse(req.Locale)
		if err != nil {
			return invalidField("locale", "locale must be a BCP 47 language tag such as de-AT or fr")
		}
		req.Locale = tag
	}
	if req.Link != "" {
		u, err := url.Parse(req.Link)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(req.Link) > 2000 {
			return invalidField("link", "link must be an http or https URL")
		}
	}
	q := dbq.New(s.pool)
	typ, ok, err := catalog.ForTenant(ctx, db.Definitions{Q: q}, tenant.ID, key)
	if err != nil {
		return err
	}
	if !ok {
		return notFound("event type")
	}
	switch {
	case typ.Internal:
		return &Error{Status: http.StatusUnprocessableEntity, Code: "internal_event_type",
			Message: fmt.Sprintf("%s is sent by Herald itself and cannot be previewed", key), Details: map[string]any{"type": key}}
	case !typ.Notifies():
		return &Error{Status: http.StatusUnprocessableEntity, Code: "input_event_type",
			Message: fmt.Sprintf("%s is an input type: it notifies nobody itself, so there is nothing to preview", key),
			Details: map[string]any{"type": key}}
	}
	// Decoded as a posted event's data is when it is delivered, so numbers
	// print as the client wrote them.
	data, err := catalog.DecodeData(req.Data)
	if err != nil {
		return invalidField("data", "data must be a JSON object")
	}
	if err := intake.CheckData(typ, data); err != nil {
		return fromIntake(err)
	}

	user := dbq.User{ID: sampleRecipient.ID, Name: sampleRecipient.Name, Email: sampleRecipient.Email}
	var doc prefs.Document
	var docErr error
	if req.UserID != "" {
		if !audience.ValidUserID(req.UserID) {
			return invalidField("user_id", "user_id must be 1-128 characters of letters, digits and ._:@+-")
		}
		user, err = q.GetUser(ctx, dbq.GetUserParams{TenantID: tenant.ID, ID: req.UserID})
		if isNoRows(err) {
			return notFound("user")
		}
		if err != nil {
			return err
		}
		doc, docErr = prefs.Parse(user.Preferences)
	}
	if req.Locale != "" {
		user.Locale = req.Locale
	}
	settings, err := prefs.ParseSettings(tenant.Settings, tenant.Timezone)
	if err != nil {
		return fmt.Errorf("reading tenant settings: %w", err)
	}
	slackCfg, webhookCfg, err := s.previewIntegrations(c, tenant.ID)
	if err != nil {
		return err
	}
	now := time.Now()
	var throttleUsed int
	if t := typ.Throttle; t != nil && req.UserID != "" {
		if window, ok := t.WindowStart(now); ok {
			used, err := q.ThrottleUsed(ctx, dbq.ThrottleUsedParams{TenantID: tenant.ID, EventType: typ.Key, UserID: user.ID, WindowStart: window})
			if err != nil {
				return err
			}
			throttleUsed = int(used)
		}
	}

	// The preview dresses the message as a send would; unreadable branding
	// previews Herald's look, as a send falls back to it.
	brand, _ := branding.Parse(tenant.Branding)
	out, err := buildPreview(previewInput{
		typ: typ, tenant: tenant.Name, brand: brand, publicURL: s.personal.PublicURL, settings: settings,
		user: user, doc: doc, docErr: docErr, sample: req.UserID == "",
		slack: slackCfg, webhook: webhookCfg, data: data, channel: req.Channel, link: req.Link,
		now: now, throttleUsed: throttleUsed,
	})
	if err != nil {
		return err
	}
	if req.UserID != "" {
		out.UserID = &req.UserID
	}
	return c.JSON(http.StatusOK, out)
}

// previewInput is everything a preview renders and decides from, read
// beforehand: building it does no I/O.
type previewInput struct {
	typ       catalog.EventType
	tenant    string
	publicURL string
	settings  prefs.Settings
	user      dbq.User
	doc       prefs.Document
	docErr    error
	// sample: no user was named; user is the sample recipient.
	sample  bool
	slack   *integrations.Slack
	webhook *integrations.Webhook
	data    map[string]any
	channel channel.Channel // "": every channel
	brand   branding.Branding
	link    string
	now     time.Time
	// throttleUsed is the recipient's count in the type's current
	// throttle window.
	throttleUsed int
}

// buildPreview renders the type for the input's recipient on each channel
// (or the one asked for) and decides, as a page of deliveries would,
// whether they would get it. A render past a bound is the 422 a PUT of the
// same templates would answer.
func buildPreview(in previewInput) (previewResponse, error) {
	typ := in.typ
	rawData, err := json.Marshal(in.data)
	if err != nil {
		return previewResponse{}, err
	}
	r, err := catalog.NewRenderer(typ)
	if err != nil {
		return previewResponse{}, templateError(err)
	}
	r.Tenant, r.Brand = in.tenant, in.brand
	r.Locale, r.Zone = in.settings.Locale, in.settings.Timezone
	user, data, link := in.user, in.data, in.link
	who := catalog.Recipient{ID: user.ID, Name: user.Name, Email: user.Email, Locale: user.Locale, Timezone: user.Timezone}
	p := previewer{typ: typ, settings: in.settings, doc: in.doc, docErr: in.docErr, user: user}
	wants := func(ch channel.Channel) bool { return in.channel == "" || in.channel == ch }
	out := previewResponse{Type: typ.Key, Urgent: typ.Urgent, Locale: r.Language(who)}
	if t := typ.Throttle; t != nil {
		if end, ok := t.WindowEnd(in.now); ok {
			out.Throttle = &throttlePreview{Max: t.Max, Per: t.Per, Used: in.throttleUsed, WindowEnds: end}
			p.throttled = in.throttleUsed >= t.Max
		}
	}

	if wants(channel.InApp) && (typ.Has(channel.InApp) || in.channel == channel.InApp) {
		n, err := r.Notice(data, who, link)
		if err != nil {
			return out, templateError(err)
		}
		out.Channels.InApp = &inAppPreview{previewDecision: p.decide(channel.InApp, true), Title: n.Subject, Body: n.Body, Link: link}
	}
	if wants(channel.Email) && (typ.Plans(channel.Email) || in.channel == channel.Email) {
		e, err := r.Email(data, who, link)
		if err != nil {
			return out, templateError(err)
		}
		if typ.Category != "" && !in.settings.Required.RequiredOn(typ.Key, typ.Category, channel.Email) {
			// Each send seals the recipient's own token here. A preview
			// shows a placeholder: a real token would unsubscribe whoever
			// followed the link from a shared screen.
			e = catalog.WithUnsubscribe(e, in.publicURL+"/unsubscribe/preview", typ.Category)
		}
		out.Channels.Email = &emailPreview{previewDecision: p.decide(channel.Email, true),
			To: user.Email, Subject: e.Subject, Text: e.Text, HTML: e.HTML}
	}
	routes := integrations.Plan(in.slack, in.webhook, typ.Key, typ.Category, typ.Has(channel.Slack))
	if wants(channel.Slack) && (typ.Plans(channel.Slack) || len(routes.SlackChannels) > 0 || in.channel == channel.Slack) {
		m, err := slackmsg.Build(typ, r, data, link, r.Sender(), who)
		if err != nil {
			return out, templateError(err)
		}
		sp := &slackPreview{Message: m, Channels: routes.SlackChannels}
		if sp.Channels == nil {
			sp.Channels = []string{}
		}
		botToken := in.slack != nil && in.slack.BotTokenSet
		switch {
		case !typ.Plans(channel.Slack):
			sp.previewDecision = previewDecision{Reason: previewNotOnType}
		case !botToken:
			sp.previewDecision = previewDecision{Reason: previewNotConfigured}
		default:
			sp.previewDecision = p.decide(channel.Slack, user.SlackUserID != "")
		}
		sp.DM = sp.WouldSend
		if len(sp.Channels) > 0 {
			// The routed posts go out whatever the recipient chose.
			sp.previewDecision = previewDecision{WouldSend: true, QuietHours: sp.QuietHours && sp.DM}
		}
		out.Channels.Slack = sp
	}
	if wants(channel.Webhook) {
		wp := &webhookPreview{TenantEndpoint: routes.Webhook, Payload: integrations.WebhookPayload{
			EventID: uuid.Nil.String(), EventType: typ.Key, Timestamp: in.now.UTC().Truncate(time.Second), Data: rawData}}
		hookURL := in.doc.Channels[string(channel.Webhook)].URL
		if !in.sample && hookURL != nil && *hookURL != "" {
			wp.previewDecision = p.decide(channel.Webhook, user.WebhookSecrets != "")
			wp.UserEndpoint = wp.WouldSend
			wp.Payload.UserID = user.ID
		} else {
			wp.previewDecision = previewDecision{Reason: previewNotConfigured}
		}
		if wp.TenantEndpoint {
			wp.previewDecision = previewDecision{WouldSend: true}
		}
		out.Channels.Webhook = wp
	}
	return out, nil
}

// previewIntegrations reads the tenant's Slack and webhook configuration
// (never their secrets); nil where none is set up.
func (s *Server) previewIntegrations(c echo.Context, tenantID uuid.UUID) (*integrations.Slack, *integrations.Webhook, error) {
	ctx, q := c.Request().Context(), dbq.New(s.pool)
	config := func(kind integrations.Kind) ([]byte, error) {
		row, err := q.GetIntegration(ctx, dbq.GetIntegrationParams{TenantID: tenantID, Kind: kind})
		if isNoRows(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		cfg := row.Config
		if kind == integrations.KindWebhook && row.DisabledAt != nil {
			// As delivery reads it: an endpoint disabled by a 410 gets nothing.
			var m map[string]any
			if err := json.Unmarshal(cfg, &m); err != nil {
				return nil, err
			}
			m["disabled"] = true
			return json.Marshal(m)
		}
		return cfg, nil
	}
	rawSlack, err := config(integrations.KindSlack)
	if err != nil {
		return nil, nil, err
	}
	rawHook, err := config(integrations.KindWebhook)
	if err != nil {
		return nil, nil, err
	}
	slack, err := integrations.Parse[integrations.Slack](rawSlack)
	if err != nil {
		return nil, nil, err
	}
	hook, err := integrations.Parse[integrations.Webhook](rawHook)
	return slack, hook, err
}

// previewer decides, per channel, as a page of deliveries would.
type previewer struct {
	typ      catalog.EventType
	settings prefs.Settings
	doc      prefs.Document
	docErr   error
	user     dbq.User
	// throttled: the recipient has had the throttle's max in this window.
	throttled bool
}

func (p previewer) decide(ch channel.Channel, hasAddress bool) previewDecision {
	if p.docErr != nil {
		return previewDecision{Reason: previewUnreadablePrefs}
	}
	d := prefs.Decide(p.doc, p.settings, prefs.Subject{
		EventType: p.typ.Key, Category: p.typ.Category, Channel: ch,
		Urgent: p.typ.Urgent, HasAddress: hasAddress, UserTimezone: p.user.Timezone,
	})
	switch {
	case !d.Send:
		return previewDecision{Reason: string(d.Reason)}
	case p.throttled && !p.settings.Required.RequiredOn(p.typ.Key, p.typ.Category, ch):
		// As a page decides: a required channel neither counts nor waits.
		st, reason := delivery.Pending, delivery.None
		if d.Digested(ch, p.typ.Key) {
			st, reason = delivery.Skipped, delivery.Digested
		}
		_, reason = p.typ.Throttle.Overflowed(st, reason)
		return previewDecision{Reason: string(reason)}
	case d.Digested(ch, p.typ.Key):
		return previewDecision{Reason: string(delivery.Digested)}
	}
	out := previewDecision{WouldSend: true, QuietHours: d.Quiet != nil && (ch == channel.Email || ch == channel.Slack)}
	// A recipient who gets the in-app item gets the escalation channels
	// only once it has gone unread; one without it gets them at once.
	if p.typ.EscalatesTo(ch) && p.typ.Has(channel.InApp) && p.decide(channel.InApp, true).WouldSend {
		out.EscalatesAfter = p.typ.Escalate.After
	}
	return out
}
