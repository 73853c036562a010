package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/internal/apikey"
)

func TestLimiterPerKey(t *testing.T) {
	l := newLimiter(2, 3) // 2/s, burst 3
	now := time.Now()
	if d := l.peek("a", now); d != 0 {
		t.Fatalf("a key without a bucket waits %v", d)
	}
	for i := range 3 {
		if d := l.wait("a", now); d != 0 {
			t.Fatalf("request %d within the burst waited %v", i, d)
		}
	}
	d := l.wait("a", now)
	if d <= 0 || d > time.Second {
		t.Errorf("the 4th request at once: wait %v, want about 0.5 s", d)
	}
	if p := l.peek("a", now); p <= 0 || p > time.Second {
		t.Errorf("peek after the burst: %v, want about 0.5 s", p)
	}
	if l.wait("b", now) != 0 {
		t.Error("another key shares the bucket")
	}
	// Neither a refused request nor a peek spends anything: half a second
	// later one more fits.
	if d := l.wait("a", now.Add(510*time.Millisecond)); d != 0 {
		t.Errorf("after the refill: wait %v", d)
	}
	if newLimiter(0, 0) != nil {
		t.Error("a zero rate must mean no limiter")
	}
}

// 100,000 distinct keys leave at most maxKeyBuckets buckets, and 100,000
// addresses at most maxFailureAddrs counters.
func TestLimitsStayBounded(t *testing.T) {
	l := newLimiter(10, 10)
	g := newAuthGate()
	now := time.Now()
	for i := range 100_000 {
		k := strconv.Itoa(i)
		l.wait(k, now)
		g.failed(fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255), k, now)
		g.failed(fmt.Sprintf("2001:db8:%x:%x::1", i>>16, i&0xffff), k, now)
		g.succeeded(k)
	}
	if n := l.keys.Len(); n > maxKeyBuckets {
		t.Errorf("%d key buckets", n)
	}
	if n := g.failures.Len(); n > maxFailureAddrs {
		t.Errorf("%d address counters", n)
	}
	if n := g.known.Len(); n > maxKnownKeys {
		t.Errorf("%d known keys", n)
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":           "203.0.113.7",
		"::ffff:203.0.113.7":    "203.0.113.7",
		"2001:db8:1:2:3:4:5:6":  "2001:db8:1:2::/64",
		"2001:db8:1:2::ffff":    "2001:db8:1:2::/64",
		"not an address at all": "not an address at all",
	} {
		if got := clientKey(in); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// authServer is the API's authentication in front of a handler that
// answers 204, with the key lookup counted and answered by valid.
func authServer(valid map[string]bool) (*echo.Echo, *atomic.Int64) {
	var lookups atomic.Int64
	s := &Server{gate: newAuthGate(), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.lookupKey = func(_ context.Context, hash []byte) (dbq.TenantByAPIKeyRow, error) {
		lookups.Add(1)
		if valid[string(hash)] {
			return dbq.TenantByAPIKeyRow{}, nil
		}
		return dbq.TenantByAPIKeyRow{}, pgx.ErrNoRows
	}
	e := echo.New()
	e.IPExtractor = echo.ExtractIPFromXFFHeader()
	e.HTTPErrorHandler = s.errorHandler
	e.Group("/v1", s.authenticate).GET("/ping", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	return e, &lookups
}

func call(e *echo.Echo, remote, key string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/v1/ping", nil)
	req.RemoteAddr = remote
	req.Header.Set("Authorization", "Bearer "+key)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// TestRandomKeysStopReachingTheDatabase: 200 random keys from one address
// (no HERALD_RATE_LIMIT) are looked up only until the address has failed
// authFailureBurst times; the rest are 429 rate_limited with Retry-After,
// and cost no lookup. Other addresses, and keys that authenticated, are
// not affected.
func TestRandomKeysStopReachingTheDatabase(t *testing.T) {
	good := apikey.New()
	e, lookups := authServer(map[string]bool{string(apikey.Hash(good)): true})
	const attacker = "203.0.113.7:40000"
	if rec := call(e, attacker, good); rec.Code != http.StatusNoContent {
		t.Fatalf("a valid key: %d %s", rec.Code, rec.Body)
	}
	lookups.Store(0)
	statuses := map[int]int{}
	for i := range 200 {
		rec := call(e, attacker, apikey.New())
		statuses[rec.Code]++
		if i < authFailureBurst && rec.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d within the bound: %d", i+1, rec.Code)
		}
		if rec.Code == http.StatusTooManyRequests {
			var body struct {
				Error Error `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != "rate_limited" || rec.Header().Get("Retry-After") == "" {
				t.Fatalf("429 answer %s, Retry-After %q", rec.Body, rec.Header().Get("Retry-After"))
			}
		}
	}
	// The test may take long enough for a failure's allowance to come back.
	if n := lookups.Load(); n < authFailureBurst || n > authFailureBurst+2 {
		t.Errorf("%d lookups for 200 random keys, want %d", n, authFailureBurst)
	}
	if statuses[http.StatusTooManyRequests] < 200-authFailureBurst-2 {
		t.Errorf("answers %v", statuses)
	}
	// Another address of the attacker's /64 is the same client; an IPv4
	// address elsewhere is not.
	lookups.Store(0)
	if rec := call(e, "198.51.100.9:1", apikey.New()); rec.Code != http.StatusUnauthorized {
		t.Errorf("another address: %d", rec.Code)
	}
	for i := range authFailureBurst {
		call(e, fmt.Sprintf("[2001:db8:7:7::%x]:1", i+1), apikey.New())
	}
	if rec := call(e, "[2001:db8:7:7:ffff::1]:1", apikey.New()); rec.Code != http.StatusTooManyRequests {
		t.Errorf("a new address in a blocked /64: %d", rec.Code)
	}
	if n := lookups.Load(); n != 1+authFailureBurst {
		t.Errorf("%d lookups, want %d", n, 1+authFailureBurst)
	}
	// A key that authenticated still goes through from the blocked address.
	if rec := call(e, attacker, good); rec.Code != http.StatusNoContent {
		t.Errorf("a valid key from the blocked address: %d %s", rec.Code, rec.Body)
	}
	// A peer on a public address cannot name another in X-Forwarded-For.
	req := httptest.NewRequest("GET", "/v1/ping", nil)
	req.RemoteAddr = attacker
	req.Header.Set("Authorization", "Bearer "+apikey.New())
	req.Header.Set("X-Forwarded-For", "192.0.2.55")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusTooManyRequests {
		t.Errorf("a forged X-Forwarded-For from a public peer: %d", rec.Code)
	}
}
