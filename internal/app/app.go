// Package app assembles Herald's processes (API server, worker) from
// configuration; the herald command, the dev stack and tests share it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/api"
	"github.com/heraldhq/herald/audit"
	"github.com/heraldhq/herald/emitter"
	"github.com/heraldhq/herald/intake"
	"github.com/heraldhq/herald/internal/circuit"
	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/mailer"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/netguard"
	"github.com/heraldhq/herald/personal"
	"github.com/heraldhq/herald/seal"
	"github.com/heraldhq/herald/worker"
)

// OpenDB connects a pool to the configured database and checks it answers.
func OpenDB(ctx context.Context, cfg config.Config) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("HERALD_DATABASE_URL: %w", err)
	}
	// Fan-out overlaps page writes with sending, so the driver's default
	// (4 or the core count) starves it; an explicit pool_max_conns wins.
	if !strings.Contains(cfg.DatabaseURL, "pool_max_conns") && pc.MaxConns < 20 {
		pc.MaxConns = 20
	}
	// pgx prepares every query; after five runs PostgreSQL may switch a
	// connection to a generic plan made while the tables were small (a
	// sequential scan of deliveries, say) and keep it as they grow. Herald's
	// queries are keyed lookups whose custom plans are cheap to make, so it
	// plans each execution, unless the URL or PGOPTIONS says otherwise.
	if _, set := pc.ConnConfig.RuntimeParams["plan_cache_mode"]; !set && !strings.Contains(os.Getenv("PGOPTIONS"), "plan_cache_mode") {
		pc.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to PostgreSQL at HERALD_DATABASE_URL: %s", oneLine(err))
	}
	return pool, nil
}

// oneLine folds a multi-line error (pgx lists every address it tried) so
// the command's error stays on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// DialTemporal connects to the configured Temporal frontend.
func DialTemporal(ctx context.Context, cfg config.Config, logger *slog.Logger) (client.Client, error) {
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  cfg.TemporalAddress,
		Namespace: cfg.TemporalNamespace,
		Logger:    tlog.NewStructuredLogger(quiet(logger)),
		// The SDK's own metrics (poll, task and activity latencies, request
		// counts) go to the registry that /metrics serves.
		MetricsHandler: metrics.Temporal(),
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to Temporal at HERALD_TEMPORAL_ADDRESS %s: %s", cfg.TemporalAddress, oneLine(err))
	}
	return c, nil
}

// quiet drops the SDK's info chatter (one line per poller start) but keeps
// its warnings.
func quiet(l *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{l.Handler(), slog.LevelWarn})
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

// WithAttrs and WithGroup keep the filter on derived loggers: the SDK adds
// attributes (namespace, task queue) before it logs.
func (f levelFilter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelFilter{f.Handler.WithAttrs(attrs), f.min}
}

func (f levelFilter) WithGroup(name string) slog.Handler {
	return levelFilter{f.Handler.WithGroup(name), f.min}
}

// outboundTimeout bounds one Slack or webhook request: a server that
// accepts and never answers is a failed attempt, retried later.
const outboundTimeout = 10 * time.Second

// webhooksPerHost bounds concurrent webhook requests to one host.
const webhooksPerHost = 4

