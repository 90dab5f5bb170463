package dns

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"

	"github.com/miekg/dns"
)

// Why a hand-written reply: the benchmark's question, and the one most
// resolvers ask, is the A (or AAAA) record of a service whose instances
// the cache holds. Its reply is the question echoed and a 16-byte (28 for
// AAAA) record per address, each naming the question by a compression
// pointer. Unpacking the query into a dns.Msg, building RRs and packing
// them with a compression map cost more than the rest of the answer
// together (about half the CPU of a cache hit, profiled under dnsperf), so
// fastAddress writes those bytes directly. It handles exactly that case
// and returns ok false for everything else, which then takes the general
// path; fast_test.go checks both paths give the same replies.

// fastQuery is what the fast path reads of a query.
type fastQuery struct {
	name  string // the question's name, lower case, with the final dot
	qtype uint16 // A or AAAA; the class is IN
	flags uint16 // the header's flags word
	qEnd  int    // where the question ends in the packet
	edns  bool   // an OPT record (version 0) follows the question
	size  int    // the client's UDP buffer: 512, or more if OPT says so
}

// parseFastQuery reads a query the fast path may answer: a standard query
// with one A or AAAA question of class IN in plain lower- or upper-case
// labels, and at most an OPT record of version 0 (with no options but a
// cookie or padding) after it. ok is false
// for anything else (the general path then parses it with miekg/dns; the
// fuzzer in fast_fuzz_test.go holds the two to the same reading).
func parseFastQuery(pkt []byte) (q fastQuery, ok bool) {
	if len(pkt) < 12 {
		return q, false
	}
	// Header: a standard query (QR 0, opcode 0) with one question and at
	// most one additional record (OPT).
	flags := binary.BigEndian.Uint16(pkt[2:])
	if flags&0xF800 != 0 ||
		binary.BigEndian.Uint16(pkt[4:]) != 1 ||
		binary.BigEndian.Uint16(pkt[6:]) != 0 ||
		binary.BigEndian.Uint16(pkt[8:]) != 0 ||
		binary.BigEndian.Uint16(pkt[10:]) > 1 {
		return q, false
	}
	// The question: plain labels (no pointers, nothing to escape when the
	// name is spelled out), then type and class. A name takes at most 255
	// octets on the wire, the root label's included: 254 spelled out.
	var nameBuf [254]byte
	name := nameBuf[:0]
	off := 12
	for {
		if off >= len(pkt) {
			return q, false
		}
		l := int(pkt[off])
		off++
		if l == 0 {
			break
		}
		if l > 63 || off+l > len(pkt) || len(name)+l+1 > len(nameBuf) {
			return q, false
		}
		for _, c := range pkt[off : off+l] {
			switch {
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			default:
				return q, false
			}
			name = append(name, c)
		}
		name = append(name, '.')
		off += l
	}
	if len(name) == 0 || off+4 > len(pkt) {
		return q, false
	}
	qtype := binary.BigEndian.Uint16(pkt[off:])
	if (qtype != dns.TypeA && qtype != dns.TypeAAAA) || binary.BigEndian.Uint16(pkt[off+2:]) != dns.ClassINET {
		return q, false
	}
	qEnd := off + 4

	// EDNS0: an OPT record of version 0 and nothing after it.
	size, edns := dns.MinMsgSize, false
	if binary.BigEndian.Uint16(pkt[10:]) == 1 {
		o := qEnd
		if o+11 > len(pkt) || pkt[o] != 0 || binary.BigEndian.Uint16(pkt[o+1:]) != dns.TypeOPT || pkt[o+6] != 0 {
			return q, false // not OPT, or EDNS version > 0 (BADVERS)
		}
		if o+11+int(binary.BigEndian.Uint16(pkt[o+9:])) != len(pkt) {
			return q, false
		}
		// Options: well framed, and only those miekg reads without
		// judging their content (a cookie, padding), so that the general
		// path would parse this query too. Neither path answers them.
		for opts := pkt[o+11:]; len(opts) > 0; {
			if len(opts) < 4 {
				return q, false
			}
			code, l := binary.BigEndian.Uint16(opts), 4+int(binary.BigEndian.Uint16(opts[2:]))
			if (code != dns.EDNS0COOKIE && code != dns.EDNS0PADDING) || l > len(opts) {
				return q, false
			}
			opts = opts[l:]
		}
		edns = true
		if us := int(binary.BigEndian.Uint16(pkt[o+3:])); us > size {
			size = us
		}
	} else if qEnd != len(pkt) {
		return q, false
	}
	return fastQuery{name: string(name), qtype: qtype, flags: flags, qEnd: qEnd, edns: edns, size: size}, true
}

