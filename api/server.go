// Package api serves Herald's REST API (v1) with Echo.
package api

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.temporal.io/sdk/client"

	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/intake"
	"github.com/heraldhq/herald/internal/apikey"
	"github.com/heraldhq/herald/internal/inboxfeed"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/netguard"
	"github.com/heraldhq/herald/seal"
)

// Server holds the API's dependencies.
type Server struct {
	pool     *pgxpool.Pool
	temporal client.Client
	intake   *intake.Service
	links    *seal.Sealer
	guard    netguard.Guard
	limits   *limiter
	log      *slog.Logger
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
	s := &Server{pool: opts.Pool, temporal: opts.Temporal, links: opts.Links, guard: opts.Guard, limits: newLimiter(opts.RateLimit, opts.RateBurst), log: opts.Logger, feed: opts.Feed}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.intake = &intake.Service{Pool: opts.Pool, Temporal: opts.Temporal, TaskQueue: opts.TaskQueue, Log: s.log}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	// Behind a proxy on a private network, the client is the first address
	// in X-Forwarded-For, not the proxy.
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
	e.Use(limitBody, refuseNUL)
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
	v1.GET("/event-types", s.listEventTypes)
	v1.PUT("/event-types/:key", s.putEventType)
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
		// Before the key is looked up, so a flood costs the database nothing;
		// keyed by the key's hash, never the key.
		if s.limits != nil {
			if d := s.limits.wait(string(apikey.Hash(strings.TrimSpace(key))), time.Now()); d > 0 {
				c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
				return rateLimited(d)
			}
		}
		ctx := c.Request().Context()
		q := dbq.New(s.pool)
		found, err := q.TenantByAPIKey(ctx, apikey.Hash(strings.TrimSpace(key)))
		if err != nil {
			if isNoRows(err) {
				return newError(http.StatusUnauthorized, "unauthorized", "API key is invalid or revoked")
			}
			return err
		}
		// One write a minute per key at most, so busy keys do not turn every
		// request into an UPDATE. Last use is informational: failing to record
		// it must not refuse a valid key.
		if found.RecordUse {
			if err := q.TouchAPIKey(ctx, found.KeyID); err != nil {
				s.log.WarnContext(ctx, "recording API key use", "key_id", found.KeyID, "error", err)
			}
		}
		c.Set("tenant", found.Tenant)
		return next(c)
	}
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
	t, err := dbq.New(s.pool).GetTenant(c.Request().Context(), in.TenantID)
	if isNoRows(err) {
		return newError(http.StatusUnauthorized, "unauthorized", "the inbox token's tenant no longer exists")
	}
	if err != nil {
		return err
	}
	c.Set("tenant", t)
	return next(c)
}
