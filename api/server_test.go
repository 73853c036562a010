package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
)

// TestReadyzReportsUnreachableDependencies points the API at servers that
// are not there: readiness must say which, in the contract's error shape.
func TestReadyzReportsUnreachableDependencies(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	e := New(Options{Pool: pool, Temporal: tc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Details struct {
				Checks map[string]string `json:"checks"`
			} `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Error.Code != "not_ready" || body.Error.Details.Checks["postgres"] != "unreachable" || body.Error.Details.Checks["temporal"] != "unreachable" {
		t.Errorf("readyz = %s", rec.Body)
	}
	// Liveness does not depend on them.
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("healthz = %d", rec.Code)
	}
}

// TestErrorsCarryTheRequestID: the client's X-Request-ID (or a fresh one)
// is echoed in the response header and in the error body.
func TestErrorsCarryTheRequestID(t *testing.T) {
	e := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, given := range []string{"req-from-client-42", ""} {
		req := httptest.NewRequest(http.MethodGet, "/v1/events/x", nil) // no API key: 401
		if given != "" {
			req.Header.Set("X-Request-ID", given)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		var body struct {
			Error struct {
				Details map[string]any `json:"details"`
			} `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		id := rec.Header().Get("X-Request-ID")
		if id == "" || body.Error.Details["request_id"] != id || (given != "" && id != given) {
			t.Errorf("X-Request-ID %q: header %q, body %s", given, id, rec.Body)
		}
	}
}
