package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeFinishesRequestsInFlightOnShutdown cancels the server's context
// while a request is being handled: the request still gets its answer.
func TestServeFinishesRequestsInFlightOnShutdown(t *testing.T) {
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		_, _ = io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, "127.0.0.1:0", h, func(addr string) { addrc <- addr }) }()
	addr := <-addrc

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		res, err := http.Get("http://" + addr + "/")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		got <- result{string(b), err}
	}()
	<-started
	cancel()
	r := <-got
	if r.err != nil || r.body != "done" {
		t.Fatalf("request in flight during shutdown: %q, %v", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve = %v", err)
	}
	if _, err := http.Get("http://" + addr + "/"); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}

func TestRedactHidesPasswords(t *testing.T) {
	if got := redact("postgres://u:secret@host/db"); strings.Contains(got, "secret") || !strings.HasPrefix(got, "postgres://u:") || !strings.HasSuffix(got, "@host/db") {
		t.Errorf("redact = %q", got)
	}
	if got := redact("postgres://u@host/db"); got != "postgres://u@host/db" {
		t.Errorf("redact = %q", got)
	}
}

// TestQuietLoggerFiltersDerivedLoggers: the SDK logs through loggers it
// derives with With; the filter must hold for those too.
func TestQuietLoggerFiltersDerivedLoggers(t *testing.T) {
	var buf bytes.Buffer
	l := quiet(slog.New(slog.NewTextHandler(&buf, nil))).With("namespace", "default").WithGroup("g")
	l.Info("Started Worker")
	l.Warn("poller failing")
	if out := buf.String(); strings.Contains(out, "Started Worker") || !strings.Contains(out, "poller failing") {
		t.Errorf("logged %q", out)
	}
}
