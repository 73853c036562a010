// Package config reads Herald's HERALD_* environment variables.
package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/internal/mailer"
)

// Config is Herald's runtime configuration.
type Config struct {
	DatabaseURL         string
	TemporalAddress     string
	TemporalNamespace   string
	TaskQueue           string
	HTTPAddr            string
	PublicURL           string
	SMTPURL             string
	SMTPMaxConns        int
	MailFrom            string
	SlackAPIURL         string
	SigningKey          string
	WebhookAllowPrivate bool
	// RateLimit is requests per second per API key (0: no limit), with a
	// burst of RateBurst.
	RateLimit float64
	RateBurst int
	// MetricsAddr is where a worker serves /metrics; "" serves none.
	MetricsAddr string
	// SMTPURLs are the relays SMTPURL lists, comma-separated, in priority
	// order (one for a single URL).
	SMTPURLs []string
	// SMTPCooldown is how long a relay that kept failing is skipped.
	SMTPCooldown time.Duration
}

// maxSMTPConns catches a mistyped HERALD_SMTP_MAX_CONNS (an extra digit) before a
// worker opens more connections than any relay would accept from one client.
const maxSMTPConns = 1000

// Var documents one variable for --help output.
type Var struct{ Name, Default, Help string }

// Vars lists every variable Herald reads, in the order --help shows them.
var Vars = []Var{
	{"HERALD_DATABASE_URL", "", "PostgreSQL URL, e.g. postgres://herald@127.0.0.1:5432/herald (required)"},
	{"HERALD_TEMPORAL_ADDRESS", "127.0.0.1:7233", "Temporal frontend host:port"},
	{"HERALD_TEMPORAL_NAMESPACE", "default", "Temporal namespace"},
	{"HERALD_TASK_QUEUE", "herald", "Temporal task queue of the workers"},
	{"HERALD_HTTP_ADDR", "127.0.0.1:8080", "address the REST API listens on"},
	{"HERALD_PUBLIC_URL", "http://127.0.0.1:8080", "base URL of links in notifications"},
	{"HERALD_SMTP_URL", "smtp://127.0.0.1:1025?tls=none", "smtp:// (STARTTLS, optional on loopback hosts only), smtps:// (implicit TLS), ?tls=none (never TLS); several relays comma-separated, in priority order"},
	{"HERALD_SMTP_COOLDOWN", "30s", "how long a relay that failed 3 messages in a row is skipped for the next one"},
	{"HERALD_SMTP_MAX_CONNS", "8", "SMTP connections one worker process keeps open at most"},
	{"HERALD_MAIL_FROM", "Herald <herald@localhost>", "From address of emails"},
	{"HERALD_SLACK_API_URL", "", "Slack Web API base URL override (tests)"},
	{"HERALD_SIGNING_KEY", "", "secret that signs links and tokens (at least 32 characters)"},
	{"HERALD_WEBHOOK_ALLOW_PRIVATE", "false", "allow webhook and Slack URLs on private addresses (tests and dev only)"},
	{"HERALD_METRICS_ADDR", "", "address a worker serves Prometheus /metrics on, e.g. 0.0.0.0:9090 (the API serves /metrics on its own address)"},
	{"HERALD_LOG_FORMAT", "text", "log format: text (for people) or json (for a log pipeline)"},
	{"HERALD_RATE_LIMIT", "", "requests per API key and API process, e.g. 100/s or 6000/m, optionally :BURST (100/s:200); unset: no limit"},
}

