package api

import (
	"math"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/heraldhq/herald/internal/lru"
)

// maxKeyBuckets bounds the per-key buckets a process keeps: a bucket is
// made only for a key that authenticated, and the least recently used go
// first, so no header value can grow memory.
const maxKeyBuckets = 10_000

// limiter is a token bucket per API key, in this process: N API processes
// allow N times the rate (the README says so).
type limiter struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	keys  *lru.Cache[string, *rate.Limiter]
}

func newLimiter(perSecond float64, burst int) *limiter {
	if perSecond <= 0 {
		return nil
	}
	return &limiter{rate: rate.Limit(perSecond), burst: burst, keys: lru.New[string, *rate.Limiter](maxKeyBuckets)}
}

// wait takes a request from key's bucket, making the bucket if need be:
// it answers 0 when key may make the request now, or how long until it may.
func (l *limiter) wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.keys.Get(key)
	if !ok {
		b = rate.NewLimiter(l.rate, l.burst)
		l.keys.Add(key, b)
	}
	return take(b, now)
}

// peek answers how long until key may make a request, without taking one
// or making a bucket: a key with no bucket may go on (to be looked up).
func (l *limiter) peek(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.keys.Peek(key)
	if !ok {
		return 0
	}
	return until(b, now)
}

// take spends a token of b, or answers how long until one is there.
func take(b *rate.Limiter, now time.Time) time.Duration {
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // a refused request spends no token
		return d
	}
	return 0
}

// until is how long until b has a token, spending none.
func until(b *rate.Limiter, now time.Time) time.Duration {
	tokens := b.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) / float64(b.Limit()) * float64(time.Second))
}

// Failed authentications are limited per client address, always: each
// costs a database lookup, and random keys would otherwise make one each.
const (
	// authFailureBurst failures from one address may come at once...
	authFailureBurst = 20
	// ...and then one per authFailureEvery (20 a minute).
	authFailureEvery = 3 * time.Second
	// maxFailureAddrs bounds the addresses remembered.
	maxFailureAddrs = 10_000
	// maxKnownKeys bounds the keys remembered as having authenticated.
	maxKnownKeys = 10_000
)

// authGate refuses API-key lookups from an address that has failed to
// authenticate too often, before they reach the database. A key that
// authenticated in this process lately still goes through from such an
// address: an attacker sharing a NAT or proxy with real clients does not
// lock them out.
type authGate struct {
	mu       sync.Mutex
	failures *lru.Cache[string, *rate.Limiter]
	known    *lru.Cache[string, struct{}]
}

func newAuthGate() *authGate {
	return &authGate{failures: lru.New[string, *rate.Limiter](maxFailureAddrs), known: lru.New[string, struct{}](maxKnownKeys)}
}

// blocked answers how long until addr may try keyHash: 0 now.
func (g *authGate) blocked(addr, keyHash string, now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.known.Get(keyHash); ok {
		return 0
	}
	b, ok := g.failures.Peek(clientKey(addr))
	if !ok {
		return 0
	}
	return until(b, now)
}

// failed records that addr failed to authenticate with keyHash.
func (g *authGate) failed(addr, keyHash string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.known.Remove(keyHash) // revoked: it no longer passes a blocked address
	a := clientKey(addr)
	b, ok := g.failures.Get(a)
	if !ok {
		b = rate.NewLimiter(rate.Every(authFailureEvery), authFailureBurst)
		g.failures.Add(a, b)
	}
	b.ReserveN(now, 1) // past the burst it goes into debt: a flood waits longer
}

// succeeded records that keyHash authenticated.
func (g *authGate) succeeded(keyHash string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.known.Add(keyHash, struct{}{})
}

// clientKey is what failures are counted by: the address, or for IPv6 its
// /64, which one client usually holds whole and could otherwise rotate
// through.
func clientKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		if len(addr) > 64 {
			addr = addr[:64]
		}
		return addr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// rateLimited is the contract's 429, with when to come back.
func rateLimited(d time.Duration) *Error {
	secs := retryAfter(d)
	return newError(http.StatusTooManyRequests, "rate_limited",
		"too many requests for this API key; retry after %d s", secs).with("retry_after_seconds", secs)
}

// tooManyFailures is the 429 of an address that failed to authenticate
// too often.
func tooManyFailures(d time.Duration) *Error {
	secs := retryAfter(d)
	return newError(http.StatusTooManyRequests, "rate_limited",
		"too many failed authentications from this address; retry after %d s", secs).with("retry_after_seconds", secs)
}

func retryAfter(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }
