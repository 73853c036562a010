// Package api serves Herald's REST API (v1) with Echo.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.temporal.io/sdk/client"

	"github.com/heraldhq/herald/audit"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/intake"
	"github.com/heraldhq/herald/internal/apikey"
	"github.com/heraldhq/herald/internal/inboxfeed"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/netguard"
	"github.com/heraldhq/herald/personal"
	"github.com/heraldhq/herald/seal"
)

// Server holds the API's dependencies.
type Server struct {
	pool     *pgxpool.Pool
	temporal client.Client
	intake   *intake.Service
	links    *seal.Sealer
	signer   *audit.Signer
	// personal mints users' own links (an approver's) as their inbox
	// items are served.
	personal personal.Minter
	guard    netguard.Guard
	limits   *limiter
	// gate limits failed authentications per client address.
	gate *authGate
	// lookupKey finds an API key's tenant by the key's hash.
	lookupKey func(ctx context.Context, hash []byte) (dbq.TenantByAPIKeyRow, error)
	log       *slog.Logger
	// feed streams inbox changes; nil: no streams.
	feed *inboxfeed.Hub
}

// Options configure a Server.
type Options struct {
	Pool      *pgxpool.Pool
	Temporal  client.Client
	TaskQueue string
	Logger    *slog.Logger
	// Links opens the tokens of unsubscribe links and seals integration secrets.
	Links *seal.Sealer
	// Checkpoints signs and checks the audit trail's checkpoints.
	Checkpoints *audit.Signer
	// PublicURL is the base of the links the API mints (HERALD_PUBLIC_URL).
	PublicURL string
	// Guard checks webhook and Slack URLs when they are configured.
	Guard netguard.Guard
	// RateLimit (requests per second per API key, 0: none) and RateBurst
	// bound each key in this process.
	RateLimit float64
	RateBurst int
	// Feed streams inbox changes to open streams (NewFeed).
	Feed *inboxfeed.Hub
}

// New builds the Echo instance serving the whole API.
func New(opts Options) *echo.Echo {
	var temporal client.Client
	if opts.Temporal != nil {
		temporal = boundedTemporal{opts.Temporal}
	}
	s := &Server{pool: opts.Pool, temporal: temporal, links: opts.Links, signer: opts.Checkpoints,
		personal: personal.Minter{Seal: opts.Links, PublicURL: opts.PublicURL}, guard: opts.Guard,
		limits: newLimiter(opts.RateLimit, opts.RateBurst), gate: newAuthGate(), log: opts.Logger, feed: opts.Feed}
	s.lookupKey = func(ctx context.Context, hash []byte) (dbq.TenantByAPIKeyRow, error) {
		return dbq.New(s.pool).TenantByAPIKey(ctx, hash)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.intake = &intake.Service{Pool: opts.Pool, Temporal: temporal, TaskQueue: opts.TaskQueue, Log: s.log}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	// Behind a proxy on a private network, the client is the last address
	// in X-Forwarded-For that is not a trusted (loopback, link-local or
	// private) one. A peer on a public address cannot name another: its
	// header is ignored. A peer on a private network can; the README's
	// Security section says what a deployment must ensure.
	e.IPExtractor = echo.ExtractIPFromXFFHeader()
	e.JSONSerializer = jsonSerializer{}
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true}))
	e.Use(middleware.RequestID())
	// Browsers call the inbox routes from the apps that embed the widget,
	// with a token, never a cookie: any origin may, and none gets more than
	// its token opens.
	e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins: []string{"*"},
		AllowMethods: []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowHeaders: []string{echo.HeaderAuthorization, echo.HeaderContentType, "Last-Event-ID", "Idempotency-Key"},
		MaxAge:       600,
	}))
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogMethod: true, LogURIPath: true, LogLatency: true, LogRequestID: true,
		HandleError: true,
		// The path only: query strings will carry inbox tokens, and token
		// routes log their pattern.
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			path := v.URIPath
			if strings.Contains(c.Path(), ":token") {
				path = c.Path() // the token in the path is a credential
			}
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			s.log.LogAttrs(c.Request().Context(), level, "request",
				slog.String("method", v.Method), slog.String("path", path), slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency), slog.String("request_id", v.RequestID))
			return nil
		},
	}))
	e.Use(measure)
	// After the logger, so refused bodies and URLs are logged too.
	e.Use(limitBody, refuseBadText)
	s.routes(e)
	return e
}

