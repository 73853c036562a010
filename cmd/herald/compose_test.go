package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/heraldhq/herald/internal/config"
)

// The compose file runs this binary; these tests load it with compose-go,
// the loader docker compose itself uses, as no Docker engine is at hand.

const composeFile = "../../docker-compose.yml"

func loadCompose(env map[string]string, files ...string) (*types.Project, error) {
	details := types.ConfigDetails{WorkingDir: "../..", Environment: env}
	for _, f := range append([]string{composeFile}, files...) {
		details.ConfigFiles = append(details.ConfigFiles, types.ConfigFile{Filename: f})
	}
	return loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SetProjectName("herald", true)
	})
}

const testSigningKey = "0123456789abcdef0123456789abcdef-compose-test"

func TestComposeRequiresSigningKey(t *testing.T) {
	t.Parallel()
	for _, env := range []map[string]string{{}, {"HERALD_SIGNING_KEY": ""}} {
		_, err := loadCompose(env)
		if err == nil || !strings.Contains(err.Error(), "HERALD_SIGNING_KEY") {
			t.Errorf("env %v: err = %v, want compose to refuse naming HERALD_SIGNING_KEY", env, err)
		}
	}

	p, err := loadCompose(map[string]string{"HERALD_SIGNING_KEY": testSigningKey})
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, v := range config.Vars {
		known[v.Name] = true
	}
	for name, command := range map[string]string{"herald-migrate": "migrate", "herald-api": "serve", "herald-worker": "worker"} {
		s, ok := p.Services[name]
		if !ok {
			t.Errorf("no service %s", name)
			continue
		}
		if got := strings.Join(s.Command, " "); got != command {
			t.Errorf("%s runs %q, want %q", name, got, command)
		}
		if v := s.Environment["HERALD_SIGNING_KEY"]; v == nil || *v != testSigningKey {
			t.Errorf("%s gets HERALD_SIGNING_KEY %v, want the one given", name, v)
		}
		for v := range s.Environment {
			if strings.HasPrefix(v, "HERALD_") && !known[v] {
				t.Errorf("%s sets %s, which Herald does not read", name, v)
			}
		}
	}
}

func TestComposeKeepsTemporalOffTheHost(t *testing.T) {
	t.Parallel()
	env := map[string]string{"HERALD_SIGNING_KEY": testSigningKey}
	p, err := loadCompose(env)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"temporal", "temporal-ui"} {
		s, ok := p.Services[name]
		if !ok {
			t.Fatalf("no service %s", name)
		}
		if len(s.Ports) > 0 || s.NetworkMode == "host" {
			t.Errorf("%s is published on the host: ports %+v, network mode %q", name, s.Ports, s.NetworkMode)
		}
	}

	// The override the file's comment documents publishes both on loopback only.
	override := filepath.Join(t.TempDir(), "docker-compose.override.yml")
	if err := os.WriteFile(override, []byte(documentedOverride(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err = loadCompose(env, override)
	if err != nil {
		t.Fatalf("the documented override does not load: %v", err)
	}
	for name, target := range map[string]uint32{"temporal": 7233, "temporal-ui": 8080} {
		ports := p.Services[name].Ports
		if len(ports) != 1 || ports[0].HostIP != "127.0.0.1" || ports[0].Target != target {
			t.Errorf("with the override %s publishes %+v, want %d on 127.0.0.1 only", name, ports, target)
		}
	}
}

// documentedOverride extracts the override file quoted in the compose
// file's header comment.
func documentedOverride(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.TrimSpace(line) == "#   # docker-compose.override.yml":
			in = true
		case in && strings.HasPrefix(line, "#   "):
			out = append(out, strings.TrimPrefix(line, "#   "))
		case in:
			return strings.Join(out, "\n") + "\n"
		}
	}
	t.Fatal("the compose file documents no override")
	return ""
}

