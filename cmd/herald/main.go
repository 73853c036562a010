// Command herald is Herald's single binary: the REST API, the Temporal
// worker, migrations, tenant and key administration, and the dev stack.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/internal/app"
	"github.com/heraldhq/herald/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "herald:", err)
		}
		os.Exit(2)
	}
}

// errUsage means the usage was already printed.
var errUsage = errors.New("usage")

type command struct {
	name, args, summary string
	vars                []string // HERALD_* variables it reads
	run                 func(ctx context.Context, args []string, getenv func(string) string, out io.Writer, log *slog.Logger) error
}

var (
	dbVars       = []string{"HERALD_DATABASE_URL"}
	temporalVars = []string{"HERALD_TEMPORAL_ADDRESS", "HERALD_TEMPORAL_NAMESPACE", "HERALD_TASK_QUEUE"}
	mailVars     = []string{"HERALD_SMTP_URL", "HERALD_MAIL_FROM"}
)

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

var commands = []command{
	{"serve", "", "serve the REST API", concat(dbVars, temporalVars, []string{"HERALD_HTTP_ADDR", "HERALD_PUBLIC_URL", "HERALD_SIGNING_KEY"}), cmdServe},
	{"worker", "", "run a Temporal worker (any number may share the task queue)", concat(dbVars, temporalVars, mailVars, []string{"HERALD_PUBLIC_URL", "HERALD_SLACK_API_URL", "HERALD_WEBHOOK_ALLOW_PRIVATE"}), cmdWorker},
	{"migrate", "", "bring the database schema up to date", dbVars, cmdMigrate},
	{"tenant", "create NAME", "create a tenant and print its first API key", dbVars, cmdTenant},
	{"apikey", "create --tenant T | revoke KEY-OR-ID", "create or revoke a tenant API key", dbVars, cmdAPIKey},
	{"audit", "verify", "verify the delivery log's hash chain (not built yet)", dbVars, cmdAudit},
	{"dev", "", "run everything on this machine: PostgreSQL, Temporal, SMTP catcher, API and worker", []string{"every HERALD_* variable (set ones are used as given)", "HERALD_DEV_API_KEY"}, cmdDev},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: herald COMMAND [ARGS]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %-36s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'herald COMMAND --help' for the variables a command reads.\n\nEnvironment:")
	for _, v := range config.Vars {
		def := ""
		if v.Default != "" {
			def = " (default " + v.Default + ")"
		}
		fmt.Fprintf(w, "  %-30s %s%s\n", v.Name, v.Help, def)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		rest := args[1:]
		if len(rest) > 0 && (rest[0] == "-h" || rest[0] == "--help") {
			fmt.Fprintf(stdout, "Usage: herald %s %s\n\n%s.\n\nReads: %s\n", c.name, c.args, capitalize(c.summary), strings.Join(c.vars, ", "))
			return nil
		}
		logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		return c.run(ctx, rest, getenv, stdout, logger)
	}
	fmt.Fprintf(stderr, "herald: unknown command %q\n\n", args[0])
	usage(stderr)
	return errUsage
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// connect opens what serve and worker both need: the database and Temporal.
// check runs on the configuration before any connection is made.
func connect(ctx context.Context, getenv func(string) string, log *slog.Logger, check func(config.Config) error) (
	cfg config.Config, pool *pgxpool.Pool, tc client.Client, closeAll func(), err error) {
	if cfg, err = config.Load(getenv, "HERALD_DATABASE_URL"); err != nil {
		return
	}
	if check != nil {
		if err = check(cfg); err != nil {
			return
		}
	}
	if pool, err = app.OpenDB(ctx, cfg); err != nil {
		return
	}
	if tc, err = app.DialTemporal(ctx, cfg, log); err != nil {
		pool.Close()
		return
	}
	return cfg, pool, tc, func() { tc.Close(); pool.Close() }, nil
}

func cmdServe(ctx context.Context, _ []string, getenv func(string) string, _ io.Writer, log *slog.Logger) error {
	cfg, pool, tc, closeAll, err := connect(ctx, getenv, log, nil)
	if err != nil {
		return err
	}
	defer closeAll()
	return app.Serve(ctx, cfg.HTTPAddr, app.NewHandler(cfg, pool, tc, log), func(addr string) {
		log.Info("API listening", "addr", "http://"+addr)
	})
}

func cmdWorker(ctx context.Context, _ []string, getenv func(string) string, _ io.Writer, log *slog.Logger) error {
	cfg, pool, tc, closeAll, err := connect(ctx, getenv, log, app.CheckMail)
	if err != nil {
		return err
	}
	defer closeAll()
	w, err := app.NewWorker(cfg, pool, tc, log)
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return err
	}
	log.Info("worker polling", "task_queue", cfg.TaskQueue, "temporal", cfg.TemporalAddress)
	<-ctx.Done()
	w.Stop()
	return nil
}

