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
