// Package faults is Herald's fault suite: each case runs a real fan-out on
// real servers, breaks one of them (kills or stops PostgreSQL, kills the
// Temporal server, takes the SMTP relay away, stalls its answer, refuses
// Slack and webhook connections), and counts what arrives at the receiving
// servers: nothing lost, nothing doubled, and healthy channels not delayed.
// Cases that break a shared server run on a stack of their own; all run in
// parallel. The worker-crash case is TestWorkerKilledMidSend in package e2e,
// beside the other multi-process tests.
package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/internal/app"
	"github.com/heraldhq/herald/internal/dev/localstack"
	"github.com/heraldhq/herald/internal/dev/mailcatch"
)

// logger shows Herald's errors; HERALD_FAULTS_LOG=warn shows its warnings
// too (every deferral, lost claim and unrecorded send), to follow a case.
var logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()}))

func logLevel() slog.Level {
	if os.Getenv("HERALD_FAULTS_LOG") == "warn" {
		return slog.LevelWarn
	}
	return slog.LevelError
}

// calm is the stack of the cases that break no shared server: each starts
// its own Herald on it, with its own task queue, relay and endpoints.
var calm *localstack.Servers

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var logs localstack.LogBuffer
	s, err := localstack.Start(context.Background(), localstack.Options{TemporalBin: temporalBin(), Durable: true, Log: &logs})
	if err != nil {
		fmt.Fprintf(os.Stderr, "faults setup: %v\n%s", err, logs.String())
		return 1
	}
	defer s.Stop()
	calm = s
	return m.Run()
}

func temporalBin() string {
	bin, _ := filepath.Abs("../../bin/temporal")
	return bin
}

// stack is a deployment of Herald over a set of servers.
type stack struct {
	servers *localstack.Servers
	herald  *localstack.Herald
}

// ownStack starts servers for one case (it breaks them) and Herald on them.
// PostgreSQL runs durably, as in production: a commit it acknowledged
// survives a crash. Temporal keeps its state in a file, so it survives a
// kill.
func ownStack(t *testing.T, opts localstack.HeraldOptions) *stack {
	t.Helper()
	var logs localstack.LogBuffer
	s, err := localstack.Start(context.Background(), localstack.Options{TemporalBin: temporalBin(), TemporalFile: true, Durable: true, Log: &logs})
	if err != nil {
		t.Fatalf("starting servers: %v\n%s", err, logs.String())
	}
	t.Cleanup(s.Stop)
	return startHerald(t, s, opts)
}

// startHerald starts Herald (API and worker, in process) on servers.
func startHerald(t *testing.T, s *localstack.Servers, opts localstack.HeraldOptions) *stack {
	t.Helper()
	if opts.TaskQueue == "" {
		opts.TaskQueue = "faults-" + strings.ToLower(t.Name())
	}
	h, err := s.StartHeraldWith(context.Background(), opts, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	return &stack{servers: s, herald: h}
}

// tenant is an API client for a fresh tenant of a stack.
type tenant struct {
	t   *testing.T
	s   *stack
	id  uuid.UUID
	key string
}

func (s *stack) tenant(t *testing.T) *tenant {
	t.Helper()
	tn, key, err := app.CreateTenant(context.Background(), s.herald.Pool, "f-"+uuid.NewString()[:8])
	if err != nil {
		t.Fatal(err)
	}
	return &tenant{t: t, s: s, id: tn.ID, key: key}
}

// do sends a request and decodes the answer into out (when not nil),
// returning its status.
func (tn *tenant) do(method, path string, body, out any) int {
	tn.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tn.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, tn.s.herald.API.URL+path, rd)
	if err != nil {
		tn.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tn.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tn.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			tn.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	if res.StatusCode >= 300 {
		tn.t.Logf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	return res.StatusCode
}

// must is do that fails the test on any status but want.
func (tn *tenant) must(want int, method, path string, body, out any) {
	tn.t.Helper()
	if got := tn.do(method, path, body, out); got != want {
		tn.t.Fatalf("%s %s: %d, want %d", method, path, got, want)
	}
}

// accepted is POST /v1/events' answer.
type accepted struct {
	EventID    string `json:"event_id"`
	WorkflowID string `json:"workflow_id"`
}

// post posts an event and returns the answer.
func (tn *tenant) post(body map[string]any) accepted {
	tn.t.Helper()
	var acc accepted
	tn.must(http.StatusAccepted, "POST", "/v1/events", body, &acc)
	return acc
}

// projectUpdate is an event for every subscriber: an inbox item and an
// email each.
func projectUpdate(message string) map[string]any {
	return map[string]any{"type": "project.update", "data": map[string]any{"project": "Faults", "message": message}}
}

// seed adds n users (user-000001 on, with an email address each).
func (tn *tenant) seed(n int) {
	tn.t.Helper()
	if err := localstack.SeedUsers(context.Background(), tn.s.herald.Owner, tn.id, n); err != nil {
		tn.t.Fatal(err)
	}
}

// count runs a counting query, retrying while the database is unreachable.
func (tn *tenant) count(sql string, args ...any) int {
	tn.t.Helper()
	var n int
	var err error
	for range 50 {
		if err = tn.s.herald.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err == nil {
			return n
		}
		time.Sleep(200 * time.Millisecond)
	}
	tn.t.Fatal(err)
	return 0
}

// eventStatus is the event's status on its row.
func (tn *tenant) eventStatus(eventID string) string {
	tn.t.Helper()
	var st string
	if err := tn.s.herald.Pool.QueryRow(context.Background(), `SELECT status FROM events WHERE id = $1`, eventID).Scan(&st); err != nil {
		tn.t.Fatal(err)
	}
	return st
}

// copies counts the emails of an event caught by m, by delivery: a value
// above 1 is a message sent twice.
func copies(m *mailcatch.Server, eventID string) map[string]int {
	out := map[string]int{}
	for _, msg := range eventMail(m, eventID) {
		out[msg.Header["X-Herald-Delivery-Id"][0]]++
	}
	return out
}

// eventMail is the caught mail of an event.
func eventMail(m *mailcatch.Server, eventID string) []mailcatch.Message {
	var out []mailcatch.Message
	for _, msg := range m.Messages() {
		if ev := msg.Header["X-Herald-Event-Id"]; len(ev) == 1 && ev[0] == eventID {
			out = append(out, msg)
		}
	}
	return out
}

// onceEach fails the test unless want distinct deliveries arrived, each
// exactly once.
func onceEach(t *testing.T, got map[string]int, want int) {
	t.Helper()
	if len(got) != want {
		t.Errorf("%d distinct emails arrived, want %d", len(got), want)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("delivery %s arrived %d times", id, n)
		}
	}
}

// waitFor polls ok until it holds, failing the test after within.
func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// deadAddr is a loopback address nothing listens on: connections to it are
// refused.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
