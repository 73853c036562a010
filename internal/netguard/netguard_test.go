package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPublic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ip   string
		want bool
	}{
		{"8.8.8.8", true},
		{"93.184.215.14", true},
		{"1.1.1.1", true},
		{"0.0.0.0", false},
		{"0.255.255.255", false},
		{"1.0.0.0", true},
		{"9.255.255.255", true},
		{"10.0.0.0", false},
		{"10.255.255.255", false},
		{"11.0.0.0", true},
		{"100.63.255.255", true},
		{"100.64.0.0", false}, // CGNAT, first
		{"100.127.255.255", false},
		{"100.128.0.0", true}, // CGNAT, one past the last
		{"126.255.255.255", true},
		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"128.0.0.0", true},
		{"169.254.169.254", false}, // cloud metadata
		{"169.254.0.1", false},
		{"172.15.255.255", true},
		{"172.16.0.0", false},
		{"172.31.255.255", false},
		{"172.32.0.0", true},
		{"192.0.0.8", false},
		{"192.0.1.1", true},
		{"192.0.2.1", false},
		{"192.88.99.1", false},
		{"192.167.255.255", true},
		{"192.168.0.1", false},
		{"192.168.255.255", false},
		{"192.169.0.0", true},
		{"198.17.255.255", true},
		{"198.18.0.0", false},
		{"198.19.255.255", false},
		{"198.20.0.0", true},
		{"198.51.100.7", false},
		{"203.0.113.9", false},
		{"223.255.255.255", true},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"240.0.0.1", false},
		{"255.255.255.255", false},

		// IPv4-mapped IPv6 connects to the IPv4 address it carries.
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.5", false},
		{"::ffff:169.254.169.254", false},
		{"::ffff:100.64.0.0", false},
		{"::ffff:100.127.255.255", false},
		{"::ffff:0.0.0.0", false},
		{"::ffff:8.8.8.8", true},
		{"::ffff:100.128.0.0", true},

		{"2606:4700:4700::1111", true},
		{"2a00:1450:4001:82a::200e", true},
		{"::", false},
		{"::1", false},
		{"::127.0.0.1", false}, // deprecated IPv4-compatible
		{"::8.8.8.8", false},
		{"100::1", false}, // discard-only
		{"fc00::1", false},
		{"fd12:3456:789a::1", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"2606:4700:4700::1111%eth0", false}, // a zone makes no sense on a global address
		{"fec0::1", false},                   // site-local
		{"ff02::1", false},
		{"ff0e::1", false},
		{"2001:db8::1", false},
		{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", false},
		{"2001:db9::1", true},
		{"3fff::1", false},
		{"2001::1", false},                              // Teredo
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", false}, // Teredo, RFC 4380's example with a public client
		{"2001:2::1", false},                            // benchmarking
		{"2001:200::1", true},                           // first regular allocation after 2001::/23
		{"64:ff9b::808:808", true},                      // NAT64 of 8.8.8.8
		{"64:ff9b::7f00:1", false},                      // NAT64 of 127.0.0.1
		{"64:ff9b::a00:5", false},                       // NAT64 of 10.0.0.5
		{"64:ff9b::a9fe:a9fe", false},                   // NAT64 of 169.254.169.254
		{"64:ff9b:1::808:808", false},                   // local-use NAT64
		{"2002:808:808::1", true},                       // 6to4 of 8.8.8.8
		{"2002:7f00:1::1", false},                       // 6to4 of 127.0.0.1
		{"2002:a00:5::1", false},                        // 6to4 of 10.0.0.5
		{"2002:c0a8:101::1", false},                     // 6to4 of 192.168.1.1
		{"2002:6440::1", false},                         // 6to4 of 100.64.0.0
		{"4000::1", false},                              // outside 2000::/3
	}
	for _, tt := range tests {
		if got := Public(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("Public(%s) = %v, want %v", tt.ip, got, tt.want)
		}
	}
	if Public(netip.Addr{}) {
		t.Error("Public(zero Addr) = true")
	}
}

