// Package client is a Go client for Herald's REST API (v1): typed requests
// and answers for every route of the OpenAPI document, idempotency keys on
// every posted event, retries with backoff on 429 and 503 that honour
// Retry-After, and context deadlines. It uses only the standard library.
//
//	c, err := client.New("https://herald.example", os.Getenv("HERALD_API_KEY"))
//	acc, err := c.PostEvent(ctx, client.EventRequest{
//		Type:       "issue.assigned",
//		Recipients: &client.Recipients{Users: []string{"ada"}},
//		Data:       map[string]any{"issue_key": "PROJ-123", "title": "Fix login bug"},
//	})
//
// Every method returns *Error for an answer in the API's error shape; use
// errors.As to read its status and code.
package client

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Client calls one Herald API with one tenant API key. It is safe for
// concurrent use.
type Client struct {
	base      *url.URL
	apiKey    string
	http      *http.Client
	retry     RetryPolicy
	userAgent string
}

// RetryPolicy says how a Client retries. A request is tried again when
// Herald answers 429 (it was refused before any work), when it answers
// 503 on a route that is safe to repeat, and when the connection failed
// before the request was sent. A request whose outcome is unknown (the
// connection broke after it was sent) is tried again only on a route that
// is safe to repeat: reads, PUTs of plain settings, creates keyed by the
// caller's ID, and POST /v1/events, whose idempotency key makes a repeat
// return the first event.
type RetryPolicy struct {
	// MaxAttempts is the number of tries in all; 1 turns retries off.
	// Zero means 4.
	MaxAttempts int
	// BaseDelay is the wait before the first retry; each later one doubles
	// it, with jitter, up to MaxDelay. Zero means 250 ms and 10 s.
	BaseDelay, MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits out; a
	// longer one is returned to the caller as the *Error (its RetryAfter
	// says how long). Zero means a minute.
	MaxRetryAfter time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 4
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 250 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 10 * time.Second
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = time.Minute
	}
	return p
}

