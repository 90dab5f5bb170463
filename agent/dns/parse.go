package dns

import (
	"encoding/hex"
	"net/netip"
	"strings"
)

// kind is which form a name inside the domain takes.
type kind uint8

const (
	kindUnknown kind = iota // answered NXDOMAIN
	kindApex                // the domain itself: SOA and NS
	kindNode                // <node>.node[.<dc>].<domain>
	kindService             // [<tag>.]<service>.service[.<dc>].<domain> and RFC 2782
	kindAddr                // <hex>.addr[.<dc>].<domain>
	kindQuery               // <query>.query[.<dc>].<domain>
)

// lookup is a parsed name inside the domain.
type lookup struct {
	kind    kind
	dc      string // "" for this agent's datacenter
	node    string
	service string
	tag     string // "" for no tag filter
	addr    netip.Addr
	query   string // a prepared query's ID or name
}

// parseLookup reads name (lower-case, fully qualified) below domain. It
// walks the labels from the right to the first type label (service, node,
// addr, ...): labels after it name the datacenter, labels before it are the
// query. Forms this agent does not serve (connect, virtual, ingress) and
// anything malformed come back as kindUnknown.
func parseLookup(name, domain string) lookup {
	rest := strings.TrimSuffix(name[:len(name)-len(domain)], ".")
	if rest == "" {
		return lookup{kind: kindApex}
	}
	labels := strings.Split(rest, ".")
	typ := -1
	for i := len(labels) - 1; i >= 0; i-- {
		switch labels[i] {
		case "service", "node", "addr", "query", "connect", "virtual", "ingress":
			typ = i
		}
		if typ >= 0 {
			break
		}
	}
	if typ < 0 {
		// RFC 2782 lets the "service" label be left out:
		// _<service>._<proto>[.<dc>].<domain>.
		if n := len(labels); (n == 2 || n == 3) && isUnderscored(labels[0]) && isUnderscored(labels[1]) {
			lk := rfc2782(labels[0], labels[1])
			if n == 3 {
				lk.dc = labels[2]
			}
			return lk
		}
		return lookup{}
	}
	dc, ok := parseDatacenter(labels[typ+1:])
	if !ok {
		return lookup{}
	}
	parts := labels[:typ]
	var lk lookup
	switch labels[typ] {
	case "service":
		switch n := len(parts); {
		case n == 0:
			return lookup{}
		case n == 2 && isUnderscored(parts[0]) && isUnderscored(parts[1]):
			lk = rfc2782(parts[0], parts[1])
		default:
			lk = lookup{kind: kindService, service: parts[n-1], tag: strings.Join(parts[:n-1], ".")}
		}
	case "node":
		if len(parts) == 0 {
			return lookup{}
		}
		// A node name may contain dots; DNS sees them as labels.
		lk = lookup{kind: kindNode, node: strings.Join(parts, ".")}
	case "addr":
		if len(parts) != 1 {
			return lookup{}
		}
		ip, ok := parseHexAddr(parts[0])
		if !ok {
			return lookup{}
		}
		lk = lookup{kind: kindAddr, addr: ip}
	case "query":
		if len(parts) == 0 {
			return lookup{}
		}
		// A query's name may contain dots, as a node's may.
		lk = lookup{kind: kindQuery, query: strings.Join(parts, ".")}
	default:
		// Connect, virtual IPs and ingress gateways do not exist in this
		// agent: the names do not exist either.
		return lookup{}
	}
	lk.dc = dc
	return lk
}

func isUnderscored(label string) bool { return len(label) > 1 && label[0] == '_' }

// rfc2782 reads _<service>._<tag>; Consul treats the protocols _tcp and
// _udp as "no tag filter".
func rfc2782(service, tag string) lookup {
	tag = tag[1:]
	if tag == "tcp" || tag == "udp" {
		tag = ""
	}
	return lookup{kind: kindService, service: service[1:], tag: tag}
}

// parseDatacenter reads the labels between the type label and the domain:
// nothing, "<dc>", or Consul's newer "<dc>.dc". Enterprise's "default"
// namespace and partition ("default.ns", "default.ap") are the only ones
// that exist here; peers do not.
func parseDatacenter(labels []string) (string, bool) {
	switch len(labels) {
	case 0:
		return "", true
	case 1:
		return labels[0], true
	}
	if len(labels)%2 != 0 {
		return "", false
	}
	dc := ""
	for i := 0; i < len(labels); i += 2 {
		v, k := labels[i], labels[i+1]
		switch {
		case k == "dc" && dc == "":
			dc = v
		case (k == "ns" || k == "ap") && v == "default":
		default:
			return "", false
		}
	}
	return dc, true
}

// parseHexAddr reads the label of an .addr name: 8 hex digits for IPv4,
// 32 for IPv6.
func parseHexAddr(label string) (netip.Addr, bool) {
	switch len(label) {
	case 8:
		var b [4]byte
		if _, err := hex.Decode(b[:], []byte(label)); err != nil {
			return netip.Addr{}, false
		}
		return netip.AddrFrom4(b), true
	case 32:
		var b [16]byte
		if _, err := hex.Decode(b[:], []byte(label)); err != nil {
			return netip.Addr{}, false
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}

// hexAddr is the label of an .addr name for ip (see parseHexAddr).
func hexAddr(ip netip.Addr) string {
	if ip.Is4() || ip.Is4In6() {
		b := ip.Unmap().As4()
		return hex.EncodeToString(b[:])
	}
	b := ip.As16()
	return hex.EncodeToString(b[:])
}

// parseReverse reads a reverse-lookup name (d.c.b.a.in-addr.arpa. or the
// 32 nibbles of ip6.arpa.) into the address it asks about.
func parseReverse(name string) (netip.Addr, bool) {
	if rest, ok := strings.CutSuffix(name, ".in-addr.arpa."); ok {
		labels := strings.Split(rest, ".")
		if len(labels) != 4 {
			return netip.Addr{}, false
		}
		var b [4]byte
		for i, l := range labels {
			if len(l) == 0 || len(l) > 3 {
				return netip.Addr{}, false
			}
			n := 0
			for _, c := range l {
				if c < '0' || c > '9' {
					return netip.Addr{}, false
				}
				n = n*10 + int(c-'0')
			}
			if n > 255 {
				return netip.Addr{}, false
			}
			b[3-i] = byte(n)
		}
		return netip.AddrFrom4(b), true
	}
	if rest, ok := strings.CutSuffix(name, ".ip6.arpa."); ok {
		labels := strings.Split(rest, ".")
		if len(labels) != 32 {
			return netip.Addr{}, false
		}
		var digits [32]byte
		for i, l := range labels {
			if len(l) != 1 {
				return netip.Addr{}, false
			}
			digits[31-i] = l[0]
		}
		var b [16]byte
		if _, err := hex.Decode(b[:], digits[:]); err != nil {
			return netip.Addr{}, false
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}