func cmdMigrate(ctx context.Context, _ []string, getenv func(string) string, out io.Writer, _ *slog.Logger) error {
	cfg, err := config.Load(getenv, "HERALD_DATABASE_URL")
	if err != nil {
		return err
	}
	from, to, err := db.Migrate(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "schema at version %d (was %d)\n", to, from)
	return nil
}

func cmdTenant(ctx context.Context, args []string, getenv func(string) string, out io.Writer, _ *slog.Logger) error {
	if len(args) != 2 || args[0] != "create" {
		return errors.New("usage: herald tenant create NAME")
	}
	cfg, err := config.Load(getenv, "HERALD_DATABASE_URL")
	if err != nil {
		return err
	}
	pool, err := app.OpenDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	t, key, err := app.CreateTenant(ctx, pool, args[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "tenant %s (%s)\nAPI key: %s\nThe key is shown only now; store it safely.\n", t.Name, t.ID, key)
	return nil
}

func cmdAPIKey(ctx context.Context, args []string, getenv func(string) string, out io.Writer, _ *slog.Logger) error {
	if len(args) == 0 {
		return errors.New("usage: herald apikey create --tenant T | herald apikey revoke KEY-OR-ID")
	}
	cfg, err := config.Load(getenv, "HERALD_DATABASE_URL")
	if err != nil {
		return err
	}
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		tenant := fs.String("tenant", "", "tenant ID or name")
		if err := fs.Parse(args[1:]); err != nil || *tenant == "" {
			return errors.New("usage: herald apikey create --tenant T")
		}
		pool, err := app.OpenDB(ctx, cfg)
		if err != nil {
			return err
		}
		defer pool.Close()
		key, err := app.CreateAPIKey(ctx, pool, *tenant, "")
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "API key: %s\nThe key is shown only now; store it safely.\n", key)
		return nil
	case "revoke":
		if len(args) != 2 {
			return errors.New("usage: herald apikey revoke KEY-OR-ID")
		}
		pool, err := app.OpenDB(ctx, cfg)
		if err != nil {
			return err
		}
		defer pool.Close()
		if err := app.RevokeAPIKey(ctx, pool, args[1]); err != nil {
			return err
		}
		fmt.Fprintln(out, "revoked")
		return nil
	}
	return errors.New("usage: herald apikey create --tenant T | herald apikey revoke KEY-OR-ID")
}

func cmdAudit(context.Context, []string, func(string) string, io.Writer, *slog.Logger) error {
	return errors.New("audit verify is not built yet: the delivery log is not hash-chained in this release")
}

func cmdDev(ctx context.Context, _ []string, getenv func(string) string, out io.Writer, log *slog.Logger) error {
	bin := "bin/temporal"
	if _, err := os.Stat(bin); err != nil && getenv("HERALD_TEMPORAL_ADDRESS") == "" {
		return errors.New("bin/temporal is missing: run `make dev`, which builds it, or set HERALD_TEMPORAL_ADDRESS")
	}
	return app.Dev(ctx, getenv, app.DevOptions{DataDir: ".data", TemporalBin: bin, Log: log, Out: out})
}
