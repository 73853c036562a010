// Package localstack runs a complete Herald deployment on loopback, each
// server real: PostgreSQL, a Temporal dev server, an SMTP catcher, and
// Herald's API and worker in process. The integration tests and the load
// command use it; `herald dev` runs the long-lived equivalent.
package localstack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/internal/app"
	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/dev/devstack"
	"github.com/heraldhq/herald/internal/dev/mailcatch"
)

// Options configure the servers.
type Options struct {
	TemporalBin string // path to the Temporal CLI
	// TemporalFile keeps Temporal's state in a SQLite file with the WAL
	// pragmas `herald dev` uses, rather than in memory; load figures use it
	// so they match the dev stack.
	TemporalFile bool
	// Durable runs PostgreSQL with its production settings (fsync and
	// synchronous commit on) rather than the fast, ephemeral ones: fault
	// tests kill it, and a commit it acknowledged must survive that, as in
	// production.
	Durable bool
	// Statements loads pg_stat_statements (see devstack.PostgresOptions).
	Statements bool
	Log        io.Writer // server output, written by several processes at once (see LogBuffer); nil discards
}

// Servers are the running third-party servers.
type Servers struct {
	Postgres *devstack.Postgres
	Temporal *devstack.Temporal
	Mail     *mailcatch.Server
	// ServiceURL connects as the service role (a member of
	// db.ServiceGroup), which every Herald started here runs as, as in
	// production; Postgres.URL is the owner, which migrated.
	ServiceURL string
	// Owner is a pool of the owner's, for what a test or a load run does
	// that the service may not (seed and ANALYZE, tamper with the audit
	// trail as an attacker with the owner's password would).
	Owner *pgxpool.Pool
	dir   string
}

// Start starts PostgreSQL (ephemeral, in a temporary directory), Temporal
// and the SMTP catcher, migrates the database as its owner and makes the
// service's login role.
func Start(ctx context.Context, opts Options) (_ *Servers, err error) {
	s := &Servers{}
	defer func() {
		if err != nil {
			s.Stop() // what started before the failure
		}
	}()
	if s.dir, err = os.MkdirTemp("", "herald-stack-"); err != nil {
		return nil, err
	}
	if _, err := os.Stat(opts.TemporalBin); err != nil {
		return nil, fmt.Errorf("%s is missing: run `make bin/temporal`", opts.TemporalBin)
	}
	if s.Postgres, err = devstack.StartPostgres(ctx, devstack.PostgresOptions{
		Dir: filepath.Join(s.dir, "pg"), Ephemeral: !opts.Durable, Statements: opts.Statements, Log: opts.Log,
	}); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	topts := devstack.TemporalOptions{Bin: opts.TemporalBin, SearchAttributes: contract.SearchAttributeNames, Log: opts.Log}
	if opts.TemporalFile {
		topts.DBFile = filepath.Join(s.dir, "temporal.db")
	}
	if s.Temporal, err = devstack.StartTemporal(ctx, topts); err != nil {
		return nil, fmt.Errorf("temporal: %w", err)
	}
	if s.Mail, err = mailcatch.Start("127.0.0.1:0", ""); err != nil {
		return nil, err
	}
	if _, _, err := db.Migrate(ctx, s.Postgres.URL); err != nil {
		return nil, err
	}
	if s.ServiceURL, err = db.EnsureServiceLogin(ctx, s.Postgres.URL, db.ServiceLogin); err != nil {
		return nil, err
	}
	if s.Owner, err = pgxpool.New(ctx, s.Postgres.URL); err != nil {
		return nil, err
	}
	return s, nil
}

