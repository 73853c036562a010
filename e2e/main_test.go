// Package e2e tests Herald end to end against real servers: a PostgreSQL
// cluster, a Temporal dev server and SMTP servers, all on loopback.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/slack-go/slack/slacktest"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/heraldhq/herald/internal/app"
	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/dev/localstack"
	"github.com/heraldhq/herald/internal/dev/mailcatch"
)

// env is the shared stack every test uses; tests isolate themselves by
// creating their own tenant.
var env struct {
	servers *localstack.Servers
	// pool is the service's, as the service role; owner is the database
	// owner's, for what only an owner (or an attacker with its password)
	// may do.
	pool     *pgxpool.Pool
	owner    *pgxpool.Pool
	temporal client.Client
	mail     *mailcatch.Server
	api      *httptest.Server
	slack    *slacktest.Server
	cfg      config.Config
}

var logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	ctx := context.Background()
	bin, err := filepath.Abs("../bin/temporal")
	if err != nil {
		return 0, err
	}
	var logs localstack.LogBuffer
	servers, err := localstack.Start(ctx, localstack.Options{TemporalBin: bin, Log: &logs})
	if err != nil {
		return 0, fmt.Errorf("%w\n%s", err, logs.String())
	}
	defer servers.Stop()
	// One Slack Web API stand-in for every test; tests tell their posts
	// apart by channel and Slack user ID.
	sl := slacktest.NewTestServer(slackRecorder.bind)
	sl.Start()
	defer sl.Stop()
	h, err := servers.StartHeraldWith(ctx, localstack.HeraldOptions{TaskQueue: "herald-e2e", SlackAPIURL: sl.GetAPIURL(),
		Wrap: answered.wrap}, logger)
	if err != nil {
		return 0, err
	}
	defer h.Stop()
	env.owner = servers.Owner
	env.servers, env.pool, env.temporal, env.mail, env.api, env.slack, env.cfg = servers, h.Pool, h.Temporal, servers.Mail, h.API, sl, h.Config
	code := m.Run()
	// Every status the API answered the tests is one the document lists
	// for its route.
	problems, err := answered.undocumented()
	if err != nil {
		return 0, err
	}
	if len(problems) > 0 {
		fmt.Println("--- FAIL: the OpenAPI document lacks statuses the API answered")
		for _, p := range problems {
			fmt.Println("    " + p)
		}
		code = 1
	}
	return code, nil
}

// startStack starts a second Herald on its own task queue and SMTP server.
func startStack(ctx context.Context, smtpURL, taskQueue string) (*localstack.Herald, error) {
	return env.servers.StartHerald(ctx, smtpURL, taskQueue, logger)
}

// tenant is an API client for a fresh tenant.
type tenant struct {
	t    *testing.T
	id   uuid.UUID
	key  string
	base string
}

func newTenant(t *testing.T) *tenant {
	return newTenantOn(t, env.api.URL)
}

func newTenantOn(t *testing.T, base string) *tenant {
	t.Helper()
	tn, key, err := app.CreateTenant(context.Background(), env.pool, "t-"+uuid.NewString()[:8])
	if err != nil {
		t.Fatal(err)
	}
	return &tenant{t: t, id: tn.ID, key: key, base: base}
}

// response is an API answer; decodeAs reads it into a view.
type response struct {
	status int
	raw    []byte
}

func (tn *tenant) do(method, path string, body any, headers ...string) response {
	tn.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			tn.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, tn.base+path, rd)
	if err != nil {
		tn.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tn.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tn.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if len(raw) > 0 && !json.Valid(raw) {
		tn.t.Fatalf("%s %s: non-JSON answer %d: %s", method, path, res.StatusCode, raw)
	}
	return response{status: res.StatusCode, raw: raw}
}

func (tn *tenant) must(status int, r response) response {
	tn.t.Helper()
	if r.status != status {
		tn.t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

func (tn *tenant) putUser(id, email string, extra ...string) {
	tn.t.Helper()
	body := map[string]any{"email": email, "name": "User " + id}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i]] = extra[i+1]
	}
	r := tn.do("PUT", "/v1/users/"+id, body)
	if r.status != 200 && r.status != 201 {
		tn.t.Fatalf("PUT user %s: %d %s", id, r.status, r.raw)
	}
}

// waitEvent waits for an event's workflow to finish, or, for an event with
// failed deliveries, to settle and wait for a retry signal, and returns the
// event. A workflow that failed fails the test.
func (tn *tenant) waitEvent(eventID string) eventView {
	tn.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	// An event Herald emits itself (a batch's, a rule's) is named before
	// it is stored, a moment later, by the same retried activity.
	var r response
	waitFor(tn.t, time.Until(deadline), "event "+eventID+" to be stored", func() bool {
		r = tn.do("GET", "/v1/events/"+eventID, nil)
		return r.status != http.StatusNotFound
	})
	wid := decodeAs[eventView](tn.t, tn.must(200, r)).WorkflowID
	for {
		desc, err := env.temporal.DescribeWorkflowExecution(context.Background(), wid, "")
		var missing *serviceerror.NotFound
		switch {
		case errors.As(err, &missing) && time.Now().Before(deadline):
			// Accepted while Temporal was slow: the reconciler starts it.
			time.Sleep(250 * time.Millisecond)
			continue
		case err != nil:
			tn.t.Fatalf("workflow %s: %v", wid, err)
		}
		switch st := desc.GetWorkflowExecutionInfo().GetStatus(); st {
		case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
			return tn.event(eventID)
		case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
			if ev := tn.event(eventID); ev.Status == "failed" || ev.Status == "partial" {
				return ev // the run stays open, waiting for a retry
			}
		default:
			tn.t.Fatalf("workflow %s ended %s", wid, st)
		}
		if time.Now().After(deadline) {
			tn.t.Fatalf("workflow %s still running after 2 minutes", wid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// count runs a counting query with args.
func count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := env.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// mailFor returns the caught messages of one event.
func mailFor(eventID string) []mailcatch.Message {
	var out []mailcatch.Message
	for _, m := range env.mail.Messages() {
		if len(m.Header["X-Herald-Event-Id"]) > 0 && m.Header["X-Herald-Event-Id"][0] == eventID {
			out = append(out, m)
		}
	}
	return out
}
