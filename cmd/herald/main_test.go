package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func runHerald(args []string, env map[string]string) (string, string, error) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestHelpNamesCommandsAndVariables(t *testing.T) {
	out, _, err := runHerald([]string{"--help"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"serve", "worker", "migrate", "tenant", "apikey   list --tenant T", "apikey   revoke ID", "dev", "HERALD_DATABASE_URL", "HERALD_SMTP_URL"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %s", want)
		}
	}
	out, _, err = runHerald([]string{"worker", "--help"}, nil)
	if err != nil || !strings.Contains(out, "HERALD_TASK_QUEUE") || !strings.Contains(out, "HERALD_SMTP_URL") {
		t.Errorf("worker --help = %q, %v", out, err)
	}
	out, _, err = runHerald([]string{"apikey", "--help"}, nil)
	if err != nil || !strings.Contains(out, "herald apikey list --tenant T") || !strings.Contains(out, "HERALD_DATABASE_URL") {
		t.Errorf("apikey --help = %q, %v", out, err)
	}
}

func TestConfigErrorsAreOneLineAndNameTheVariable(t *testing.T) {
	for _, cmd := range [][]string{{"serve"}, {"worker"}, {"migrate"}, {"tenant", "create", "acme"}} {
		_, _, err := runHerald(cmd, map[string]string{})
		if err == nil || err.Error() != "HERALD_DATABASE_URL is not set" {
			t.Errorf("%v: err = %v", cmd, err)
		}
	}
	_, _, err := runHerald([]string{"worker"}, map[string]string{
		"HERALD_DATABASE_URL": "postgres://x@127.0.0.1:1/x", "HERALD_SMTP_URL": "smtp://user:hunter2@mail.example?tls=sometimes",
	})
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "\n") {
		t.Errorf("bad SMTP URL: err = %v", err)
	}
}

func TestUnknownCommand(t *testing.T) {
	_, errOut, err := runHerald([]string{"launch"}, nil)
	if err == nil || !strings.Contains(errOut, `unknown command "launch"`) {
		t.Errorf("err = %v, stderr = %q", err, errOut)
	}
}

// audit verify checks a kept checkpoint's form before it connects, and
// needs the signing key that checks and signs checkpoints.
func TestAuditVerifyChecksItsArguments(t *testing.T) {
	env := map[string]string{"HERALD_DATABASE_URL": "postgres://x@127.0.0.1:1/x", "HERALD_SIGNING_KEY": "0123456789abcdef0123456789abcdef-cmd-test"}
	for _, bad := range []string{"seq=4", `{"seq": 4}`, `{"tenant_id": "x"}`} {
		_, _, err := runHerald([]string{"audit", "verify", "--checkpoint", bad}, env)
		if err == nil || !strings.HasPrefix(err.Error(), "--checkpoint: ") {
			t.Errorf("--checkpoint %s: err = %v, want it refused by name", bad, err)
		}
	}
	_, _, err := runHerald([]string{"audit", "verify"}, map[string]string{"HERALD_DATABASE_URL": env["HERALD_DATABASE_URL"]})
	if err == nil || err.Error() != "HERALD_SIGNING_KEY is not set" {
		t.Errorf("without the signing key: err = %v", err)
	}
	_, _, err = runHerald([]string{"audit", "verify", "--checkpoint"}, env)
	if err == nil || !strings.Contains(err.Error(), "usage: herald audit verify") {
		t.Errorf("--checkpoint without a value: err = %v", err)
	}
}