func (s *Server) routes(e *echo.Echo) {
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/openapi.json", s.openapi)
	e.GET("/metrics", echo.WrapHandler(metrics.Handler()))
	e.GET("/inbox", htmlErrors(s.serveInboxPage))
	e.GET("/inbox/widget.js", s.serveWidget)
	e.GET("/unsubscribe/:token", htmlErrors(s.unsubscribePage))
	e.POST("/unsubscribe/:token", htmlErrors(s.unsubscribe))
	e.GET("/a/:token", approvalPageErrors(s.approvalLinkPage))
	e.POST("/a/:token", approvalPageErrors(s.approvalLinkDecide))

	v1 := e.Group("/v1", s.authenticate)
	v1.PUT("/users/:id", s.putUser)
	v1.GET("/users/:id", s.getUser)
	v1.DELETE("/users/:id", s.deleteUser)
	v1.GET("/users/:id/preferences", s.getPreferences)
	v1.PUT("/users/:id/preferences", s.putPreferences)
	v1.GET("/tenant/settings", s.getSettings)
	v1.PUT("/tenant/settings", s.putSettings)
	v1.GET("/tenant/branding", s.getBranding)
	v1.PUT("/tenant/branding", s.putBranding)
	v1.GET("/integrations/slack", s.getSlack)
	v1.PUT("/integrations/slack", s.putSlack)
	v1.GET("/integrations/webhook", s.getWebhook)
	v1.PUT("/integrations/webhook", s.putWebhook)
	v1.POST("/test-notification", s.testNotification)
	v1.POST("/batches", s.postBatch)
	v1.POST("/experiments", s.postExperiment)
	v1.GET("/experiments/:id", s.getExperiment)
	v1.POST("/experiments/:id/samples", s.postSamples)
	v1.POST("/experiments/:id/conclude", s.concludeExperiment)
	v1.GET("/batches/:id", s.getBatch)
	v1.POST("/batches/:id/jobs/:job/complete", s.completeJob)
	v1.GET("/channels", s.listChannels)
	v1.GET("/event-types", s.listEventTypes)
	v1.PUT("/event-types/:key", s.putEventType)
	v1.GET("/event-types/:key/versions", s.listEventTypeVersions)
	v1.POST("/event-types/:key/preview", s.previewEventType)
	v1.POST("/events", s.postEvent)
	v1.GET("/events/:id", s.getEvent)
	v1.DELETE("/events/:id", s.cancelEvent)
	v1.GET("/deliveries", s.listDeliveries)
	v1.POST("/deliveries/:id/retry", s.retryDelivery)
	v1.POST("/deliveries/retry", s.retryDeliveries)
	v1.GET("/audit/verify", s.verifyAudit)
	v1.GET("/audit", s.listAudit)
	v1.GET("/users/:id/notifications", s.listNotifications)
	v1.PATCH("/users/:id/notifications/:nid/read", s.markRead)
	v1.POST("/users/:id/notifications/mark_all_read", s.markAllRead)
	v1.GET("/users/:id/notifications/unread_count", s.unreadCount)
	v1.GET("/users/:id/notifications/stream", s.streamNotifications)
	v1.PATCH("/users/:id/notifications/:nid", s.patchNotification)
	v1.POST("/users/:id/notifications/mark_all_seen", s.markAllSeen)
	v1.POST("/users/:id/notifications/archive_all_read", s.archiveAllRead)
	v1.POST("/users/:id/notifications/:nid/snooze", s.snoozeNotification)
	v1.POST("/users/:id/inbox-token", s.createInboxToken)
	v1.POST("/approvals", s.postApproval)
	v1.GET("/approvals/:id", s.getApproval)
	v1.DELETE("/approvals/:id", s.withdrawApproval)
	v1.POST("/approvals/:id/decision", s.decideApproval)
	v1.GET("/suppressions", s.listSuppressions)
	v1.POST("/suppressions", s.addSuppression)
	v1.DELETE("/suppressions/:address", s.deleteSuppression)

}

// authenticate resolves the Bearer API key to its tenant.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		auth := c.Request().Header.Get(echo.HeaderAuthorization)
		key, ok := strings.CutPrefix(auth, "Bearer ")
		if tok := inboxToken(c, key); tok != "" {
			return s.inboxAuth(c, tok, next)
		}
		if !ok || !apikey.Plausible(strings.TrimSpace(key)) {
			return newError(http.StatusUnauthorized, "unauthorized", "send Authorization: Bearer <API key>")
		}
		// Both limits answer before the key is looked up, so a flood costs
		// the database nothing; they go by the key's hash, never the key.
		hash := apikey.Hash(strings.TrimSpace(key))
		addr, now := c.RealIP(), time.Now()
		if s.limits != nil {
			if d := s.limits.peek(string(hash), now); d > 0 {
				return refuse(c, d, rateLimited)
			}
		}
		if d := s.gate.blocked(addr, string(hash), now); d > 0 {
			return refuse(c, d, tooManyFailures)
		}
		ctx := c.Request().Context()
		found, err := s.lookupKey(ctx, hash)
		if err != nil {
			if isNoRows(err) {
				s.gate.failed(addr, string(hash), time.Now())
				return newError(http.StatusUnauthorized, "unauthorized", "API key is invalid or revoked")
			}
			return err
		}
		s.gate.succeeded(string(hash))
		// Only a key that authenticated gets a bucket, so random keys
		// cannot fill the limiter.
		if s.limits != nil {
			if d := s.limits.wait(string(hash), time.Now()); d > 0 {
				return refuse(c, d, rateLimited)
			}
		}
		// One write a minute per key at most, so busy keys do not turn every
		// request into an UPDATE. Last use is informational: failing to record
		// it must not refuse a valid key.
		if found.RecordUse {
			if err := dbq.New(s.pool).TouchAPIKey(ctx, found.KeyID); err != nil {
				s.log.WarnContext(ctx, "recording API key use", "key_id", found.KeyID, "error", err)
			}
		}
		c.Set("tenant", found.Tenant)
		return next(c)
	}
}