// NewActivities builds the activities from configuration, with one SMTP
// connection pool for the whole process.
func NewActivities(cfg config.Config, pool *pgxpool.Pool) (*activities.Activities, *mailer.Relays, error) {
	sender, err := mailer.NewRelays(cfg.SMTPURLs, cfg.MailFrom, smtpMaxConns(cfg), mailer.RelayOptions{
		Cooldown: cfg.SMTPCooldown,
		OnState: func(relay int, addr string, st circuit.State) {
			metrics.SMTPRelayState.WithLabelValues(strconv.Itoa(relay), addr).Set(float64(st))
		},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("HERALD_SMTP_URL: %w", err)
	}
	links, err := Links(cfg)
	if err != nil {
		return nil, nil, err
	}
	email := &activities.EmailSender{Mail: sender, Domain: mailDomain(cfg.MailFrom), Links: links, PublicURL: cfg.PublicURL}
	// Endpoints that tenants and users configure are dialled through the
	// SSRF guard; Slack's own API (or its test override) is the operator's.
	guard := netguard.Guard{AllowPrivate: cfg.WebhookAllowPrivate}
	slackSender := &activities.SlackSender{APIURL: cfg.SlackAPIURL, API: &http.Client{Timeout: outboundTimeout}, Hooks: guard.Client(outboundTimeout)}
	webhooks := &activities.WebhookSender{HTTP: guard.Client(outboundTimeout), PerHost: webhooksPerHost}
	acts := activities.New(pool, email, slackSender, webhooks)
	acts.Seal, acts.PublicURL = links, cfg.PublicURL
	acts.Checkpoints = audit.NewSigner(cfg.SigningKey)
	return acts, sender, nil
}

func mailDomain(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		if _, domain, ok := strings.Cut(a.Address, "@"); ok && domain != "" {
			return domain
		}
	}
	return "herald.local"
}

// CheckMail validates the SMTP settings without connecting, so a worker
// refuses a bad HERALD_SMTP_URL before it touches anything.
func CheckMail(cfg config.Config) error {
	if _, err := mailer.NewRelays(cfg.SMTPURLs, cfg.MailFrom, smtpMaxConns(cfg), mailer.RelayOptions{}); err != nil {
		return fmt.Errorf("HERALD_SMTP_URL: %w", err)
	}
	return nil
}

