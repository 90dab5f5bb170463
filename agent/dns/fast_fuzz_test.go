package dns

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"conclave/agent/structs"
)

// FuzzFastAddress holds the hand-written fast path to miekg/dns's reading
// of the same bytes. Whatever query parseFastQuery accepts, dns.Msg.Unpack
// must accept too and find the same question, flags and EDNS0 record in
// it; and whatever fastAddress answers must be what the general path
// answers to miekg's reading. Neither may panic on any input.
//
//	go test -run='^$' -fuzz=FuzzFastAddress -fuzztime=60s ./agent/dns/
func FuzzFastAddress(f *testing.F) {
	// A cache that makes the fast path answer: services with IPv4 and IPv6
	// instances, tags, and one with the longest label a name may carry.
	long := strings.Repeat("x", 63)
	backend := &staticBackend{done: make(chan struct{}), services: map[string]structs.CheckServiceNodes{
		"web": {
			instance("a", "10.0.0.1", "", []string{"beta"}, structs.HealthPassing),
			instance("b", "10.0.0.2", "", nil, structs.HealthWarning),
			instance("d", "2001:db8::4", "", []string{"beta"}, structs.HealthPassing),
		},
		long: {instance("l", "10.0.1.1", "", []string{long}, structs.HealthPassing)},
	}}
	f.Cleanup(func() { close(backend.done) })
	cfg := DefaultConfig()
	// A long alternative domain lets a name of a cached service reach
	// the 255-octet limit of a domain name.
	cfg.AltDomain = strings.Repeat("y", 60) + "." + strings.Repeat("z", 57) + "."
	s, err := New(cfg, backend, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Shutdown)
	for _, svc := range []string{"web", long} {
		if _, err := s.cache.get("dc1", svc); err != nil {
			f.Fatal(err)
		}
	}

	for _, name := range []string{
		"web.service.consul.", "WeB.SeRvIcE.CoNsUl.", "beta.web.service.dc1.consul.", "_web._beta.service.consul.",
		long + "." + long + ".service." + cfg.AltDomain, "nosuch.service.consul.", "a.node.consul.", "example.org.",
	} {
		for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
			for _, opts := range [][]dns.EDNS0{nil, {}, {&dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0123456789abcdef"}}} {
				f.Add(query(f, name, qtype, opts))
			}
		}
	}
	f.Add(query(f, "web.service.consul.", dns.TypeA, []dns.EDNS0{&dns.EDNS0_PADDING{Padding: make([]byte, 12)}}))
	f.Add(query(f, "web.service.consul.", dns.TypeA, []dns.EDNS0{&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: []byte{10, 0, 0, 0}}}))

	f.Fuzz(func(t *testing.T, pkt []byte) {
		q, parsed := parseFastQuery(pkt)
		fast, answered := s.fastAddress(pkt, make([]byte, 512))
		if answered && !parsed {
			t.Fatalf("fastAddress answered %x, which parseFastQuery refuses", pkt)
		}
		if !parsed {
			return
		}
		req := &dns.Msg{}
		if err := req.Unpack(pkt); err != nil {
			t.Fatalf("parseFastQuery(%x) = %+v; miekg/dns refuses it: %v", pkt, q, err)
		}
		if msg := sameQuery(q, pkt, req); msg != "" {
			t.Fatalf("parseFastQuery(%x) = %+v; miekg/dns reads %v: %s", pkt, q, req, msg)
		}
		if answered {
			checkFastReply(t, s, req, fast, req.Question[0].String())
		}
	})
}