// backoff is the wait before retry n (1-based): exponential with jitter, so
// many clients refused at once do not come back at once.
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.BaseDelay << min(n-1, 20)
	if d <= 0 || d > p.MaxDelay {
		d = p.MaxDelay
	}
	return d/2 + rand.N(d/2+1)
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests with h (for a proxy,
// TLS settings or tracing). Leave its Timeout zero and give each call a
// context deadline instead: a Timeout covers every retry's wait too.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithRetry sets the retry policy.
func WithRetry(p RetryPolicy) Option { return func(c *Client) { c.retry = p.withDefaults() } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the Herald API at baseURL (such as
// http://localhost:8080) that authenticates with a tenant API key (hk_…).
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("herald client: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("herald client: base URL %q is not an absolute http or https URL", baseURL)
	}
	c := &Client{base: u, apiKey: apiKey, http: http.DefaultClient, retry: RetryPolicy{}.withDefaults(),
		userAgent: "herald-go-client"}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// ErrUnknownOutcome marks an error after which the request may or may not
// have taken effect: the connection failed after the request was sent, on
// a route the client does not repeat on its own. Read the state back before
// trying again.
var ErrUnknownOutcome = errors.New("herald client: the request was sent but no answer came; it may have taken effect")

// call is one API call: a route with its path arguments, and what to send.
type call struct {
	route  Route
	args   []string
	query  url.Values
	body   any        // sent as JSON when not nil
	form   url.Values // sent as a form when not nil
	header http.Header
}

// maxAnswer bounds the answer a client reads: Herald's largest (a page of
// 200 inbox items or audit rows) is far smaller.
const maxAnswer = 32 << 20

// do sends c and decodes a 2xx answer's JSON into out (when out is not nil).
func (cl *Client) do(ctx context.Context, c call, out any) error {
	res, err := cl.open(ctx, c)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("herald client: %s %s: reading the answer: %w", c.route.Method, c.route.Path, err)
	}
	if out == nil || len(body) == 0 {
		return nil
	}
	if s, ok := out.(*string); ok {
		*s = string(body)
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("herald client: %s %s: decoding the answer: %w", c.route.Method, c.route.Path, err)
	}
	return nil
}

// open sends c, retrying as the policy says, and returns a 2xx answer with
// its body unread; any other answer is returned as *Error.
func (cl *Client) open(ctx context.Context, c call) (*http.Response, error) {
	target, err := cl.url(c)
	if err != nil {
		return nil, err
	}
	var payload []byte
	contentType := ""
	switch {
	case c.body != nil:
		if payload, err = json.Marshal(c.body); err != nil {
			return nil, fmt.Errorf("herald client: encoding the request: %w", err)
		}
		contentType = "application/json"
	case c.form != nil:
		payload, contentType = []byte(c.form.Encode()), "application/x-www-form-urlencoded"
	}
	for attempt := 1; ; attempt++ {
		res, sent, err := cl.send(ctx, c, target, payload, contentType)
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, fmt.Errorf("herald client: %s %s: %w", c.route.Method, c.route.Path, ctx.Err())
			}
			err = fmt.Errorf("herald client: %s %s: %w", c.route.Method, c.route.Path, err)
			if sent && !c.route.Idempotent {
				return nil, errors.Join(ErrUnknownOutcome, err)
			}
		case res.StatusCode < 300:
			return res, nil
		default:
			apiErr := readError(res)
			err = apiErr
			if !cl.retriable(c.route, res.StatusCode) {
				return nil, err
			}
			if apiErr.RetryAfter > cl.retry.MaxRetryAfter {
				return nil, err
			}
			wait = apiErr.RetryAfter
		}
		if attempt >= cl.retry.MaxAttempts {
			return nil, err
		}
		wait = max(wait, cl.retry.backoff(attempt))
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			// Waiting would outlast the caller's deadline: the last answer
			// says more than "deadline exceeded" would.
			return nil, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

// retriable says whether an error answer is worth another try: 429 always
// (the rate limiter refused the request before it did anything), 503 where
// repeating the request is safe (a dependency may have timed out halfway).
func (cl *Client) retriable(r Route, status int) bool {
	if r.noRetry {
		return false
	}
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable && r.Idempotent
}

// send makes one try; sent reports whether the request's headers reached
// the connection, after which a failure leaves its outcome unknown.
func (cl *Client) send(ctx context.Context, c call, target string, payload []byte, contentType string) (*http.Response, bool, error) {
	var sent atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { sent.Store(true) }})
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, c.route.Method, target, body)
	if err != nil {
		return nil, false, err
	}
	for k, vs := range c.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if cl.userAgent != "" {
		req.Header.Set("User-Agent", cl.userAgent)
	}
	if c.route.auth && cl.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+cl.apiKey)
	}
	res, err := cl.http.Do(req)
	return res, sent.Load(), err
}

// url fills the route's path template with the escaped arguments.
func (cl *Client) url(c call) (string, error) {
	var b strings.Builder
	b.WriteString(strings.TrimRight(cl.base.String(), "/"))
	rest, i := c.route.Path, 0
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			b.WriteString(rest)
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if i >= len(c.args) || end < 0 {
			return "", fmt.Errorf("herald client: %s needs more path arguments", c.route.Path)
		}
		if c.args[i] == "" {
			return "", fmt.Errorf("herald client: %s: %s is empty", c.route.Path, rest[open:open+end+1])
		}
		b.WriteString(rest[:open])
		b.WriteString(url.PathEscape(c.args[i]))
		rest, i = rest[open+end+1:], i+1
	}
	if len(c.query) > 0 {
		b.WriteString("?")
		b.WriteString(c.query.Encode())
	}
	return b.String(), nil
}

// newIdempotencyKey is a random key for an event posted without one.
func newIdempotencyKey() (string, error) {
	var b [16]byte
	if _, err := crand.Read(b[:]); err != nil {
		return "", fmt.Errorf("herald client: making an idempotency key: %w", err)
	}
	return "herald-go-" + hex.EncodeToString(b[:]), nil
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
