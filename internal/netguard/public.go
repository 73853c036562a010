package netguard

import "net/netip"

// notPublic4 lists the IPv4 ranges that are not reachable, or not meant to be reached,
// across the public internet (IANA IPv4 Special-Purpose Address Registry).
var notPublic4 = prefixes(
	"0.0.0.0/8",       // "this network"; 0.0.0.0 reaches the local host on Linux
	"10.0.0.0/8",      // RFC 1918
	"100.64.0.0/10",   // carrier-grade NAT (RFC 6598), often the cloud's internal network
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local, including the cloud metadata service 169.254.169.254
	"172.16.0.0/12",   // RFC 1918
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // TEST-NET-1
	"192.88.99.0/24",  // retired 6to4 relay anycast
	"192.168.0.0/16",  // RFC 1918
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // TEST-NET-2
	"203.0.113.0/24",  // TEST-NET-3
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, including the broadcast address 255.255.255.255
)

var (
	// Only 2000::/3 is allocated for global unicast; everything outside it (loopback,
	// unspecified, IPv4-compatible, discard-only, unique-local fc00::/7, link-local,
	// site-local, multicast, the local-use NAT64 prefix 64:ff9b:1::/48) is refused by
	// not being in it, so ranges IANA adds later outside 2000::/3 are refused too.
	globalUnicast6 = netip.MustParsePrefix("2000::/3")

	notPublic6 = prefixes(
		// IETF protocol assignments: Teredo 2001::/32 (retired, and reached through a
		// relay whose path we cannot vet), benchmarking 2001:2::/48, ORCHID identifiers.
		// No HTTP endpoint lives here.
		"2001::/23",
		"2001:db8::/32", // documentation
		"3fff::/20",     // documentation (RFC 9637)
	)

	// These prefixes embed an IPv4 address that the packet is eventually delivered to,
	// so they are exactly as public as that address.
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: the last 32 bits
	sixToFour = netip.MustParsePrefix("2002::/16")    // RFC 3056: the 32 bits after the prefix
)

func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

func inAny(ip netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Public reports whether ip is a public unicast address, one that a URL configured by a
// tenant may make Herald connect to.
func Public(ip netip.Addr) bool {
	if !ip.IsValid() || ip.Zone() != "" {
		// A zone only means something for scoped (link-local) addresses.
		return false
	}
	// ::ffff:127.0.0.1 connects to 127.0.0.1: judge the IPv4 address it carries.
	ip = ip.Unmap()
	if ip.Is4() {
		return !inAny(ip, notPublic4)
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return Public(netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(ip):
		return Public(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return globalUnicast6.Contains(ip) && !inAny(ip, notPublic6)
}
