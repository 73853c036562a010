package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/apikey"
	"github.com/heraldhq/herald/internal/app"
)

// TestAPIKeyLastUse checks that authenticating records a key's last use,
// at most once a minute, and that apikey list's data shows it.
func TestAPIKeyLastUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	hash := apikey.Hash(tn.key)
	lastUsed := func() *time.Time {
		t.Helper()
		var at *time.Time
		if err := env.pool.QueryRow(ctx, "SELECT last_used_at FROM api_keys WHERE key_hash = $1", hash).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	setLastUsed := func(ago time.Duration) time.Time {
		t.Helper()
		var at time.Time
		if err := env.pool.QueryRow(ctx, "UPDATE api_keys SET last_used_at = now() - make_interval(secs => $2) WHERE key_hash = $1 RETURNING last_used_at",
			hash, ago.Seconds()).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	// A request that authenticates, answered without touching Temporal.
	call := func() { tn.must(404, tn.do("GET", "/v1/users/nobody", nil)) }

	if at := lastUsed(); at != nil {
		t.Fatalf("a new key was last used at %s", at)
	}
	before := time.Now()
	call()
	at := lastUsed()
	if at == nil || at.Before(before.Add(-5*time.Second)) || at.After(time.Now().Add(5*time.Second)) {
		t.Fatalf("after a request last use = %v, want about now", at)
	}
	keys, err := app.ListAPIKeys(ctx, env.pool, tn.id.String())
	if err != nil || len(keys) != 1 || keys[0].LastUsedAt == nil || !keys[0].LastUsedAt.Equal(*at) {
		t.Errorf("listed %+v, %v; want the one key, last used %s", keys, err, at)
	}

	// Used 30 s ago: the request is not recorded again.
	recent := setLastUsed(30 * time.Second)
	call()
	if got := lastUsed(); got == nil || !got.Equal(recent) {
		t.Errorf("within the minute last use moved from %s to %v", recent, got)
	}

	// Used 2 minutes ago: recorded again.
	stale := setLastUsed(2 * time.Minute)
	call()
	if got := lastUsed(); got == nil || !got.After(stale.Add(time.Minute)) {
		t.Errorf("over a minute later last use is %v, was %s", got, stale)
	}

	// A refused key records nothing.
	stale = setLastUsed(2 * time.Minute)
	if err := revoke(tn.key); err != nil {
		t.Fatal(err)
	}
	tn.must(401, tn.do("GET", "/v1/users/nobody", nil))
	if got := lastUsed(); got == nil || !got.Equal(stale) {
		t.Errorf("a revoked key's last use moved from %s to %v", stale, got)
	}
}
