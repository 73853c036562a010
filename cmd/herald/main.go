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
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/heraldhq/herald/audit"
	"github.com/heraldhq/herald/db"
	"github.com/heraldhq/herald/db/dbq"
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
	name  string
	forms []form
	vars  []string // HERALD_* variables it reads
	run   func(ctx context.Context, args []string, getenv func(string) string, out io.Writer, log *slog.Logger) error
}

// form is one way to call a command: its arguments and what it does.
type form struct{ args, summary string }

func one(args, summary string) []form { return []form{{args, summary}} }

var (
	dbVars       = []string{"HERALD_DATABASE_URL"}
	temporalVars = []string{"HERALD_TEMPORAL_ADDRESS", "HERALD_TEMPORAL_NAMESPACE", "HERALD_TASK_QUEUE"}
	mailVars     = []string{"HERALD_SMTP_URL", "HERALD_SMTP_COOLDOWN", "HERALD_MAIL_FROM"}
)

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// The forms of commands whose errors quote their usage stand alone, so the
// commands can name them without an initialization cycle.
var (
	auditForms = []form{
		{"verify [--tenant T] [--checkpoint JSON]", "recompute the audit hash chain of one tenant (ID or name) or of all, against its signed checkpoints and one kept from an earlier verify; progress on stderr"},
		{"verify --archive FILE", "verify an exported archive offline (no database; needs only HERALD_SIGNING_KEY): every row against the signed checkpoint it carries"},
		{"export --tenant T --before DATE", "write tenant T's audit rows older than DATE (YYYY-MM-DD, UTC, or RFC 3339) to stdout as an archive (JSON lines) with a signed checkpoint at its last row; deletes nothing"},
	}
	tenantForms = one("create NAME", "create a tenant and print its first API key")
	apikeyForms = []form{
		{"create --tenant T", "add an API key to tenant T (ID or name) and print it"},
		{"list --tenant T", "list tenant T's keys: ID, prefix, created, last used, revoked"},
		{"revoke ID", "revoke a key by its ID (the whole key also works)"},
	}
)

