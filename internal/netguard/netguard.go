// Package netguard keeps outbound calls to tenant- and user-configured URLs (webhooks,
// Slack incoming webhooks) on the public internet, so that a configured URL cannot be
// used to reach Herald's own network (server-side request forgery).
//
// Two checks cooperate: CheckURL refuses a bad URL when it is configured, with a message
// fit for the API client; Client refuses every connection at dial time, after DNS
// resolution, because a name that resolved to a public address yesterday (or a moment
// ago, in CheckURL) may resolve to a private one now.
package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Guard refuses connections to addresses outside the public internet unless AllowPrivate.
type Guard struct {
	AllowPrivate bool          // HERALD_WEBHOOK_ALLOW_PRIVATE: tests and `herald dev`
	Resolver     *net.Resolver // nil: net.DefaultResolver; tests inject one
}

// ErrForbidden is wrapped by every refusal of an address (errors.Is).
var ErrForbidden = errors.New("destination is not a public internet address")

// maxURLLength bounds what a tenant can store; real endpoints are far shorter.
const maxURLLength = 2048

// Each phase has its own bound so that a caller passing a long (or no) overall timeout
// still gives up early on an endpoint that accepts connections and then stalls; webhook
// receivers are expected to acknowledge quickly and do their work afterwards.
const (
	dialTimeout           = 10 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	responseHeaderTimeout = 15 * time.Second
)

// Client returns an http.Client for outbound calls: every connection is checked at dial
// time, redirects are never followed (the 3xx response is returned as is), no proxy is
// taken from the environment, and the whole call is bounded by timeout.
func (g Guard) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{
		Timeout:   dialTimeout,
		KeepAlive: 30 * time.Second,
		Resolver:  g.Resolver,
	}
	if !g.AllowPrivate {
		// Control runs after resolution with the very address about to be connected,
		// so DNS rebinding between CheckURL and the call cannot slip past it.
		d.Control = refusePrivate
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			// Proxy is left nil on purpose: a proxy would make the connection for us,
			// to an address Control never sees, and HTTP_PROXY in the environment
			// must not change where tenant data goes.
			DialContext:           d.DialContext,
			ForceAttemptHTTP2:     true, // a custom DialContext turns HTTP/2 off otherwise
			TLSHandshakeTimeout:   tlsHandshakeTimeout,
			ResponseHeaderTimeout: responseHeaderTimeout,
			ExpectContinueTimeout: time.Second,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConns:          100,
		},
		// The endpoint is the URL that was configured and checked: a redirect would send
		// the request (and, for 307 and 308, its signed body) to a URL nobody checked.
		// Control would still vet its address, but the 3xx is the endpoint's answer.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func refusePrivate(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !Public(ap.Addr()) {
		// net.OpError around this already names the address.
		return ErrForbidden
	}
	return nil
}

// urlError is a refusal of a URL whose message is written for the API client: it never
// contains the URL (a Slack webhook URL carries its secret in the path) nor a resolved
// address (which would map the internal network for whoever configures URLs).
type urlError struct {
	msg   string
	cause error
}

func (e *urlError) Error() string { return e.msg }
func (e *urlError) Unwrap() error { return e.cause }

func invalid(msg string) error { return &urlError{msg: msg} }

// CheckURL validates a URL at configuration time: absolute http or https, a host, no
// userinfo, at most 2048 bytes; then it resolves the host and refuses the URL,
// wrapping ErrForbidden, if any address is not Public (unless AllowPrivate). Its errors
// are sentences safe to show an API client.
func (g Guard) CheckURL(ctx context.Context, raw string) error {
	if len(raw) > maxURLLength {
		return invalid("the URL is longer than " + strconv.Itoa(maxURLLength) + " characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalid("the URL is not valid")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return invalid("the URL must be absolute and start with http:// or https://")
	}
	if u.User != nil {
		return invalid("the URL must not contain a user name or password")
	}
	host := u.Hostname()
	if host == "" {
		return invalid("the URL must have a host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return invalid("the URL's port is not valid")
		}
	}

	if ip, err := netip.ParseAddr(host); err == nil {
		if !g.AllowPrivate && !Public(ip) {
			return &urlError{msg: "the URL's host is a private address", cause: ErrForbidden}
		}
		return nil
	}
	if endsInNumber(host) {
		// Browsers and curl read such hosts (2130706433, 0x7f.1, 127.1) as IPv4
		// addresses while Go resolves them through DNS; no real domain name has a
		// numeric last label, so refuse rather than guess which reading applies.
		return invalid("the URL's host is neither a domain name nor a valid IP address")
	}

	if g.AllowPrivate {
		// Nothing is refused by address, so there is nothing to resolve for:
		// dev and test machines may have no DNS for the names they use.
		return nil
	}
	ips, err := g.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &urlError{msg: "the URL's host cannot be resolved", cause: err}
	}
	for _, ip := range ips {
		if !Public(ip) {
			// One private answer is enough: the dial may pick any of them.
			return &urlError{msg: "the URL's host resolves to a private address", cause: ErrForbidden}
		}
	}
	return nil
}

func (g Guard) resolver() *net.Resolver {
	if g.Resolver != nil {
		return g.Resolver
	}
	return net.DefaultResolver
}

// endsInNumber reports whether the WHATWG URL standard would parse host as IPv4: its
// last label (ignoring one trailing dot) is decimal, or hex with a 0x prefix.
func endsInNumber(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if h, ok := strings.CutPrefix(strings.ToLower(last), "0x"); ok {
		return strings.Trim(h, "0123456789abcdef") == ""
	}
	return last != "" && strings.Trim(last, "0123456789") == ""
}