// refuse answers a limited request: 429 with Retry-After.
func refuse(c echo.Context, d time.Duration, answer func(time.Duration) *Error) error {
	c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfter(d)))
	return answer(d)
}

func tenantOf(c echo.Context) dbq.Tenant { return c.Get("tenant").(dbq.Tenant) }

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz reports whether the API can do its work: both PostgreSQL and
// Temporal must answer within a short deadline.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "temporal": "ok"}
	ready := true
	if err := s.pool.Ping(ctx); err != nil {
		checks["postgres"], ready = "unreachable", false
		s.log.Warn("readiness: postgres", "error", err)
	}
	if _, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], ready = "unreachable", false
		s.log.Warn("readiness: temporal", "error", err)
	}
	if !ready {
		return (&Error{Status: http.StatusServiceUnavailable, Code: "not_ready", Message: "a dependency is unreachable"}).with("checks", checks)
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ready", "checks": checks})
}

// measure counts requests and their latency by route pattern (never the raw
// path, which carries IDs) and status.
func measure(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		status := c.Response().Status
		if err != nil {
			var he *echo.HTTPError
			var ae *Error
			switch {
			case errors.As(err, &ae):
				status = ae.Status
			case errors.As(err, &he):
				status = he.Code
			default:
				status = http.StatusInternalServerError
			}
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		metrics.HTTPRequests.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Inc()
		metrics.HTTPDuration.WithLabelValues(route, c.Request().Method).Observe(time.Since(start).Seconds())
		return err
	}
}

// inboxScope is the routes an inbox token opens: one user's inbox, and
// their preferences (the inbox page's panel edits them).
const (
	inboxScope       = "/v1/users/:id/notifications"
	preferencesScope = "/v1/users/:id/preferences"
)

// inboxToken is the inbox token of a request to the inbox routes: ?token=
// (EventSource sends no headers) or a bearer that is not an API key.
func inboxToken(c echo.Context, bearer string) string {
	if !strings.HasPrefix(c.Path(), inboxScope) && c.Path() != preferencesScope {
		return ""
	}
	if t := c.QueryParam("token"); t != "" {
		return t
	}
	if b := strings.TrimSpace(bearer); b != "" && !strings.HasPrefix(b, apikey.Prefix) {
		return b
	}
	return ""
}

// inboxAuth lets an inbox token into its own user's inbox, and nowhere else.
func (s *Server) inboxAuth(c echo.Context, token string, next echo.HandlerFunc) error {
	if s.links == nil {
		return newError(http.StatusUnauthorized, "unauthorized", "inbox tokens are not accepted by this server")
	}
	in, err := s.links.OpenInbox(token, time.Now())
	if err != nil {
		return newError(http.StatusUnauthorized, "unauthorized", "the inbox token is invalid or has expired; ask for a new one")
	}
	if in.UserID != c.Param("id") {
		return newError(http.StatusForbidden, "forbidden", "this inbox token is for another user's inbox")
	}
	q := dbq.New(s.pool)
	t, err := q.GetTenant(c.Request().Context(), in.TenantID)
	if isNoRows(err) {
		return newError(http.StatusUnauthorized, "unauthorized", "the inbox token's tenant no longer exists")
	}
	if err != nil {
		return err
	}
	if in.Bound() {
		// A token outlives neither its user nor their deletion: a user
		// created later with the same ID is someone else.
		u, err := q.GetUser(c.Request().Context(), dbq.GetUserParams{TenantID: t.ID, ID: in.UserID})
		if isNoRows(err) || (err == nil && !sameUser(in, u)) {
			return newError(http.StatusUnauthorized, "unauthorized", "the inbox token's user has been deleted")
		}
		if err != nil {
			return err
		}
	}
	c.Set("tenant", t)
	c.Set(inboxTokenKey, in)
	return next(c)
}

// inboxTokenKey holds, in a request made with an inbox token, the token.
const inboxTokenKey = "inbox_token"

// inboxTokenOf is the inbox token a request was made with, if any.
func inboxTokenOf(c echo.Context) (seal.Inbox, bool) {
	in, ok := c.Get(inboxTokenKey).(seal.Inbox)
	return in, ok
}

// sameUser reports whether u is the user a token was issued for, not one
// created later with the same ID. An unbound token names the ID only.
func sameUser(in seal.Inbox, u dbq.User) bool {
	return !in.Bound() || in.UserCreated.UnixMicro() == u.CreatedAt.UnixMicro()
}