var commands = []command{
	{"serve", one("", "serve the REST API"), concat(dbVars, temporalVars, []string{"HERALD_HTTP_ADDR", "HERALD_PUBLIC_URL", "HERALD_SIGNING_KEY", "HERALD_RATE_LIMIT", "HERALD_LOG_FORMAT"}), cmdServe},
	{"worker", one("", "run a Temporal worker (any number may share the task queue)"), concat(dbVars, temporalVars, mailVars, []string{"HERALD_PUBLIC_URL", "HERALD_SIGNING_KEY", "HERALD_SLACK_API_URL", "HERALD_WEBHOOK_ALLOW_PRIVATE", "HERALD_METRICS_ADDR", "HERALD_LOG_FORMAT"}), cmdWorker},
	{"migrate", one("", "bring the database schema up to date"), dbVars, cmdMigrate},
	{"tenant", tenantForms, dbVars, cmdTenant},
	{"apikey", apikeyForms, dbVars, cmdAPIKey},
	{"audit", auditForms, concat(dbVars, []string{"HERALD_SIGNING_KEY"}), cmdAudit},
	{"dev", one("", "run everything on this machine: PostgreSQL, Temporal, SMTP catcher, API and worker"), []string{"every HERALD_* variable (set ones are used as given)", "HERALD_DEV_API_KEY"}, cmdDev},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: herald COMMAND [ARGS]\n\nCommands:")
	for _, c := range commands {
		for _, f := range c.forms {
			fmt.Fprintf(w, "  %-8s %-20s %s\n", c.name, f.args, f.summary)
		}
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

// commandUsage is a command's --help: each form, then what it reads.
func commandUsage(w io.Writer, c command) {
	if len(c.forms) == 1 {
		fmt.Fprintf(w, "Usage: %s\n\n%s.\n", strings.TrimSpace("herald "+c.name+" "+c.forms[0].args), capitalize(c.forms[0].summary))
	} else {
		fmt.Fprintln(w, "Usage:")
		for _, f := range c.forms {
			fmt.Fprintf(w, "  herald %s %-20s %s\n", c.name, f.args, f.summary)
		}
	}
	fmt.Fprintf(w, "\nReads: %s\n", strings.Join(c.vars, ", "))
}

// usageError is the usage of a command's forms whose arguments start with
// sub (all of them when sub is empty), as the error for bad arguments.
func usageError(name string, forms []form, sub string) error {
	var lines []string
	for _, f := range forms {
		if sub == "" || f.args == sub || strings.HasPrefix(f.args, sub+" ") {
			lines = append(lines, "herald "+name+" "+f.args)
		}
	}
	return errors.New("usage: " + strings.Join(lines, " | "))
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
		if asksForHelp(rest) {
			commandUsage(stdout, c)
			return nil
		}
		logger, err := newLogger(getenv("HERALD_LOG_FORMAT"), stderr)
		if err != nil {
			return err
		}
		return c.run(ctx, rest, getenv, stdout, logger)
	}
	fmt.Fprintf(stderr, "herald: unknown command %q\n\n", args[0])
	usage(stderr)
	return errUsage
}

// asksForHelp reports whether a command's arguments ask for its usage
// anywhere before a "--": "herald apikey list --help" means the usage, not a
// malformed list.
func asksForHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// connect opens what serve and worker both need: the database and Temporal.
// check runs on the configuration before any connection is made.
func connect(ctx context.Context, getenv func(string) string, log *slog.Logger, check func(config.Config) error) (
	cfg config.Config, pool *pgxpool.Pool, tc client.Client, closeAll func(), err error) {
	if cfg, err = config.Load(getenv, "HERALD_DATABASE_URL", "HERALD_SIGNING_KEY"); err != nil {
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
	handler, err := app.NewHandler(cfg, pool, tc, log)
	if err != nil {
		return err
	}
	return app.Serve(ctx, cfg.HTTPAddr, handler, func(addr string) {
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
		return usageError("tenant", tenantForms, "")
	}
	pool, err := openDB(ctx, getenv)
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
		return usageError("apikey", apikeyForms, "")
	}
	sub, rest := args[0], args[1:]
	var tenant, ref string
	switch sub {
	case "create", "list":
		fs := flag.NewFlagSet("apikey "+sub, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.StringVar(&tenant, "tenant", "", "tenant ID or name")
		if err := fs.Parse(rest); err != nil || tenant == "" || fs.NArg() > 0 {
			return usageError("apikey", apikeyForms, sub)
		}
	case "revoke":
		if len(rest) != 1 {
			return usageError("apikey", apikeyForms, sub)
		}
		ref = rest[0]
	default:
		return usageError("apikey", apikeyForms, "")
	}
	pool, err := openDB(ctx, getenv)
	if err != nil {
		return err
	}
	defer pool.Close()
	switch sub {
	case "create":
		key, err := app.CreateAPIKey(ctx, pool, tenant, "")
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "API key: %s\nThe key is shown only now; store it safely.\n", key)
	case "list":
		keys, err := app.ListAPIKeys(ctx, pool, tenant)
		if err != nil {
			return err
		}
		return writeKeys(out, keys)
	case "revoke":
		k, err := app.RevokeAPIKey(ctx, pool, ref)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "revoked %s (%s)\n", k.ID, k.Prefix)
	}
	return nil
}

// writeKeys prints keys as an aligned table, times in UTC.
func writeKeys(out io.Writer, keys []dbq.ListAPIKeysRow) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tCREATED\tLAST USED\tREVOKED")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, stamp(&k.CreatedAt, ""), stamp(k.LastUsedAt, "never"), stamp(k.RevokedAt, "-"))
	}
	return tw.Flush()
}

