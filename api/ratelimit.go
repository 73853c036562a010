package api

import (
	"math"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a token bucket per API key, in this process: N API processes
// allow N times the rate (the README says so).
type limiter struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	keys  map[string]*bucket
	swept time.Time
}

type bucket struct {
	l    *rate.Limiter
	seen time.Time
}

// idleAfter forgets keys idle this long, so revoked or rotated keys do not
// grow the map forever.
const idleAfter = 10 * time.Minute

func newLimiter(perSecond float64, burst int) *limiter {
	if perSecond <= 0 {
		return nil
	}
	return &limiter{rate: rate.Limit(perSecond), burst: burst, keys: map[string]*bucket{}, swept: time.Now()}
}

// wait answers 0 when key may make a request now, or how long until it may.
func (l *limiter) wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > idleAfter {
		for k, b := range l.keys {
			if now.Sub(b.seen) > idleAfter {
				delete(l.keys, k)
			}
		}
		l.swept = now
	}
	b := l.keys[key]
	if b == nil {
		b = &bucket{l: rate.NewLimiter(l.rate, l.burst)}
		l.keys[key] = b
	}
	b.seen = now
	r := b.l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // a refused request spends no token
		return d
	}
	return 0
}

// rateLimited is the contract's 429, with when to come back.
func rateLimited(d time.Duration) *Error {
	secs := int(math.Ceil(d.Seconds()))
	return newError(http.StatusTooManyRequests, "rate_limited",
		"too many requests for this API key; retry after %d s", secs).with("retry_after_seconds", secs)
}