// Worker is a worker process's moving parts: the Temporal worker, the
// reconciler that starts stranded events, and the SMTP pool.
type Worker struct {
	Temporal sdkworker.Worker
	// ReconcileEvery and ReconcileAfter pace the reconciler: every so often
	// it starts events accepted that long ago whose start was never confirmed.
	ReconcileEvery, ReconcileAfter time.Duration
	// ArmEvery is how often it looks for digest windows to start.
	ArmEvery time.Duration
	// CheckpointEvery is how often it signs checkpoints of the audit
	// chains that have grown.
	CheckpointEvery time.Duration

	pool        *pgxpool.Pool
	checkpoints *audit.Signer
	log         *slog.Logger

	intake *intake.Service
	mail   *mailer.Relays
	// metrics serves /metrics when HERALD_METRICS_ADDR is set.
	metrics *http.Server
	stop    context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

// NewWorker returns a worker on the configured task queue, ready to start.
func NewWorker(cfg config.Config, pool *pgxpool.Pool, tc client.Client, logger *slog.Logger) (*Worker, error) {
	acts, sender, err := NewActivities(cfg, pool)
	if err != nil {
		return nil, err
	}
	in := &intake.Service{Pool: pool, Temporal: tc, TaskQueue: cfg.TaskQueue, Log: logger}
	w := &Worker{
		Temporal: worker.New(tc, cfg.TaskQueue, acts, &emitter.Activities{Pool: pool, Intake: in,
			Approvals: emitter.ApprovalDeps{Links: acts.Seal, Log: logger,
				Callbacks: netguard.Guard{AllowPrivate: cfg.WebhookAllowPrivate}.Client(outboundTimeout)}}),
		ReconcileEvery: 30 * time.Second, ReconcileAfter: time.Minute, ArmEvery: time.Second,
		CheckpointEvery: 10 * time.Minute,
		pool:            pool,
		checkpoints:     audit.NewSigner(cfg.SigningKey),
		log:             logger,
		intake:          in,
		mail:            sender,
	}
	if cfg.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", metrics.Handler())
		w.metrics = &http.Server{Addr: cfg.MetricsAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	}
	return w, nil
}

// Start starts polling, the reconciler, the digest armer, the audit
// checkpointer, makes sure the retention schedule exists and, if
// configured, serves /metrics.
func (w *Worker) Start() error {
	if w.metrics != nil {
		ln, err := net.Listen("tcp", w.metrics.Addr)
		if err != nil {
			return fmt.Errorf("HERALD_METRICS_ADDR: %w", err)
		}
		go func() { _ = w.metrics.Serve(ln) }()
	}
	if err := w.Temporal.Start(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.stop, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		// The digest armer: a page arms a window in its transaction, and
		// this starts the window's workflow, so a fan-out never waits on
		// Temporal for its digests.
		armed := make(chan struct{})
		go func() { defer close(armed); w.intake.RunDigestArmer(ctx, w.ArmEvery) }()
		checkpointed := make(chan struct{})
		go func() {
			defer close(checkpointed)
			runAuditCheckpointer(ctx, w.pool, w.checkpoints, w.CheckpointEvery, w.log)
		}()
		scheduled := make(chan struct{})
		go func() { defer close(scheduled); w.scheduleRetention(ctx) }()
		w.intake.RunReconciler(ctx, w.ReconcileEvery, w.ReconcileAfter)
		<-armed
		<-checkpointed
		<-scheduled
	}()
	return nil
}

// scheduleRetention makes sure the retention schedule exists, trying again
// every minute while Temporal does not take it.
func (w *Worker) scheduleRetention(ctx context.Context) {
	for {
		err := w.intake.EnsureRetentionSchedule(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		w.log.Warn("scheduling retention", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Minute):
		}
	}
}

// Stop stops the reconciler, then the worker, which lets activities in
// flight finish (their sends and records) before it returns.
func (w *Worker) Stop() {
	w.once.Do(func() {
		if w.stop != nil {
			w.stop()
			<-w.done
		}
		w.Temporal.Stop()
		w.mail.Close()
		if w.metrics != nil {
			_ = w.metrics.Close()
		}
	})
}

// NewHandler returns the REST API's HTTP handler. It streams inbox changes
// (one listening connection, opened with the first stream); Serve closes
// the streams when it shuts down, and so must anyone else serving it
// (CloseStreams).
func NewHandler(cfg config.Config, pool *pgxpool.Pool, tc client.Client, logger *slog.Logger) (http.Handler, error) {
	links, err := Links(cfg)
	if err != nil {
		return nil, err
	}
	feed := api.NewFeed(pool, logger, personal.Minter{Seal: links, PublicURL: cfg.PublicURL})
	h := api.New(api.Options{Pool: pool, Temporal: tc, TaskQueue: cfg.TaskQueue, Logger: logger, Links: links, PublicURL: cfg.PublicURL,
		Checkpoints: audit.NewSigner(cfg.SigningKey),
		Guard:       netguard.Guard{AllowPrivate: cfg.WebhookAllowPrivate}, RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst,
		Feed: feed})
	return Handler{Handler: h, feed: feed}, nil
}

// Handler is the API with its inbox feed.
type Handler struct {
	http.Handler
	feed interface{ Close() }
}

// CloseStreams ends every open inbox stream, so a shutdown does not wait on
// them, and stops listening for changes.
func (h Handler) CloseStreams() { h.feed.Close() }

// CloseStreams closes h's streams if it has any.
func CloseStreams(h http.Handler) {
	if c, ok := h.(interface{ CloseStreams() }); ok {
		c.CloseStreams()
	}
}

// Links is the sealer of the tokens in links, keyed by HERALD_SIGNING_KEY:
// the API opens what the worker's emails carry.
func Links(cfg config.Config) (*seal.Sealer, error) {
	if cfg.SigningKey == "" {
		return nil, errors.New("HERALD_SIGNING_KEY is not set: it signs unsubscribe links and other tokens")
	}
	links, err := seal.New(cfg.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("HERALD_SIGNING_KEY: %w", err)
	}
	return links, nil
}

// smtpMaxConns is HERALD_SMTP_MAX_CONNS: SMTP connections per worker process.
func smtpMaxConns(cfg config.Config) int { return cfg.SMTPMaxConns }
