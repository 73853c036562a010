package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func TestPublic(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "1.1.1.1": true, "2606:4700:4700::1111": true, "100.63.255.255": true, "100.128.0.0": true,
		"127.0.0.1": false, "127.255.255.254": false, "::1": false,
		"10.0.0.1": false, "172.16.0.1": false, "172.31.255.255": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false,
		"100.64.0.0": false, "100.127.255.255": false, // CGNAT, both edges
		"::ffff:127.0.0.1": false, "::ffff:10.1.2.3": false, "::ffff:8.8.8.8": true,
		"fc00::1": false, "fd12:3456::1": false,
		"0.0.0.0": false, "::": false, "0.1.2.3": false,
		"224.0.0.1": false, "239.255.255.250": false, "ff02::1": false, "255.255.255.255": false,
		"192.0.0.8": false, "192.0.2.1": false, "198.18.0.1": false, "198.51.100.7": false, "203.0.113.9": false, "240.0.0.1": false,
		"2001:db8::1": false, "64:ff9b::7f00:1": false, "2002:7f00:1::": false, "2001:0:4136:e378::1": false,
	} {
		if got := Public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Public(%s) = %v, want %v", addr, got, want)
		}
	}
}

// counter is a loopback server that counts the requests reaching it.
func counter(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestClientRefusesPrivateAddressesWhenDialling(t *testing.T) {
	t.Parallel()
	srv, hits := counter(t)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	client := Guard{}.Client(5 * time.Second)
	for _, host := range []string{"127.0.0.1", "[::ffff:127.0.0.1]", "2130706433", "0x7f.1", "localhost", "[::1]"} {
		u := "http://" + host + ":" + strconv.Itoa(port) + "/"
		res, err := client.Get(u)
		if err == nil {
			res.Body.Close()
			t.Errorf("GET %s got through (%d)", u, res.StatusCode)
			continue
		}
		// Forms Go does not parse as addresses fail to resolve instead;
		// either way nothing reaches the server.
		if !errors.Is(err, ErrForbidden) && !strings.Contains(err.Error(), "no such host") && !strings.Contains(err.Error(), "lookup") {
			t.Errorf("GET %s: %v, want a refusal", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the loopback server got %d requests through the guard", n)
	}
	res, err := Guard{AllowPrivate: true}.Client(5 * time.Second).Get(srv.URL)
	if err != nil {
		t.Fatalf("with AllowPrivate: %v", err)
	}
	res.Body.Close()
	if hits.Load() != 1 {
		t.Error("AllowPrivate did not reach the loopback server")
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	target, hits := counter(t)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusFound)
	}))
	defer redirector.Close()
	res, err := Guard{AllowPrivate: true}.Client(5 * time.Second).Get(redirector.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || hits.Load() != 0 {
		t.Errorf("status %d and %d hits at the target, want the 302 itself and none", res.StatusCode, hits.Load())
	}
}

func TestClientIgnoresProxyEnvironment(t *testing.T) {
	proxy, proxied := counter(t)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	srv, hits := counter(t)
	res, err := Guard{AllowPrivate: true}.Client(5 * time.Second).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if proxied.Load() != 0 || hits.Load() != 1 {
		t.Errorf("proxy got %d, server %d: the guard must dial the endpoint itself", proxied.Load(), hits.Load())
	}
}

// fakeDNS answers every A query with addr, as a resolver that was poisoned
// (or a name that points inside) would.
func fakeDNS(t *testing.T, addr netip.Addr) *net.Resolver {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
			_ = b.StartQuestions()
			_ = b.Question(q)
			_ = b.StartAnswers()
			if q.Type == dnsmessage.TypeA {
				_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: addr.As4()})
			}
			msg, _ := b.Finish()
			_, _ = pc.WriteTo(msg, from)
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	private := Guard{Resolver: fakeDNS(t, netip.MustParseAddr("10.0.0.5"))}
	err := private.CheckURL(context.Background(), "https://hooks.example.com/in")
	if !errors.Is(err, ErrForbidden) || strings.Contains(err.Error(), "10.0.0.5") {
		t.Errorf("a host resolving to 10.0.0.5: %v, want a refusal that does not name the address", err)
	}
	public := Guard{Resolver: fakeDNS(t, netip.MustParseAddr("93.184.215.14"))}
	if err := public.CheckURL(context.Background(), "https://hooks.example.com/in"); err != nil {
		t.Errorf("a host resolving to a public address: %v", err)
	}
	for _, u := range []string{"http://127.0.0.1/", "http://[::ffff:127.0.0.1]/", "http://169.254.169.254/latest/meta-data", "http://[fd00::1]/",
		"ftp://example.com/", "/relative", "https://user:pw@example.com/", "https://" + strings.Repeat("a", 2050) + ".com/"} {
		if err := public.CheckURL(context.Background(), u); err == nil {
			t.Errorf("CheckURL(%.60s) accepted", u)
		}
	}
	if err := (Guard{AllowPrivate: true}).CheckURL(context.Background(), "http://127.0.0.1:8080/hook"); err != nil {
		t.Errorf("AllowPrivate refused loopback: %v", err)
	}
}

// TestRebindingIsRefusedWhenDialling: a name that passed CheckURL with a
// public answer and now answers loopback is refused at the connection.
func TestRebindingIsRefusedWhenDialling(t *testing.T) {
	t.Parallel()
	srv, hits := counter(t)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	g := Guard{Resolver: fakeDNS(t, netip.MustParseAddr("127.0.0.1"))}
	res, err := g.Client(5 * time.Second).Get("http://hooks.example.com:" + strconv.Itoa(port) + "/")
	if err == nil {
		res.Body.Close()
	}
	if !errors.Is(err, ErrForbidden) || hits.Load() != 0 {
		t.Errorf("GET a name answering 127.0.0.1: %v with %d hits, want ErrForbidden and none", err, hits.Load())
	}
}
