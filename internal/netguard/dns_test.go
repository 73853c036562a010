package netguard

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// fakeDNS is a tiny authoritative DNS server on loopback UDP that answers A and AAAA
// queries from a zone the test controls, standing in for an attacker's name server.
type fakeDNS struct {
	conn net.PacketConn

	mu   sync.Mutex
	zone map[string][]netip.Addr // lower-case name without the trailing dot; "*" matches any other; absent: NXDOMAIN
}

func startDNS(t *testing.T, zone map[string][]netip.Addr) *fakeDNS {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeDNS{conn: conn, zone: zone}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.serve()
	}()
	t.Cleanup(func() {
		_ = conn.Close()
		<-done
	})
	return s
}

// set replaces the answer for name, as a rebinding attacker does between two lookups.
func (s *fakeDNS) set(name string, addrs ...netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zone[name] = addrs
}

// resolver returns a pure-Go resolver that sends every query to s. Its dialer is a plain
// one: the DNS server is on loopback too, and the guard is about the HTTP connection.
func (s *fakeDNS) resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", s.conn.LocalAddr().String())
		},
	}
}

func (s *fakeDNS) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if resp := s.answer(buf[:n]); resp != nil {
			_, _ = s.conn.WriteTo(resp, from)
		}
	}
}

const (
	typeA    = 1
	typeAAAA = 28
)

// answer builds the response to one query (RFC 1035 section 4), or nil to drop it.
func (s *fakeDNS) answer(req []byte) []byte {
	if len(req) < 12 || binary.BigEndian.Uint16(req[4:]) != 1 {
		return nil
	}
	var labels []string
	i := 12
	for i < len(req) && req[i] != 0 {
		l := int(req[i])
		if i+1+l > len(req) {
			return nil
		}
		labels = append(labels, strings.ToLower(string(req[i+1:i+1+l])))
		i += 1 + l
	}
	qEnd := i + 5 // the terminating zero byte, QTYPE, QCLASS
	if qEnd > len(req) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(req[i+1:])

	s.mu.Lock()
	addrs, ok := s.zone[strings.Join(labels, ".")]
	if !ok {
		addrs, ok = s.zone["*"]
	}
	s.mu.Unlock()

	var rdata [][]byte
	for _, a := range addrs {
		switch {
		case qtype == typeA && a.Is4():
			b := a.As4()
			rdata = append(rdata, b[:])
		case qtype == typeAAAA && a.Is6():
			b := a.As16()
			rdata = append(rdata, b[:])
		}
	}

	flags := uint16(0x8000 | 0x0400 | 0x0080) // response, authoritative, recursion available
	flags |= uint16(req[2]&0x01) << 8         // echo "recursion desired"
	if !ok {
		flags |= 3 // NXDOMAIN
	}
	resp := binary.BigEndian.AppendUint16(nil, binary.BigEndian.Uint16(req))
	resp = binary.BigEndian.AppendUint16(resp, flags)
	resp = binary.BigEndian.AppendUint16(resp, 1)
	resp = binary.BigEndian.AppendUint16(resp, uint16(len(rdata)))
	resp = append(resp, 0, 0, 0, 0) // no authority or additional records
	resp = append(resp, req[12:qEnd]...)
	for _, rd := range rdata {
		resp = append(resp, 0xc0, 12) // the name: a pointer to the question's
		resp = binary.BigEndian.AppendUint16(resp, qtype)
		resp = binary.BigEndian.AppendUint16(resp, 1) // class IN
		resp = append(resp, 0, 0, 0, 0)               // TTL 0: nothing may cache it
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(rd)))
		resp = append(resp, rd...)
	}
	return resp
}