// sameQuery says how miekg's reading req of pkt differs from the fast
// path's q, or "" when they agree.
func sameQuery(q fastQuery, pkt []byte, req *dns.Msg) string {
	switch {
	case req.Response || req.Opcode != dns.OpcodeQuery:
		return "not a standard query"
	case req.Id != binary.BigEndian.Uint16(pkt):
		return "another ID"
	case req.RecursionDesired != (q.flags&0x0100 != 0) || req.CheckingDisabled != (q.flags&0x0010 != 0):
		return "other RD or CD flags"
	case len(req.Question) != 1 || len(req.Answer) != 0 || len(req.Ns) != 0:
		return "other section counts"
	case strings.ToLower(req.Question[0].Name) != q.name:
		return "another name"
	case req.Question[0].Qtype != q.qtype || req.Question[0].Qclass != dns.ClassINET:
		return "another type or class"
	}
	opt, wantExtra := req.IsEdns0(), 0
	if q.edns {
		wantExtra = 1
	}
	switch {
	case q.edns != (opt != nil) || len(req.Extra) != wantExtra:
		return "another additional section"
	case opt != nil && opt.Version() != 0:
		return "another EDNS version"
	case opt != nil && max(int(opt.UDPSize()), dns.MinMsgSize) != q.size:
		return "another UDP size"
	}
	// The reply echoes pkt[12:qEnd] as its question: it must be the
	// question miekg read, spelled as asked.
	echo, err := (&dns.Msg{Question: req.Question}).Pack()
	if err != nil || !bytes.Equal(echo[12:], pkt[12:q.qEnd]) {
		return "another question length"
	}
	return ""
}

// query packs a question, with an OPT record carrying opts unless opts is
// nil.
func query(f *testing.F, name string, qtype uint16, opts []dns.EDNS0) []byte {
	req := &dns.Msg{}
	req.SetQuestion(name, qtype)
	if opts != nil {
		req.SetEdns0(1232, true)
		req.IsEdns0().Option = opts
	}
	pkt, err := req.Pack()
	if err != nil {
		f.Fatal(err)
	}
	return pkt
}

// TestParseFastQueryLimits: the fast path reads names up to the 255-octet
// limit and EDNS0 options miekg reads without judging them, and declines
// the rest (the fuzzer found both edges).
func TestParseFastQueryLimits(t *testing.T) {
	t.Parallel()
	l63 := strings.Repeat("x", 63)
	tests := []struct {
		name   string
		qname  string
		opts   []dns.EDNS0
		wantOK bool
	}{
		{"no OPT", "web.service.consul.", nil, true},
		{"OPT", "web.service.consul.", []dns.EDNS0{}, true},
		{"cookie", "web.service.consul.", []dns.EDNS0{&dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0123456789abcdef"}}, true},
		{"padding", "web.service.consul.", []dns.EDNS0{&dns.EDNS0_PADDING{Padding: make([]byte, 7)}}, true},
		{"cookie and padding", "web.service.consul.", []dns.EDNS0{
			&dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0123456789abcdef"}, &dns.EDNS0_PADDING{Padding: make([]byte, 7)}}, true},
		{"client subnet", "web.service.consul.", []dns.EDNS0{&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: []byte{10, 0, 0, 0}}}, false},
		{"255 octets", l63 + "." + l63 + "." + l63 + "." + l63[:61] + ".", nil, true},
		{"256 octets", l63 + "." + l63 + "." + l63 + "." + l63[:62] + ".", nil, false},
	}
	for _, tt := range tests {
		req := &dns.Msg{}
		req.SetQuestion(tt.qname, dns.TypeA)
		if tt.opts != nil {
			req.SetEdns0(1232, false)
			req.IsEdns0().Option = tt.opts
		}
		// Pack checks nothing of the name's length, so the 256-octet
		// name goes out as it is.
		pkt, err := req.Pack()
		if err != nil {
			t.Fatalf("%s: Pack() = %v", tt.name, err)
		}
		q, ok := parseFastQuery(pkt)
		if ok != tt.wantOK {
			t.Errorf("%s: parseFastQuery ok = %v, want %v", tt.name, ok, tt.wantOK)
			continue
		}
		if ok && (q.name != tt.qname || q.edns != (tt.opts != nil)) {
			t.Errorf("%s: parseFastQuery = %+v, want name %q, EDNS0 %v", tt.name, q, tt.qname, tt.opts != nil)
		}
	}
}