// Workers serve /metrics inside the compose network, where Prometheus
// scrapes them; production logs are JSON.
func TestComposeWorkersServeMetrics(t *testing.T) {
	t.Parallel()
	p, err := loadCompose(map[string]string{"HERALD_SIGNING_KEY": testSigningKey})
	if err != nil {
		t.Fatal(err)
	}
	w := p.Services["herald-worker"]
	if v := w.Environment["HERALD_METRICS_ADDR"]; v == nil || !strings.HasSuffix(*v, ":9090") || !slices.Contains(w.Expose, "9090") {
		t.Errorf("herald-worker: HERALD_METRICS_ADDR %v, expose %v; want :9090 exposed", v, w.Expose)
	}
	if w.Deploy == nil || w.Deploy.Replicas == nil || *w.Deploy.Replicas != 2 {
		t.Errorf("herald-worker deploy %+v, want two replicas (the scale-out e2e test runs two)", w.Deploy)
	}
	if w.HealthCheck == nil || !strings.Contains(strings.Join(w.HealthCheck.Test, " "), ":9090/metrics") {
		t.Errorf("herald-worker health check %+v, want its metrics endpoint", w.HealthCheck)
	}
	if w.StopGracePeriod == nil || time.Duration(*w.StopGracePeriod) < 3*time.Minute {
		t.Errorf("herald-worker stop_grace_period %v, want at least the worker's 3-minute drain", w.StopGracePeriod)
	}
	for _, name := range []string{"herald-api", "herald-worker"} {
		if v := p.Services[name].Environment["HERALD_LOG_FORMAT"]; v == nil || *v != "json" {
			t.Errorf("%s logs %v, want json", name, v)
		}
	}
}

// Migrations run as the owner; the API and the workers log in as
// herald_app, which a one-shot makes a member of herald_service after the
// migrations made the group, and start only after it.
func TestComposeRunsTheServiceAsItsOwnRole(t *testing.T) {
	t.Parallel()
	p, err := loadCompose(map[string]string{"HERALD_SIGNING_KEY": testSigningKey, "POSTGRES_PASSWORD": "owner-pw", "POSTGRES_SERVICE_PASSWORD": "service-pw"})
	if err != nil {
		t.Fatal(err)
	}
	user := func(service string) string {
		v := p.Services[service].Environment["HERALD_DATABASE_URL"]
		if v == nil {
			t.Fatalf("%s has no HERALD_DATABASE_URL", service)
		}
		u, err := url.Parse(*v)
		if err != nil {
			t.Fatalf("%s: %v", service, err)
		}
		pw, _ := u.User.Password()
		return u.User.Username() + ":" + pw
	}
	if got := user("herald-migrate"); got != "postgres:owner-pw" {
		t.Errorf("herald-migrate connects as %s, want the owner", got)
	}
	for _, s := range []string{"herald-api", "herald-worker"} {
		if got := user(s); got != "herald_app:service-pw" {
			t.Errorf("%s connects as %s, want herald_app", s, got)
		}
		if d, ok := p.Services[s].DependsOn["herald-db-login"]; !ok || d.Condition != types.ServiceConditionCompletedSuccessfully {
			t.Errorf("%s does not wait for herald-db-login: %+v", s, p.Services[s].DependsOn)
		}
	}
	login := p.Services["herald-db-login"]
	if d, ok := login.DependsOn["herald-migrate"]; !ok || d.Condition != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("herald-db-login does not wait for the migrations: %+v", login.DependsOn)
	}
	script := strings.Join(login.Command, " ")
	for _, want := range []string{"CREATE ROLE herald_app LOGIN", "NOSUPERUSER", "PASSWORD :'pw'", "GRANT herald_service TO herald_app"} {
		if !strings.Contains(script, want) {
			t.Errorf("herald-db-login's script lacks %q:\n%s", want, script)
		}
	}
	if v := login.Environment["SERVICE_PASSWORD"]; v == nil || *v != "service-pw" {
		t.Errorf("herald-db-login gets SERVICE_PASSWORD %v, want POSTGRES_SERVICE_PASSWORD", v)
	}
}
