package config

import (
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"HERALD_DATABASE_URL": "postgres://h@127.0.0.1/h"}), "HERALD_DATABASE_URL")
	if err != nil {
		t.Fatal(err)
	}
	if c.TaskQueue != "herald" || c.TemporalAddress != "127.0.0.1:7233" || c.WebhookAllowPrivate || c.SMTPMaxConns != 8 {
		t.Errorf("defaults not applied: %+v", c)
	}
}

func TestLoadSMTPMaxConns(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"HERALD_SMTP_MAX_CONNS": " 3 "}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTPMaxConns != 3 {
		t.Errorf("SMTPMaxConns = %d, want 3", c.SMTPMaxConns)
	}
}

func TestLoadSeveralRelays(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"HERALD_SMTP_URL": "smtps://u:p%2Cw@mx1.example:465, smtp://mx2.example", "HERALD_SMTP_COOLDOWN": "2m"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.SMTPURLs) != 2 || c.SMTPURLs[0] != "smtps://u:p%2Cw@mx1.example:465" || c.SMTPURLs[1] != "smtp://mx2.example" || c.SMTPCooldown.Minutes() != 2 {
		t.Errorf("SMTPURLs = %q, SMTPCooldown = %v", c.SMTPURLs, c.SMTPCooldown)
	}
	c, err = Load(env(map[string]string{}))
	if err != nil || len(c.SMTPURLs) != 1 || c.SMTPURLs[0] != c.SMTPURL || c.SMTPCooldown.Seconds() != 30 {
		t.Errorf("a single URL: %q, cool-down %v, err %v", c.SMTPURLs, c.SMTPCooldown, err)
	}
}

func TestLoadErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env    map[string]string
		want   string
		noLeak string
	}{
		{map[string]string{}, "HERALD_DATABASE_URL is not set", ""},
		{map[string]string{"HERALD_DATABASE_URL": "mysql://x"}, "HERALD_DATABASE_URL", ""},
		{map[string]string{"HERALD_DATABASE_URL": "postgres://x/y", "HERALD_WEBHOOK_ALLOW_PRIVATE": "maybe"}, "HERALD_WEBHOOK_ALLOW_PRIVATE", ""},
		{map[string]string{"HERALD_DATABASE_URL": "postgres://x/y", "HERALD_SMTP_URL": "ftp://u:s3cret@host"}, "HERALD_SMTP_URL", "s3cret"},
		{map[string]string{"HERALD_DATABASE_URL": "postgres://x/y", "HERALD_MAIL_FROM": "not an address"}, "HERALD_MAIL_FROM", ""},
		{map[string]string{"HERALD_DATABASE_URL": "postgres://x/y", "HERALD_SMTP_MAX_CONNS": "0"}, "HERALD_SMTP_MAX_CONNS", ""},
		{map[string]string{"HERALD_DATABASE_URL": "postgres://x/y", "HERALD_SMTP_MAX_CONNS": "eight"}, "HERALD_SMTP_MAX_CONNS", ""},
		{map[string]string{"HERALD_DATABASE_URL": "postgres://x/y", "HERALD_SMTP_MAX_CONNS": "80000"}, "HERALD_SMTP_MAX_CONNS", ""},
		{map[string]string{"HERALD_DATABASE_URL": "postgres://x/y", "HERALD_SIGNING_KEY": "short"}, "HERALD_SIGNING_KEY", "short"},
		{map[string]string{"HERALD_DATABASE_URL": "postgres://x/y", "HERALD_SMTP_URL": "smtp://a:25,ftp://u:s3cret@b"}, "HERALD_SMTP_URL: relay 2", "s3cret"},
		{map[string]string{"HERALD_DATABASE_URL": "postgres://x/y", "HERALD_SMTP_URL": " , "}, "HERALD_SMTP_URL", ""},
		{map[string]string{"HERALD_DATABASE_URL": "postgres://x/y", "HERALD_SMTP_COOLDOWN": "10ms"}, "HERALD_SMTP_COOLDOWN", ""},
		{map[string]string{"HERALD_DATABASE_URL": "postgres://x/y", "HERALD_SMTP_COOLDOWN": "soon"}, "HERALD_SMTP_COOLDOWN", ""},
	}
	for _, tt := range tests {
		_, err := Load(env(tt.env), "HERALD_DATABASE_URL")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("env %v: err = %v, want it to name %s", tt.env, err, tt.want)
			continue
		}
		if tt.noLeak != "" && strings.Contains(err.Error(), tt.noLeak) {
			t.Errorf("error leaks the value: %v", err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error is not one line: %q", err)
		}
	}
}

func TestRateLimit(t *testing.T) {
	for in, want := range map[string][2]float64{"": {0, 0}, "100/s": {100, 200}, "100/s:50": {100, 50}, "60/m": {1, 2}, "1/m": {1.0 / 60, 1}} {
		c, err := Load(func(k string) string {
			if k == "HERALD_RATE_LIMIT" {
				return in
			}
			return ""
		})
		if err != nil || c.RateLimit != want[0] || float64(c.RateBurst) != want[1] {
			t.Errorf("HERALD_RATE_LIMIT=%q: %v %v %v, want %v", in, c.RateLimit, c.RateBurst, err, want)
		}
	}
	for _, bad := range []string{"fast", "100", "100/h", "0/s", "-1/s", "100/s:0", "100/s:x"} {
		if _, err := Load(func(k string) string {
			if k == "HERALD_RATE_LIMIT" {
				return bad
			}
			return ""
		}); err == nil || !strings.Contains(err.Error(), "HERALD_RATE_LIMIT") {
			t.Errorf("HERALD_RATE_LIMIT=%q accepted (%v)", bad, err)
		}
	}
}