// counter is an HTTP server on loopback that counts the requests reaching it.
type counter struct {
	*httptest.Server
	hits atomic.Int64
}

func startCounter(t *testing.T, h http.HandlerFunc) *counter {
	t.Helper()
	c := &counter{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *counter) port() string { return c.URL[strings.LastIndexByte(c.URL, ':')+1:] }

func get(t *testing.T, c *http.Client, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

var loopback = netip.MustParseAddr("127.0.0.1")

// Every URL here but one reaches the loopback server when private addresses are allowed,
// so the refusals without AllowPrivate are the guard's doing, not an unreachable target.
func TestClientRefusesLoopback(t *testing.T) {
	t.Parallel()
	srv := startCounter(t, nil)
	// The attacker's DNS answers 127.0.0.1 for any name it is asked about.
	dns := startDNS(t, map[string][]netip.Addr{"*": {loopback}})
	hosts := []struct {
		host       string
		unresolved bool // Go refuses to look the name up: never a connection at all
	}{
		{"127.0.0.1", false},
		{"[::ffff:127.0.0.1]", false},
		{"2130706433", true}, // an all-digit name is not a domain name to Go
		{"0x7f.1", false},    // a name to Go, so the attacker's DNS answers it
		{"localhost", false},
		{"hooks.example.com", false},
	}

	refusing := Guard{Resolver: dns.resolver()}.Client(5 * time.Second)
	allowing := Guard{AllowPrivate: true, Resolver: dns.resolver()}.Client(5 * time.Second)
	for _, h := range hosts {
		url := "http://" + h.host + ":" + srv.port() + "/hook"
		_, err := get(t, refusing, url)
		var dnsErr *net.DNSError
		if h.unresolved && !(errors.As(err, &dnsErr) && dnsErr.IsNotFound) {
			t.Errorf("GET %s: err = %v, want a resolution failure", url, err)
		} else if !h.unresolved && !errors.Is(err, ErrForbidden) {
			t.Errorf("GET %s: err = %v, want ErrForbidden", url, err)
		}
		if n := srv.hits.Load(); n != 0 {
			t.Fatalf("GET %s reached the server (%d hits) without AllowPrivate", url, n)
		}
		if h.unresolved {
			continue
		}
		resp, err := get(t, allowing, url)
		if err != nil || resp.StatusCode != http.StatusOK || srv.hits.Load() != 1 {
			t.Errorf("GET %s with AllowPrivate: %v, %v, %d hits; want 200 and 1 hit", url, resp, err, srv.hits.Load())
		}
		srv.hits.Store(0)
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	public4, public6 := netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("2606:2800:21f:cb07:6820:80da:af6b:8b2c")
	private := netip.MustParseAddr("10.0.0.5")
	dns := startDNS(t, map[string][]netip.Addr{
		"public.example.com":   {public4, public6},
		"hooks.example.com":    {private},
		"loop.example.com":     {loopback},
		"mixed.example.com":    {public4, private},
		"ula.example.com":      {public4, netip.MustParseAddr("fd00::5")},
		"metadata.example.com": {netip.MustParseAddr("169.254.169.254")},
		"empty.example.com":    {},
	})
	const (
		ok          = ""
		forbidden   = "forbidden"
		resolves    = "the URL's host resolves to a private address"
		unresolved  = "the URL's host cannot be resolved"
		notHTTP     = "the URL must be absolute and start with http:// or https://"
		numericHost = "the URL's host is neither a domain name nor a valid IP address"
	)
	tests := []struct {
		url       string
		want      string // the error message; ok for none
		forbidden bool   // the error wraps ErrForbidden
	}{
		{"https://public.example.com/hooks/herald?x=1", ok, false},
		{"http://public.example.com:8080/", ok, false},
		{"HTTPS://PUBLIC.example.com/", ok, false},
		{"https://93.184.215.14/", ok, false},
		{"https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/", ok, false},
		{"https://hooks.example.com/", resolves, true},
		{"https://loop.example.com/", resolves, true},
		{"https://mixed.example.com/", resolves, true},
		{"https://ula.example.com/", resolves, true},
		{"https://metadata.example.com/latest/meta-data/", resolves, true},
		{"http://127.0.0.1:8080/", "the URL's host is a private address", true},
		{"http://[::1]/", "the URL's host is a private address", true},
		{"http://[::ffff:127.0.0.1]/", "the URL's host is a private address", true},
		{"http://[::ffff:a9fe:a9fe]/", "the URL's host is a private address", true},
		{"http://[fe80::1%25eth0]/", "the URL's host is a private address", true},
		{"http://169.254.169.254/", "the URL's host is a private address", true},
		{"http://2130706433/", numericHost, false},
		{"http://0x7f.1/", numericHost, false},
		{"http://0x7f000001/", numericHost, false},
		{"http://127.1/", numericHost, false},
		{"http://127.0.0.1./", numericHost, false},
		{"https://nx.example.com/", unresolved, false},
		{"https://empty.example.com/", unresolved, false},
		{"ftp://public.example.com/", notHTTP, false},
		{"file:///etc/passwd", notHTTP, false},
		{"gopher://127.0.0.1:6379/_FLUSHALL", notHTTP, false},
		{"/hooks/herald", notHTTP, false},
		{"public.example.com/hooks", notHTTP, false},
		{"", notHTTP, false},
		{"http:public.example.com", "the URL must have a host", false},
		{"https:///path", "the URL must have a host", false},
		{"https://user:secret@public.example.com/", "the URL must not contain a user name or password", false},
		{"https://user@public.example.com/", "the URL must not contain a user name or password", false},
		{"https://public.example.com:0/", "the URL's port is not valid", false},
		{"https://public.example.com:65536/", "the URL's port is not valid", false},
		{"https://public.example.com:port/", "the URL is not valid", false},
		{"https://public.example.com/%zz", "the URL is not valid", false},
		{"https://public.example.com/" + strings.Repeat("a", 2048-len("https://public.example.com/")), ok, false},
		{"https://public.example.com/" + strings.Repeat("a", 2049-len("https://public.example.com/")), "the URL is longer than 2048 characters", false},
	}
	g := Guard{Resolver: dns.resolver()}
	for _, tt := range tests {
		err := g.CheckURL(t.Context(), tt.url)
		switch {
		case tt.want == ok && err != nil:
			t.Errorf("CheckURL(%q) = %q, want nil", tt.url, err)
		case tt.want == ok:
		case err == nil:
			t.Errorf("CheckURL(%q) = nil, want %q", tt.url, tt.want)
		case err.Error() != tt.want || errors.Is(err, ErrForbidden) != tt.forbidden:
			t.Errorf("CheckURL(%q) = %q (forbidden: %v), want %q (forbidden: %v)",
				tt.url, err, errors.Is(err, ErrForbidden), tt.want, tt.forbidden)
		}
	}

	// AllowPrivate relaxes the address check, and so needs no resolution:
	// dev and test machines may have no DNS for the names they use.
	dev := Guard{AllowPrivate: true, Resolver: dns.resolver()}
	for _, u := range []string{"https://hooks.example.com/", "http://127.0.0.1:8080/", "http://[::1]/", "https://nx.example.com/"} {
		if err := dev.CheckURL(t.Context(), u); err != nil {
			t.Errorf("CheckURL(%q) with AllowPrivate = %v, want nil", u, err)
		}
	}
	for u, want := range map[string]string{"ftp://hooks.example.com/": notHTTP} {
		if err := dev.CheckURL(t.Context(), u); err == nil || err.Error() != want {
			t.Errorf("CheckURL(%q) with AllowPrivate = %v, want %q", u, err, want)
		}
	}
}

func TestCheckURLReportsCancellation(t *testing.T) {
	t.Parallel()
	dns := startDNS(t, map[string][]netip.Addr{"*": {netip.MustParseAddr("93.184.215.14")}})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := Guard{Resolver: dns.resolver()}.CheckURL(ctx, "https://hooks.example.com/")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("CheckURL with a cancelled context = %v, want context.Canceled", err)
	}
}

// A name that passes CheckURL and then resolves to a private address (DNS rebinding)
// is refused when the connection is made.
func TestClientRefusesRebindingAtDialTime(t *testing.T) {
	t.Parallel()
	srv := startCounter(t, nil)
	dns := startDNS(t, map[string][]netip.Addr{"hooks.example.com": {netip.MustParseAddr("93.184.215.14")}})
	g := Guard{Resolver: dns.resolver()}
	url := "http://hooks.example.com:" + srv.port() + "/hook"
	if err := g.CheckURL(t.Context(), url); err != nil {
		t.Fatalf("CheckURL before rebinding = %v", err)
	}

	dns.set("hooks.example.com", loopback)
	if _, err := get(t, g.Client(5*time.Second), url); !errors.Is(err, ErrForbidden) {
		t.Errorf("GET after rebinding: err = %v, want ErrForbidden", err)
	}
	if n := srv.hits.Load(); n != 0 {
		t.Errorf("the rebound name reached the server (%d hits)", n)
	}
	resp, err := get(t, Guard{AllowPrivate: true, Resolver: dns.resolver()}.Client(5*time.Second), url)
	if err != nil || resp.StatusCode != http.StatusOK || srv.hits.Load() != 1 {
		t.Errorf("GET with AllowPrivate: %v, %v, %d hits; want 200 and 1 hit", resp, err, srv.hits.Load())
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	target := startCounter(t, nil)
	for _, code := range []int{301, 302, 303, 307, 308} {
		first := startCounter(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/internal", code)
		})
		// AllowPrivate makes the first hop reachable; redirects are refused regardless.
		c := Guard{AllowPrivate: true}.Client(5 * time.Second)
		resp, err := get(t, c, first.URL+"/hook")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != code || resp.Header.Get("Location") != target.URL+"/internal" {
			t.Errorf("%d redirect: got %d, Location %q; want the 3xx as is", code, resp.StatusCode, resp.Header.Get("Location"))
		}
		if first.hits.Load() != 1 || target.hits.Load() != 0 {
			t.Errorf("%d redirect: first hop %d hits, target %d hits; want 1 and 0", code, first.hits.Load(), target.hits.Load())
		}
	}
}

// Not parallel: it sets the environment.
func TestClientIgnoresProxyEnvironment(t *testing.T) {
	proxy := startCounter(t, nil)
	for _, k := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"} {
		t.Setenv(k, proxy.URL)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")

	target := startCounter(t, nil)
	// Go never proxies requests to loopback literals, so the target has a name.
	dns := startDNS(t, map[string][]netip.Addr{"hooks.example.com": {loopback}})
	c := Guard{AllowPrivate: true, Resolver: dns.resolver()}.Client(5 * time.Second)
	resp, err := get(t, c, "http://hooks.example.com:"+target.port()+"/hook")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: %v, %v; want 200", resp, err)
	}
	if target.hits.Load() != 1 || proxy.hits.Load() != 0 {
		t.Errorf("target %d hits, proxy %d hits; want 1 and 0", target.hits.Load(), proxy.hits.Load())
	}
}

func TestClientTimesOut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := startCounter(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c := Guard{AllowPrivate: true}.Client(200 * time.Millisecond)
	start := time.Now()
	_, err := get(t, c, srv.URL)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("GET a server that never answers: err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the timeout took %v, want about 200ms", d)
	}
}
