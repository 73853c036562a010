package e2e

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/heraldhq/herald/internal/apikey"
	"github.com/heraldhq/herald/internal/app"
)

// TestRandomKeysAreRateLimitedPerAddress: without HERALD_RATE_LIMIT, 200
// requests with 200 random keys from one address are refused with 401
// until the address has failed 20 times, then with 429 rate_limited and
// Retry-After (before any database lookup, see the api package's test);
// another client, and a key that authenticated, go on.
func TestRandomKeysAreRateLimitedPerAddress(t *testing.T) {
	t.Parallel()
	cfg := env.cfg
	cfg.RateLimit, cfg.RateBurst = 0, 0
	handler, err := app.NewHandler(cfg, env.pool, env.temporal, logger)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler) // its own limits: other tests share 127.0.0.1
	defer srv.Close()
	tn := newTenantOn(t, srv.URL)
	tn.must(200, tn.do("GET", "/v1/event-types?limit=1", nil)) // a key this process knows

	get := func(key string, headers ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/v1/event-types?limit=1", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	statuses := map[int]int{}
	first429 := 0
	for i := range 200 {
		res := get(apikey.New())
		statuses[res.StatusCode]++
		if res.StatusCode == 429 {
			if first429 == 0 {
				first429 = i + 1
			}
			if res.Header.Get("Retry-After") == "" {
				t.Fatalf("429 without Retry-After")
			}
		}
	}
	if first429 != 21 || statuses[401] > 22 || statuses[429] < 178 {
		t.Errorf("200 random keys: %v, first 429 at request %d, want 401 for the first 20 and 429 after", statuses, first429)
	}
	r := tn.do("GET", "/v1/event-types?limit=1", nil)
	if r.status != 200 {
		t.Errorf("a key that authenticated, from the same address: %d %s", r.status, r.raw)
	}
	other := newTenantOn(t, srv.URL)
	if res := get(other.key); res.StatusCode != 429 {
		t.Errorf("a key this process has not seen, from the limited address: %d", res.StatusCode)
	}
	// A client behind a proxy on a private network is counted by the
	// address the proxy forwards.
	if res := get(other.key, "X-Forwarded-For", "203.0.113.50"); res.StatusCode != 200 {
		t.Errorf("another client's new key: %d", res.StatusCode)
	}
}
