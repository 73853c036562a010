// Package netguard keeps outbound requests to tenant- and user-configured
// URLs (webhooks, Slack incoming webhooks, later approval callbacks) off the
// service's own network: loopback, private, link-local (cloud metadata) and
// other non-public addresses are refused when the connection is dialled, so
// a DNS answer that changes between a check and the request cannot bypass
// it.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// ErrForbidden is wrapped by every refusal of an address.
var ErrForbidden = errors.New("the address is not on the public internet")

// Guard refuses connections to addresses outside the public internet
// unless AllowPrivate (tests and `herald dev`).
type Guard struct {
	AllowPrivate bool
	// Resolver resolves hosts for CheckURL and Client; nil is the system's.
	Resolver *net.Resolver
}

// nonPublic are the ranges no outbound request may reach: besides
// loopback, private, link-local, multicast and unspecified addresses (see
// Public), the shared, reserved and documentation ranges, and the IPv6
// prefixes that embed an IPv4 address.
var nonPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32",
		"64:ff9b::/96", "64:ff9b:1::/48", "2001::/32", "2001:db8::/32", "2002::/16", "100::/64", "fc00::/7",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// Public reports whether ip is a public unicast address.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// control refuses a connection to a non-public address; it runs after
// resolution, on the address actually dialled.
func (g Guard) control(_, address string, _ syscall.RawConn) error {
	if g.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unreadable address", ErrForbidden)
	}
	if !Public(ap.Addr()) {
		return ErrForbidden
	}
	return nil
}

// Client returns an HTTP client for outbound calls: every connection is
// checked as it is dialled, redirects are never followed (the 3xx is the
// answer), no proxy from the environment is used, and the whole request is
// bounded by timeout.
func (g Guard) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: g.control, Resolver: g.Resolver}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// CheckURL validates an outbound URL when it is configured: absolute http or
// https with a host, no credentials, at most 2,048 characters, and (unless
// AllowPrivate) a host that resolves to public addresses only. Its errors
// are sentences safe to show an API client: they never name the addresses.
func (g Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	switch {
	case len(raw) > 2048:
		return errors.New("the URL is longer than 2048 characters")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "":
		return errors.New("want an absolute http or https URL")
	case u.User != nil:
		return errors.New("the URL must not carry a user name or password")
	}
	if g.AllowPrivate {
		return nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if !Public(ip) {
			return fmt.Errorf("%w: the URL's host is a private or reserved address", ErrForbidden)
		}
		return nil
	}
	r := g.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return errors.New("the URL's host cannot be resolved")
	}
	for _, a := range addrs {
		if !Public(a) {
			return fmt.Errorf("%w: the URL's host resolves to a private or reserved address", ErrForbidden)
		}
	}
	return nil
}