// Stop stops every server and removes their data.
func (s *Servers) Stop() {
	if s.Owner != nil {
		s.Owner.Close()
	}
	if s.Mail != nil {
		_ = s.Mail.Close()
	}
	if s.Temporal != nil {
		_ = s.Temporal.Stop()
	}
	if s.Postgres != nil {
		_ = s.Postgres.Stop()
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// Herald is one Herald deployment over the servers: an API and a worker on
// one task queue, sending mail to one SMTP server.
type Herald struct {
	Config config.Config
	// Pool is the service's own, as the service role.
	Pool *pgxpool.Pool
	// Owner is the servers' owner pool (Servers.Owner).
	Owner    *pgxpool.Pool
	Temporal client.Client
	Worker   *app.Worker
	API      *httptest.Server
	// handler is the API's own, under any Wrap: it holds the streams.
	handler http.Handler
}

// StartHerald starts an API and a worker on taskQueue that send mail to
// smtpURL (the catcher's when empty).
func (s *Servers) StartHerald(ctx context.Context, smtpURL, taskQueue string, logger *slog.Logger) (h *Herald, err error) {
	return s.StartHeraldWith(ctx, HeraldOptions{SMTPURL: smtpURL, TaskQueue: taskQueue}, logger)
}

// HeraldOptions configure one Herald deployment over the servers.
type HeraldOptions struct {
	SMTPURL   string // the catcher's when empty
	TaskQueue string
	// TemporalAddress overrides the shared Temporal server's.
	TemporalAddress string
	// ReconcileEvery and ReconcileAfter override the worker's reconciler pace.
	ReconcileEvery, ReconcileAfter time.Duration
	// SlackAPIURL points the worker's Slack client at a test server.
	SlackAPIURL string
	// Env sets further HERALD_* variables (HERALD_SMTP_COOLDOWN, say).
	Env map[string]string
	// Wrap, when set, wraps the API's handler, as a test that watches
	// every answer needs.
	Wrap func(http.Handler) http.Handler
}

// TestSigningKey signs the links of test Heralds.
const TestSigningKey = "e2e-signing-key-0123456789abcdef0123456789"

// StartHeraldWith starts an API and a worker as opts say.
func (s *Servers) StartHeraldWith(ctx context.Context, opts HeraldOptions, logger *slog.Logger) (h *Herald, err error) {
	smtpURL, taskQueue := opts.SMTPURL, opts.TaskQueue
	if smtpURL == "" {
		smtpURL = s.Mail.URL()
	}
	temporalAddr := opts.TemporalAddress
	if temporalAddr == "" {
		temporalAddr = s.Temporal.Address
	}
	vars := map[string]string{
		"HERALD_DATABASE_URL": s.ServiceURL, "HERALD_TEMPORAL_ADDRESS": temporalAddr,
		"HERALD_TASK_QUEUE": taskQueue, "HERALD_SMTP_URL": smtpURL, "HERALD_MAIL_FROM": "Herald <herald@e2e.test>",
		"HERALD_WEBHOOK_ALLOW_PRIVATE": "true", "HERALD_SIGNING_KEY": TestSigningKey,
		"HERALD_SLACK_API_URL": opts.SlackAPIURL,
	}
	for k, v := range opts.Env {
		vars[k] = v
	}
	// The API's address is known before it serves, so links in emails
	// (PUBLIC_URL) point at it.
	srv := httptest.NewUnstartedServer(nil)
	vars["HERALD_PUBLIC_URL"] = "http://" + srv.Listener.Addr().String()
	h = &Herald{API: srv, Owner: s.Owner}
	defer func() {
		if err != nil {
			h.Stop()
		}
	}()
	if h.Config, err = config.Load(func(k string) string { return vars[k] }, "HERALD_DATABASE_URL"); err != nil {
		return nil, err
	}
	if h.Pool, err = app.OpenDB(ctx, h.Config); err != nil {
		return nil, err
	}
	if h.Temporal, err = app.DialTemporal(ctx, h.Config, logger); err != nil {
		return nil, err
	}
	if h.Worker, err = app.NewWorker(h.Config, h.Pool, h.Temporal, logger); err != nil {
		return nil, err
	}
	if opts.ReconcileEvery > 0 {
		h.Worker.ReconcileEvery, h.Worker.ReconcileAfter = opts.ReconcileEvery, opts.ReconcileAfter
	}
	if err := h.Worker.Start(); err != nil {
		return nil, err
	}
	if h.handler, err = app.NewHandler(h.Config, h.Pool, h.Temporal, logger); err != nil {
		return nil, err
	}
	srv.Config.Handler = h.handler
	if opts.Wrap != nil {
		srv.Config.Handler = opts.Wrap(h.handler)
	}
	srv.Start()
	return h, nil
}

// Stop stops the API and the worker.
func (h *Herald) Stop() {
	if h.API != nil {
		if h.handler != nil {
			app.CloseStreams(h.handler)
		}
		h.API.Close()
	}
	if h.Worker != nil {
		h.Worker.Stop()
	}
	if h.Temporal != nil {
		h.Temporal.Close()
	}
	if h.Pool != nil {
		h.Pool.Close()
	}
}

// SeedUsers adds n users to a tenant in one statement, user-000001 to
// user-<n> with addresses at fanout.test, for fan-out tests and load runs.
// pool is the owner's: only a table's owner may ANALYZE it.
func SeedUsers(ctx context.Context, pool *pgxpool.Pool, tenantID uuid.UUID, n int) error {
	_, err := pool.Exec(ctx, `INSERT INTO users (tenant_id, id, email, name)
		SELECT $1, 'user-' || lpad(g::text, 6, '0'), 'user-' || g || '@fanout.test', 'User ' || g
		FROM generate_series(1, $2::int) AS g`, tenantID, n)
	if err != nil {
		return err
	}
	// A bulk load is not in the planner's statistics until autovacuum gets
	// to it; seeding is a bulk load, so it analyzes as an import would.
	_, err = pool.Exec(ctx, `ANALYZE users`)
	return err
}

// LogBuffer collects the servers' output, safe for their concurrent writers,
// to show only when something fails.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