// fastAddress answers a plain UDP A/AAAA query for a cached service into
// buf. ok is false when the query is anything else: then nothing was
// decided and the general path answers.
func (s *Server) fastAddress(pkt, buf []byte) (reply []byte, ok bool) {
	if s.cache == nil || s.cfg.DisableCompression {
		return nil, false
	}
	q, ok := parseFastQuery(pkt)
	if !ok {
		return nil, false
	}
	qtype, flags, qEnd, size, edns := q.qtype, q.flags, q.qEnd, q.size, q.edns

	// Only a service lookup the cache holds, answered from memory.
	lname := q.name
	domain, ok := s.matchDomain(lname)
	if !ok {
		return nil, false
	}
	lk := parseLookup(lname, domain)
	if lk.kind != kindService {
		return nil, false
	}
	dc := lk.dc
	if dc == "" {
		dc = s.cfg.Datacenter
	}
	nodes, ok := s.cache.peek(dc, lk.service)
	if !ok {
		return nil, false
	}
	var addrBuf [16]netip.Addr
	var seenBuf [16]string
	addrs, seen := addrBuf[:0], seenBuf[:0]
instances:
	for i := range nodes {
		n := &nodes[i]
		if n.Node == nil || n.Service == nil || !hasTag(n.Service, lk.tag) || !s.usable(n) {
			continue
		}
		a := n.Service.Address
		if a == "" {
			a = n.Node.Address
		}
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return nil, false // a host name: CNAME, general path
		}
		// Two instances on one address are one record (compared as
		// registered, like the general path).
		for _, d := range seen {
			if d == a {
				continue instances
			}
		}
		seen = append(seen, a)
		if ip = ip.Unmap(); ip.Is4() == (qtype == dns.TypeA) {
			addrs = append(addrs, ip)
		}
	}
	if len(addrs) == 0 {
		return nil, false // NXDOMAIN or NODATA: general path
	}
	rand.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })

	// The same limits as pack.
	n, truncated := len(addrs), false
	if size <= dns.MinMsgSize && s.cfg.UDPAnswerLimit > 0 && n > s.cfg.UDPAnswerLimit {
		n = s.cfg.UDPAnswerLimit
	}
	if l := s.cfg.ARecordLimit; l > 0 && n > l {
		n = l
	}
	if n < len(addrs) && s.cfg.EnableTruncate {
		truncated = true
	}
	rrLen := 16
	if qtype == dns.TypeAAAA {
		rrLen = 28
	}
	total := qEnd + n*rrLen
	if edns {
		total += 11
	}
	if total > size {
		return nil, false // needs cutting to fit: general path
	}

	out := buf[:0]
	if cap(out) < total {
		out = make([]byte, 0, total)
	}
	out = append(out, pkt[0], pkt[1])
	// QR, AA, RD and CD as in the query, RA when we recurse.
	f := uint16(0x8000 | 0x0400 | flags&(0x0100|0x0010))
	if truncated {
		f |= 0x0200
	}
	if len(s.recursors) > 0 {
		f |= 0x0080
	}
	out = binary.BigEndian.AppendUint16(out, f)
	out = binary.BigEndian.AppendUint16(out, 1)
	out = binary.BigEndian.AppendUint16(out, uint16(n))
	out = binary.BigEndian.AppendUint16(out, 0)
	if edns {
		out = binary.BigEndian.AppendUint16(out, 1)
	} else {
		out = binary.BigEndian.AppendUint16(out, 0)
	}
	out = append(out, pkt[12:qEnd]...) // the question, as asked
	ttl := s.ttls.lookup(lk.service)
	for _, ip := range addrs[:n] {
		out = append(out, 0xC0, 12) // the name: a pointer to the question
		out = binary.BigEndian.AppendUint16(out, qtype)
		out = binary.BigEndian.AppendUint16(out, dns.ClassINET)
		out = binary.BigEndian.AppendUint32(out, ttl)
		if qtype == dns.TypeA {
			b := ip.As4()
			out = binary.BigEndian.AppendUint16(out, 4)
			out = append(out, b[:]...)
		} else {
			b := ip.As16()
			out = binary.BigEndian.AppendUint16(out, 16)
			out = append(out, b[:]...)
		}
	}
	if edns {
		// OPT: root name, our UDP size, no extended rcode, version 0, no
		// flags, no options.
		out = append(out, 0)
		out = binary.BigEndian.AppendUint16(out, dns.TypeOPT)
		out = binary.BigEndian.AppendUint16(out, ednsSize)
		out = binary.BigEndian.AppendUint32(out, 0)
		out = binary.BigEndian.AppendUint16(out, 0)
	}
	return out, true
}