func stamp(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

// errAuditBroken makes a broken chain a failing exit status.
var errAuditBroken = errors.New("the audit trail is broken (see above)")

func cmdAudit(ctx context.Context, args []string, getenv func(string) string, out io.Writer, _ *slog.Logger) error {
	switch {
	case len(args) > 0 && args[0] == "verify":
		return cmdAuditVerify(ctx, args[1:], getenv, out)
	case len(args) > 0 && args[0] == "export":
		return cmdAuditExport(ctx, args[1:], getenv, out)
	}
	return usageError("audit", auditForms, "")
}

func cmdAuditVerify(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	tenant := fs.String("tenant", "", "tenant ID or name")
	checkpoint := fs.String("checkpoint", "", "a checkpoint an earlier verify printed or answered (JSON)")
	archive := fs.String("archive", "", "an archive herald audit export wrote")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || (*archive != "" && (*tenant != "" || *checkpoint != "")) {
		return usageError("audit", auditForms, "verify")
	}
	if *archive != "" {
		return verifyArchive(*archive, getenv, out)
	}
	var given *audit.Checkpoint
	if *checkpoint != "" {
		cp, err := audit.ParseCheckpoint([]byte(*checkpoint))
		if err != nil {
			return fmt.Errorf("--checkpoint: %w", err)
		}
		given = &cp
	}
	// The key checks the stored checkpoints and signs the new one.
	pool, signer, err := auditDB(ctx, getenv)
	if err != nil {
		return err
	}
	defer pool.Close()
	ok, err := app.VerifyAuditAll(ctx, pool, signer, *tenant, given, out, os.Stderr)
	if err != nil {
		return err
	}
	if !ok {
		return errAuditBroken
	}
	return nil
}

// auditDB opens the database and the checkpoint signer for the audit
// commands, which need both.
func auditDB(ctx context.Context, getenv func(string) string) (*pgxpool.Pool, *audit.Signer, error) {
	cfg, err := config.Load(getenv, "HERALD_DATABASE_URL", "HERALD_SIGNING_KEY")
	if err != nil {
		return nil, nil, err
	}
	if _, err := app.Links(cfg); err != nil {
		return nil, nil, err
	}
	pool, err := app.OpenDB(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return pool, audit.NewSigner(cfg.SigningKey), nil
}

// verifyArchive needs no database: the checkpoint in the archive vouches
// for its rows, and the signing key for the checkpoint.
func verifyArchive(path string, getenv func(string) string, out io.Writer) error {
	cfg, err := config.Load(getenv, "HERALD_SIGNING_KEY")
	if err != nil {
		return err
	}
	if _, err := app.Links(cfg); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--archive: %w", err)
	}
	defer f.Close()
	ok, err := app.VerifyArchive(f, audit.NewSigner(cfg.SigningKey), out)
	if err != nil {
		return fmt.Errorf("--archive %s: %w", path, err)
	}
	if !ok {
		return errArchiveBroken
	}
	return nil
}

// errArchiveBroken makes an archive that does not verify a failing exit status.
var errArchiveBroken = errors.New("the archive does not verify (see above)")

func cmdAuditExport(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	tenant := fs.String("tenant", "", "tenant ID or name")
	beforeArg := fs.String("before", "", "the rows older than this (YYYY-MM-DD or RFC 3339)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *tenant == "" || *beforeArg == "" {
		return usageError("audit", auditForms, "export")
	}
	before, err := parseDate(*beforeArg)
	if err != nil {
		return fmt.Errorf("--before: %w", err)
	}
	pool, signer, err := auditDB(ctx, getenv)
	if err != nil {
		return err
	}
	defer pool.Close()
	h, err := app.ExportAudit(ctx, pool, signer, *tenant, before, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "exported %d audit rows of tenant %s (seq %d to %d)\n", h.Rows, h.TenantID, h.FirstSeq, h.LastSeq)
	return nil
}

// parseDate reads a day (midnight UTC) or an RFC 3339 instant.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, errors.New("want a date (2026-01-31) or an RFC 3339 time (2026-01-31T12:00:00Z)")
	}
	return t, nil
}

func cmdDev(ctx context.Context, _ []string, getenv func(string) string, out io.Writer, log *slog.Logger) error {
	bin := "bin/temporal"
	if _, err := os.Stat(bin); err != nil && getenv("HERALD_TEMPORAL_ADDRESS") == "" {
		return errors.New("bin/temporal is missing: run `make dev`, which builds it, or set HERALD_TEMPORAL_ADDRESS")
	}
	return app.Dev(ctx, getenv, app.DevOptions{DataDir: ".data", TemporalBin: bin, Log: log, Out: out})
}

// newLogger is text for people (the default, and `herald dev`) or JSON for a
// log pipeline (HERALD_LOG_FORMAT=json).
func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("HERALD_LOG_FORMAT: want json or text, got %q", format)
}

// openDB opens the database of HERALD_DATABASE_URL for the admin commands.
func openDB(ctx context.Context, getenv func(string) string) (*pgxpool.Pool, error) {
	cfg, err := config.Load(getenv, "HERALD_DATABASE_URL")
	if err != nil {
		return nil, err
	}
	return app.OpenDB(ctx, cfg)
}
