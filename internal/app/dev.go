package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/internal/apikey"
	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/dev/devstack"
	"github.com/heraldhq/herald/internal/dev/mailcatch"
)

// DevOptions configure the one-machine dev stack.
type DevOptions struct {
	DataDir     string // .data: PostgreSQL cluster, Temporal's SQLite file, dev secrets
	TemporalBin string // ./bin/temporal
	Log         *slog.Logger
	Out         io.Writer // where the banner with the API key goes
}

// Fixed local addresses of the dev stack, as the README documents them.
const (
	devPostgresPort = 5433
	devTemporalPort = 7233
	devTemporalUI   = 8233
	devSMTPAddr     = "127.0.0.1:1025"
	devMailWebAddr  = "127.0.0.1:8025"
	demoTenant      = "demo"
)

// Dev starts whatever of PostgreSQL, Temporal and the SMTP catcher the
// environment does not already point at, migrates, seeds the demo tenant and
// runs the API and a worker until ctx ends; then it stops all it started.
func Dev(ctx context.Context, getenv func(string) string, opts DevOptions) (err error) {
	log := opts.Log
	var stops []func() error
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			if serr := stops[i](); serr != nil && err == nil {
				err = serr
			}
		}
	}()
	if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
		return err
	}
	env := map[string]string{}
	lookup := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return getenv(k)
	}

	startPG := getenv("HERALD_DATABASE_URL") == ""
	if startPG {
		log.Info("starting PostgreSQL", "dir", filepath.Join(opts.DataDir, "pg"))
		pg, err := devstack.StartPostgres(ctx, devstack.PostgresOptions{
			Dir: filepath.Join(opts.DataDir, "pg"), Port: devPostgresPort, Database: "herald",
			Log: logFile(opts.DataDir, "postgres.log", &stops),
		})
		if err != nil {
			return fmt.Errorf("starting PostgreSQL: %w", err)
		}
		stops = append(stops, pg.Stop)
		env["HERALD_DATABASE_URL"] = pg.URL
	}
	log.Info("PostgreSQL", "url", redact(lookup("HERALD_DATABASE_URL")))

	if getenv("HERALD_TEMPORAL_ADDRESS") == "" {
		log.Info("starting Temporal dev server", "db", filepath.Join(opts.DataDir, "temporal.db"))
		tmp, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{
			Bin: opts.TemporalBin, DBFile: filepath.Join(opts.DataDir, "temporal.db"),
			Port: devTemporalPort, UIPort: devTemporalUI, Namespace: nonEmpty(getenv("HERALD_TEMPORAL_NAMESPACE"), "default"),
			SearchAttributes: contract.SearchAttributeNames, Log: logFile(opts.DataDir, "temporal.log", &stops),
		})
		if err != nil {
			return fmt.Errorf("starting Temporal: %w", err)
		}
		stops = append(stops, tmp.Stop)
		env["HERALD_TEMPORAL_ADDRESS"] = tmp.Address
		log.Info("Temporal", "address", tmp.Address, "ui", tmp.UIURL)
	} else {
		log.Info("Temporal", "address", getenv("HERALD_TEMPORAL_ADDRESS"))
	}

	if getenv("HERALD_SMTP_URL") == "" {
		mc, err := mailcatch.Start(devSMTPAddr, devMailWebAddr)
		if err != nil {
			return fmt.Errorf("starting the SMTP catcher: %w", err)
		}
		stops = append(stops, mc.Close)
		env["HERALD_SMTP_URL"] = mc.URL()
		log.Info("SMTP catcher", "smtp", mc.SMTPAddr(), "web", "http://"+mc.HTTPAddr())
	}
	if getenv("HERALD_WEBHOOK_ALLOW_PRIVATE") == "" {
		env["HERALD_WEBHOOK_ALLOW_PRIVATE"] = "true"
	}
	if getenv("HERALD_SIGNING_KEY") == "" {
		key, err := devSecret(filepath.Join(opts.DataDir, "signing-key"), func() string {
			b := make([]byte, 32)
			_, _ = rand.Read(b)
			return hex.EncodeToString(b)
		})
		if err != nil {
			return err
		}
		env["HERALD_SIGNING_KEY"] = key
	}

	cfg, err := config.Load(lookup, "HERALD_DATABASE_URL")
	if err != nil {
		return err
	}
	if _, _, err := db.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	// The cluster it started is its own: it migrates as the superuser and
	// runs the API and the worker as the service role, as a deployment
	// does. A database given in HERALD_DATABASE_URL is used as given.
	if startPG {
		if cfg.DatabaseURL, err = db.EnsureServiceLogin(ctx, cfg.DatabaseURL, db.ServiceLogin); err != nil {
			return err
		}
		log.Info("API and worker connect as the service role", "role", db.ServiceLogin, "group", db.ServiceGroup)
	}
	pool, err := OpenDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	key, err := seedDemo(ctx, pool, getenv("HERALD_DEV_API_KEY"), filepath.Join(opts.DataDir, "dev-api-key"))
	if err != nil {
		return fmt.Errorf("seeding the demo tenant: %w", err)
	}

	tc, err := DialTemporal(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer tc.Close()
	w, err := NewWorker(cfg, pool, tc, log)
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("starting the worker: %w", err)
	}
	defer w.Stop()
	log.Info("worker polling", "task_queue", cfg.TaskQueue)

	handler, err := NewHandler(cfg, pool, tc, log)
	if err != nil {
		return err
	}
	return Serve(ctx, cfg.HTTPAddr, handler, func(addr string) {
		log.Info("API", "url", "http://"+addr)
		fmt.Fprintf(opts.Out, "\nHerald is running. Demo tenant %q, API key:\n\n    %s\n\n"+
			"Try: curl -H 'Authorization: Bearer %s' http://%s/v1/event-types\nCtrl-C stops everything.\n\n",
			demoTenant, key, key, addr)
	})
}

// seedDemo makes sure the demo tenant, a demo user and a usable API key
// exist. A random key is kept in keyFile so a restart prints the same one.
func seedDemo(ctx context.Context, pool *pgxpool.Pool, fixed, keyFile string) (string, error) {
	q := dbq.New(pool)
	tenant, err := FindTenant(ctx, q, demoTenant)
	if err != nil {
		var key string
		if tenant, key, err = CreateTenant(ctx, pool, demoTenant); err != nil {
			return "", err
		}
		if fixed == "" {
			if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
				return "", err
			}
		}
	}
	str := func(s string) *string { return &s }
	if _, err := q.UpsertUser(ctx, dbq.UpsertUserParams{TenantID: tenant.ID, ID: "demo-user", Email: str("demo@example.com"),
		Name: str("Demo User"), Timezone: str("UTC"), Role: str("owner")}); err != nil {
		return "", err
	}
	key := fixed
	if key == "" {
		key, err = devSecret(keyFile, apikey.New)
		if err != nil {
			return "", err
		}
	}
	if _, err := q.TenantByAPIKey(ctx, apikey.Hash(key)); err == nil {
		return key, nil
	}
	return CreateAPIKey(ctx, pool, tenant.ID.String(), key)
}

// devSecret reads a secret kept in path, creating it on first use.
func devSecret(path string, generate func() string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	s := generate()
	return s, os.WriteFile(path, []byte(s+"\n"), 0o600)
}

// logFile opens a server's log in dir; closing it is added to stops.
func logFile(dir, name string, stops *[]func() error) io.Writer {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return io.Discard
	}
	*stops = append(*stops, f.Close)
	return f
}

func nonEmpty(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// redact hides a URL's password in logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