// Load reads the configuration through getenv. need lists the variables that
// must be set for the calling subcommand; every set variable is validated.
func Load(getenv func(string) string, need ...string) (Config, error) {
	get := func(name string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		for _, v := range Vars {
			if v.Name == name {
				return v.Default
			}
		}
		return ""
	}
	for _, name := range need {
		if get(name) == "" {
			return Config{}, fmt.Errorf("%s is not set", name)
		}
	}
	c := Config{
		DatabaseURL:       get("HERALD_DATABASE_URL"),
		TemporalAddress:   get("HERALD_TEMPORAL_ADDRESS"),
		TemporalNamespace: get("HERALD_TEMPORAL_NAMESPACE"),
		TaskQueue:         get("HERALD_TASK_QUEUE"),
		HTTPAddr:          get("HERALD_HTTP_ADDR"),
		PublicURL:         strings.TrimRight(get("HERALD_PUBLIC_URL"), "/"),
		SMTPURL:           get("HERALD_SMTP_URL"),
		MailFrom:          get("HERALD_MAIL_FROM"),
		SlackAPIURL:       get("HERALD_SLACK_API_URL"),
		SigningKey:        get("HERALD_SIGNING_KEY"),
		MetricsAddr:       get("HERALD_METRICS_ADDR"),
	}
	var err error
	if c.SMTPMaxConns, err = strconv.Atoi(get("HERALD_SMTP_MAX_CONNS")); err != nil || c.SMTPMaxConns < 1 || c.SMTPMaxConns > maxSMTPConns {
		return Config{}, fmt.Errorf("HERALD_SMTP_MAX_CONNS: want a whole number from 1 to %d", maxSMTPConns)
	}
	if c.WebhookAllowPrivate, err = parseBool(get("HERALD_WEBHOOK_ALLOW_PRIVATE")); err != nil {
		return Config{}, fmt.Errorf("HERALD_WEBHOOK_ALLOW_PRIVATE: %w", err)
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return Config{}, fmt.Errorf("HERALD_DATABASE_URL: want a postgres:// URL")
		}
	}
	if err := checkURL(c.PublicURL, "http", "https"); err != nil {
		return Config{}, fmt.Errorf("HERALD_PUBLIC_URL: %w", err)
	}
	c.SMTPURLs = mailer.SplitURLs(c.SMTPURL)
	if len(c.SMTPURLs) == 0 {
		return Config{}, fmt.Errorf("HERALD_SMTP_URL: want a URL with scheme smtp or smtps and a host")
	}
	for k, u := range c.SMTPURLs {
		if err := checkURL(u, "smtp", "smtps"); err != nil {
			if len(c.SMTPURLs) > 1 {
				return Config{}, fmt.Errorf("HERALD_SMTP_URL: relay %d: %w", k+1, err)
			}
			return Config{}, fmt.Errorf("HERALD_SMTP_URL: %w", err)
		}
	}
	if c.SMTPCooldown, err = time.ParseDuration(get("HERALD_SMTP_COOLDOWN")); err != nil || c.SMTPCooldown < time.Second || c.SMTPCooldown > time.Hour {
		return Config{}, fmt.Errorf("HERALD_SMTP_COOLDOWN: want a duration from 1s to 1h, such as 30s")
	}
	if c.SlackAPIURL != "" {
		if err := checkURL(c.SlackAPIURL, "http", "https"); err != nil {
			return Config{}, fmt.Errorf("HERALD_SLACK_API_URL: %w", err)
		}
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		return Config{}, fmt.Errorf("HERALD_MAIL_FROM: want an address such as \"Herald <herald@example.com>\"")
	}
	if c.RateLimit, c.RateBurst, err = parseRate(get("HERALD_RATE_LIMIT")); err != nil {
		return Config{}, fmt.Errorf("HERALD_RATE_LIMIT: %w", err)
	}
	if c.SigningKey != "" && len(c.SigningKey) < 32 {
		return Config{}, fmt.Errorf("HERALD_SIGNING_KEY: want at least 32 characters")
	}
	return c, nil
}

func checkURL(raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		// Never echo the value: SMTP URLs carry passwords.
		return fmt.Errorf("want a URL with scheme %s and a host", strings.Join(schemes, " or "))
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return nil
		}
	}
	return fmt.Errorf("scheme %q not supported, want %s", u.Scheme, strings.Join(schemes, " or "))
}

// parseRate reads N/s or N/m with an optional :BURST; the burst defaults to
// twice the per-second rate (at least 1).
func parseRate(s string) (float64, int, error) {
	if s == "" {
		return 0, 0, nil
	}
	bad := fmt.Errorf("want N/s or N/m, optionally :BURST (e.g. 100/s:200), got %q", s)
	spec, burstText, hasBurst := strings.Cut(s, ":")
	n, per, ok := strings.Cut(spec, "/")
	count, err := strconv.ParseFloat(n, 64)
	if !ok || err != nil || count <= 0 {
		return 0, 0, bad
	}
	switch per {
	case "s":
	case "m":
		count /= 60
	default:
		return 0, 0, bad
	}
	burst := max(int(2*count), 1)
	if hasBurst {
		if burst, err = strconv.Atoi(burstText); err != nil || burst < 1 {
			return 0, 0, bad
		}
	}
	return count, burst, nil
}

func parseBool(s string) (bool, error) {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("want true or false, got %q", s)
	}
	return b, nil
}
