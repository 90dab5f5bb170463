package dns_test

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	cdns "conclave/agent/dns"
	"conclave/agent/structs"
	"conclave/internal/testutil"
)

var networks = []string{"udp", "tcp"}

// catalog is the fixture most tests share: one of each kind of instance.
func catalog() *fakeCatalog {
	f := newFakeCatalog()
	f.node("node1", "10.0.0.1", map[string]string{"env": "prod", "rfc1035-note": "value only"}).
		node("node2", "10.0.0.2", nil).
		node("node3", "2001:db8::3", nil).
		node("node4", "10.0.0.4", nil).
		node("node5", "10.0.0.5", nil).
		node("google", "www.google.com", nil)
	f.instance("node1", structs.NodeService{Service: "web", Port: 80, Tags: []string{"beta"}}, structs.HealthPassing).
		instance("node2", structs.NodeService{Service: "web", Port: 81, Tags: []string{"prod"}}, structs.HealthPassing).
		// A second registration of node1's web on the same port: one record.
		instance("node1", structs.NodeService{ID: "web-again", Service: "web", Port: 80}, structs.HealthPassing).
		instance("node3", structs.NodeService{Service: "web", Port: 82}, structs.HealthPassing).
		instance("node4", structs.NodeService{Service: "web", Port: 83, Tags: []string{"beta"}}, structs.HealthCritical).
		instance("node5", structs.NodeService{Service: "web", Port: 84, Weights: &structs.Weights{Passing: 10, Warning: 2}}, structs.HealthWarning).
		instance("node1", structs.NodeService{Service: "db", Address: "10.1.0.1", Port: 5432}, structs.HealthPassing).
		instance("google", structs.NodeService{Service: "search", Port: 80}, "").
		instance("node2", structs.NodeService{Service: "api", Address: "api.example.com", Port: 443}, "")
	return f
}

type dnsCase struct {
	name   string
	qname  string
	qtype  uint16
	edns   uint16
	rcode  int
	answer []string // full records, sorted (see rrs)
	extra  []string
	ns     []string // record types of the authority section
}

func runCases(t *testing.T, addr string, cases []dnsCase) {
	t.Helper()
	for _, tc := range cases {
		for _, network := range networks {
			t.Run(network+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				r := ask(t, addr, network, tc.qname, tc.qtype, tc.edns)
				q := fmt.Sprintf("%s %s over %s", tc.qname, dns.TypeToString[tc.qtype], network)
				if r.Rcode != tc.rcode {
					t.Errorf("%s: rcode = %s, want %s", q, dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
				}
				answer, extra := sorted(tc.answer), sorted(tc.extra)
				if got := rrs(r.Answer); !sameStrings(got, answer) {
					t.Errorf("%s: answer =\n  %s\nwant\n  %s", q, strings.Join(got, "\n  "), strings.Join(answer, "\n  "))
				}
				if got := rrs(r.Extra); !sameStrings(got, extra) {
					t.Errorf("%s: additional =\n  %s\nwant\n  %s", q, strings.Join(got, "\n  "), strings.Join(extra, "\n  "))
				}
				if got := types(r.Ns); !sameStrings(got, tc.ns) {
					t.Errorf("%s: authority types = %v, want %v", q, got, tc.ns)
				}
				if r.Truncated {
					t.Errorf("%s: TC set on a small answer", q)
				}
				if (tc.edns > 0) != (r.IsEdns0() != nil) {
					t.Errorf("%s: reply OPT = %v, want one exactly when the query had one", q, r.IsEdns0())
				}
			})
		}
	}
}

func TestForms(t *testing.T) {
	t.Parallel()
	addr := startDNS(t, catalog(), nil)
	soa := []string{"SOA"}
	node1Extra := []string{
		`node1.node.dc1.consul. 0 IN A 10.0.0.1`,
		`node1.node.dc1.consul. 0 IN TXT "env=prod"`,
		`node1.node.dc1.consul. 0 IN TXT "value only"`,
	}
	runCases(t, addr, []dnsCase{
		// Services: healthy instances only (node4 is critical), warning
		// included without only_passing.
		{name: "service A", qname: "web.service.consul.", qtype: dns.TypeA, answer: []string{
			"web.service.consul. 0 IN A 10.0.0.1", "web.service.consul. 0 IN A 10.0.0.2", "web.service.consul. 0 IN A 10.0.0.5"}},
		{name: "service AAAA", qname: "web.service.consul.", qtype: dns.TypeAAAA, answer: []string{
			"web.service.consul. 0 IN AAAA 2001:db8::3"}},
		{name: "service with dc", qname: "web.service.dc1.consul.", qtype: dns.TypeAAAA, answer: []string{
			"web.service.dc1.consul. 0 IN AAAA 2001:db8::3"}},
		{name: "service with dc.dc", qname: "web.service.dc1.dc.consul.", qtype: dns.TypeAAAA, answer: []string{
			"web.service.dc1.dc.consul. 0 IN AAAA 2001:db8::3"}},
		{name: "service ANY", qname: "web.service.consul.", qtype: dns.TypeANY, edns: 4096, answer: []string{
			"web.service.consul. 0 IN A 10.0.0.1", "web.service.consul. 0 IN A 10.0.0.2",
			"web.service.consul. 0 IN A 10.0.0.5", "web.service.consul. 0 IN AAAA 2001:db8::3"}},
		{name: "tag filter", qname: "beta.web.service.consul.", qtype: dns.TypeA, answer: []string{
			"beta.web.service.consul. 0 IN A 10.0.0.1"}},
		{name: "mixed case keeps the question's case", qname: "BETA.Web.Service.CONSUL.", qtype: dns.TypeA, answer: []string{
			"BETA.Web.Service.CONSUL. 0 IN A 10.0.0.1"}},
		{name: "unknown tag", qname: "gamma.web.service.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: soa},
		{name: "RFC 2782 with tag", qname: "_web._beta.service.consul.", qtype: dns.TypeSRV,
			answer: []string{"_web._beta.service.consul. 0 IN SRV 1 1 80 node1.node.dc1.consul."},
			extra:  node1Extra},
		{name: "RFC 2782 _tcp means any tag", qname: "_web._tcp.service.consul.", qtype: dns.TypeSRV, edns: 4096,
			answer: []string{
				"_web._tcp.service.consul. 0 IN SRV 1 1 80 node1.node.dc1.consul.",
				"_web._tcp.service.consul. 0 IN SRV 1 1 81 node2.node.dc1.consul.",
				"_web._tcp.service.consul. 0 IN SRV 1 1 82 node3.node.dc1.consul.",
				"_web._tcp.service.consul. 0 IN SRV 1 2 84 node5.node.dc1.consul."},
			extra: append([]string{
				"node2.node.dc1.consul. 0 IN A 10.0.0.2",
				"node3.node.dc1.consul. 0 IN AAAA 2001:db8::3",
				"node5.node.dc1.consul. 0 IN A 10.0.0.5"}, node1Extra...)},
		{name: "RFC 2782 without the service label", qname: "_web._beta.consul.", qtype: dns.TypeSRV,
			answer: []string{"_web._beta.consul. 0 IN SRV 1 1 80 node1.node.dc1.consul."},
			extra:  node1Extra},
		{name: "SRV of a service with its own address", qname: "db.service.consul.", qtype: dns.TypeSRV,
			answer: []string{"db.service.consul. 0 IN SRV 1 1 5432 0a010001.addr.dc1.consul."},
			extra:  []string{"0a010001.addr.dc1.consul. 0 IN A 10.1.0.1"}},
		{name: "A of a service with its own address", qname: "db.service.consul.", qtype: dns.TypeA,
			answer: []string{"db.service.consul. 0 IN A 10.1.0.1"}},
		{name: "external node is a CNAME", qname: "search.service.consul.", qtype: dns.TypeA,
			answer: []string{"search.service.consul. 0 IN CNAME www.google.com."}},
		{name: "external service address is a CNAME", qname: "api.service.consul.", qtype: dns.TypeA,
			answer: []string{"api.service.consul. 0 IN CNAME api.example.com."}},
		{name: "SRV to an external host", qname: "api.service.consul.", qtype: dns.TypeSRV,
			answer: []string{"api.service.consul. 0 IN SRV 1 1 443 api.example.com."}},
		{name: "service without that record type", qname: "web.service.consul.", qtype: dns.TypeMX, ns: soa},
		{name: "unknown service", qname: "nosuch.service.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: soa},
		{name: "unknown datacenter", qname: "web.service.dc2.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: soa},

		// Nodes.
		{name: "node A", qname: "node1.node.consul.", qtype: dns.TypeA,
			answer: []string{"node1.node.consul. 0 IN A 10.0.0.1"},
			extra:  []string{`node1.node.consul. 0 IN TXT "env=prod"`, `node1.node.consul. 0 IN TXT "value only"`}},
		{name: "node with dc", qname: "node2.node.dc1.consul.", qtype: dns.TypeA,
			answer: []string{"node2.node.dc1.consul. 0 IN A 10.0.0.2"}},
		{name: "node TXT is its metadata", qname: "node1.node.consul.", qtype: dns.TypeTXT,
			answer: []string{`node1.node.consul. 0 IN TXT "env=prod"`, `node1.node.consul. 0 IN TXT "value only"`}},
		{name: "node ANY", qname: "node1.node.consul.", qtype: dns.TypeANY, answer: []string{
			"node1.node.consul. 0 IN A 10.0.0.1", `node1.node.consul. 0 IN TXT "env=prod"`, `node1.node.consul. 0 IN TXT "value only"`}},
		{name: "node AAAA", qname: "node3.node.consul.", qtype: dns.TypeAAAA,
			answer: []string{"node3.node.consul. 0 IN AAAA 2001:db8::3"}},
		{name: "node without that record type", qname: "node3.node.consul.", qtype: dns.TypeA, ns: soa},
		{name: "external node", qname: "google.node.consul.", qtype: dns.TypeA,
			answer: []string{"google.node.consul. 0 IN CNAME www.google.com."}},
		{name: "unknown node", qname: "nosuch.node.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: soa},

		// Addresses, the apex, reverse lookups.
		{name: "addr IPv4", qname: "0a000001.addr.dc1.consul.", qtype: dns.TypeA,
			answer: []string{"0a000001.addr.dc1.consul. 0 IN A 10.0.0.1"}},
		{name: "addr IPv6", qname: "20010db8000000000000000000000003.addr.dc1.consul.", qtype: dns.TypeAAAA,
			answer: []string{"20010db8000000000000000000000003.addr.dc1.consul. 0 IN AAAA 2001:db8::3"}},
		{name: "addr not hex", qname: "zz000001.addr.dc1.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: soa},
		{name: "apex NS", qname: "consul.", qtype: dns.TypeNS,
			answer: []string{"consul. 0 IN NS agent-1.node.dc1.consul."},
			extra:  []string{"agent-1.node.dc1.consul. 0 IN A 127.0.0.1"}},
		{name: "apex A", qname: "consul.", qtype: dns.TypeA, ns: soa},
		{name: "NS of a name inside is the domain's", qname: "node1.node.consul.", qtype: dns.TypeNS,
			answer: []string{"consul. 0 IN NS agent-1.node.dc1.consul."},
			extra:  []string{"agent-1.node.dc1.consul. 0 IN A 127.0.0.1"}},
		{name: "PTR IPv4", qname: "1.0.0.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"1.0.0.10.in-addr.arpa. 0 IN PTR node1.node.dc1.consul."}},
		{name: "PTR IPv6", qname: "3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", qtype: dns.TypePTR,
			answer: []string{"3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 0 IN PTR node3.node.dc1.consul."}},
		{name: "PTR unknown address", qname: "9.9.9.10.in-addr.arpa.", qtype: dns.TypePTR, rcode: dns.RcodeNameError, ns: soa},

		{name: "unknown prepared query", qname: "web.query.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: soa},
		// Forms that do not exist here are names that do not exist.
		{name: "connect", qname: "web.connect.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: soa},
		{name: "no type label", qname: "foo.bar.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: soa},
		{name: "peer", qname: "web.service.p1.peer.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: soa},

		// Outside the domain, with no recursors: not ours to answer.
		{name: "outside the domain", qname: "example.org.", qtype: dns.TypeA, rcode: dns.RcodeRefused},
		{name: "EDNS0 query gets OPT back", qname: "web.service.consul.", qtype: dns.TypeAAAA, edns: 1232,
			answer: []string{"web.service.consul. 0 IN AAAA 2001:db8::3"}},
	})
}

func TestSOA(t *testing.T) {
	t.Parallel()
	addr := startDNS(t, catalog(), func(c *cdns.Config) { c.SOAMinTTL = 7 })
	for _, network := range networks {
		for _, tc := range []struct {
			qname string
			qtype uint16
			sect  func(*dns.Msg) []dns.RR
			rcode int
		}{
			{"consul.", dns.TypeSOA, func(m *dns.Msg) []dns.RR { return m.Answer }, dns.RcodeSuccess},
			{"web.service.consul.", dns.TypeSOA, func(m *dns.Msg) []dns.RR { return m.Answer }, dns.RcodeSuccess},
			{"nosuch.service.consul.", dns.TypeA, func(m *dns.Msg) []dns.RR { return m.Ns }, dns.RcodeNameError},
		} {
			r := ask(t, addr, network, tc.qname, tc.qtype, 0)
			sect := tc.sect(r)
			if r.Rcode != tc.rcode || len(sect) != 1 {
				t.Fatalf("%s %s over %s = %v, want rcode %s and one SOA", tc.qname, dns.TypeToString[tc.qtype], network, r, dns.RcodeToString[tc.rcode])
			}
			soa, ok := sect[0].(*dns.SOA)
			if !ok {
				t.Fatalf("%s over %s: %v is not a SOA", tc.qname, network, sect[0])
			}
			got := fmt.Sprintf("%s %d %s %s %d %d %d %d", soa.Hdr.Name, soa.Hdr.Ttl, soa.Ns, soa.Mbox, soa.Refresh, soa.Retry, soa.Expire, soa.Minttl)
			if want := "consul. 7 ns.consul. hostmaster.consul. 3600 600 86400 7"; got != want {
				t.Errorf("%s over %s: SOA = %q, want %q", tc.qname, network, got, want)
			}
		}
	}
}

func TestAltDomain(t *testing.T) {
	t.Parallel()
	addr := startDNS(t, catalog(), func(c *cdns.Config) { c.AltDomain = "Alt.Test" })
	runCases(t, addr, []dnsCase{
		{name: "answers in the domain asked", qname: "_web._beta.service.alt.test.", qtype: dns.TypeSRV,
			answer: []string{"_web._beta.service.alt.test. 0 IN SRV 1 1 80 node1.node.dc1.alt.test."},
			extra: []string{"node1.node.dc1.alt.test. 0 IN A 10.0.0.1",
				`node1.node.dc1.alt.test. 0 IN TXT "env=prod"`, `node1.node.dc1.alt.test. 0 IN TXT "value only"`}},
		{name: "primary still works", qname: "beta.web.service.consul.", qtype: dns.TypeA,
			answer: []string{"beta.web.service.consul. 0 IN A 10.0.0.1"}},
		{name: "PTR uses the primary domain", qname: "2.0.0.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"2.0.0.10.in-addr.arpa. 0 IN PTR node2.node.dc1.consul."}},
	})
}

func TestOnlyPassing(t *testing.T) {
	t.Parallel()
	addr := startDNS(t, catalog(), func(c *cdns.Config) { c.OnlyPassing = true })
	runCases(t, addr, []dnsCase{
		{name: "warning dropped", qname: "web.service.consul.", qtype: dns.TypeA, answer: []string{
			"web.service.consul. 0 IN A 10.0.0.1", "web.service.consul. 0 IN A 10.0.0.2"}},
		{name: "no check counts as passing", qname: "db.service.consul.", qtype: dns.TypeA,
			answer: []string{"db.service.consul. 0 IN A 10.1.0.1"}},
	})
}

func TestTTLs(t *testing.T) {
	t.Parallel()
	addr := startDNS(t, catalog(), func(c *cdns.Config) {
		c.NodeTTL = 10 * time.Second
		c.ServiceTTL = map[string]time.Duration{"*": 5 * time.Second, "Web": 30 * time.Second, "d*": 20 * time.Second}
	})
	runCases(t, addr, []dnsCase{
		{name: "exact", qname: "beta.web.service.consul.", qtype: dns.TypeA, answer: []string{"beta.web.service.consul. 30 IN A 10.0.0.1"}},
		{name: "prefix", qname: "db.service.consul.", qtype: dns.TypeA, answer: []string{"db.service.consul. 20 IN A 10.1.0.1"}},
		{name: "wildcard", qname: "api.service.consul.", qtype: dns.TypeA, answer: []string{"api.service.consul. 5 IN CNAME api.example.com."}},
		{name: "node", qname: "node2.node.consul.", qtype: dns.TypeA, answer: []string{"node2.node.consul. 10 IN A 10.0.0.2"}},
	})
}

// TestHealthChanges: an instance whose check goes critical leaves the
// answers, and comes back once it passes again; with the cache (which
// follows the change through a blocking query, so each step retries until
// it shows) and without.
func TestHealthChanges(t *testing.T) {
	t.Parallel()
	for _, cached := range []bool{true, false} {
		f := catalog()
		addr := startDNS(t, f, func(c *cdns.Config) { c.DisableServiceCache = !cached })
		for _, step := range []struct {
			status string
			want   []string
		}{
			{structs.HealthPassing, []string{"10.0.0.1", "10.0.0.2", "10.0.0.5"}},
			{structs.HealthCritical, []string{"10.0.0.2", "10.0.0.5"}},
			{structs.HealthPassing, []string{"10.0.0.1", "10.0.0.2", "10.0.0.5"}},
		} {
			f.setStatus("node1", "web", step.status)
			for _, network := range networks {
				testutil.Retry(t, 10*time.Second, func() error {
					if got := addresses(ask(t, addr, network, "web.service.consul.", dns.TypeA, 0)); !slices.Equal(got, step.want) {
						return fmt.Errorf("cache %t, node1 %s: web.service.consul A over %s = %v, want %v", cached, step.status, network, got, step.want)
					}
					return nil
				})
			}
		}
	}
}

// addresses lists the A and AAAA addresses of an answer, sorted.
func addresses(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		switch a := rr.(type) {
		case *dns.A:
			out = append(out, a.A.String())
		case *dns.AAAA:
			out = append(out, a.AAAA.String())
		}
	}
	slices.Sort(out)
	return out
}

// TestServiceCache: repeated lookups of a service are answered without
// reading it again; the cache follows changes by blocking queries alone.
func TestServiceCache(t *testing.T) {
	t.Parallel()
	f := catalog()
	addr := startDNS(t, f, nil)
	for range 20 {
		ask(t, addr, "udp", "web.service.consul.", dns.TypeA, 0)
		ask(t, addr, "tcp", "beta.web.service.consul.", dns.TypeA, 0)
	}
	if got := f.callCount("Health.ServiceNodes"); got != 1 {
		t.Errorf("40 lookups of web: %d direct Health.ServiceNodes reads, want 1 (then the cache)", got)
	}
	f.setStatus("node2", "web", structs.HealthCritical)
	testutil.Retry(t, 10*time.Second, func() error {
		if got, want := addresses(ask(t, addr, "udp", "web.service.consul.", dns.TypeA, 0)), []string{"10.0.0.1", "10.0.0.5"}; !slices.Equal(got, want) {
			return fmt.Errorf("after node2 went critical: web.service.consul A = %v, want %v", got, want)
		}
		return nil
	})
	if got := f.callCount("Health.ServiceNodes"); got != 1 {
		t.Errorf("after a change: %d direct Health.ServiceNodes reads, want still 1 (the blocking query brought it)", got)
	}
}

// TestShuffle: the same question gets its answers in more than one order.
func TestShuffle(t *testing.T) {
	t.Parallel()
	addr := startDNS(t, catalog(), nil)
	orders := map[string]bool{}
	// Three records have six orders; 60 tries all giving one order happen
	// with probability 6^-59 if the shuffle works.
	for i := 0; i < 60 && len(orders) < 2; i++ {
		r := ask(t, addr, "udp", "web.service.consul.", dns.TypeA, 0)
		var order []string
		for _, rr := range r.Answer {
			order = append(order, rr.(*dns.A).A.String())
		}
		orders[strings.Join(order, ",")] = true
	}
	if len(orders) < 2 {
		t.Errorf("60 answers for web.service.consul all in one order %v, want them shuffled", orders)
	}
}

// TestMaxStale: a stale answer from a server too far behind the leader is
// asked again of the leader.
func TestMaxStale(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lastContact time.Duration
		wantCalls   int
	}{
		{time.Second, 1},
		{time.Minute, 2},
	} {
		f := catalog()
		f.lastContact = tc.lastContact
		addr := startDNS(t, f, func(c *cdns.Config) { c.MaxStale = 10 * time.Second; c.DisableServiceCache = true })
		ask(t, addr, "udp", "web.service.consul.", dns.TypeA, 0)
		if got := f.callCount("Health.ServiceNodes"); got != tc.wantCalls {
			t.Errorf("last contact %s, max_stale 10s: Health.ServiceNodes calls = %d, want %d", tc.lastContact, got, tc.wantCalls)
		}
	}
}

// bigCatalog has a service "big" with n instances, each on its own node
// with an IPv4 address.
func bigCatalog(n int) *fakeCatalog {
	f := newFakeCatalog()
	for i := range n {
		node := fmt.Sprintf("big-node-%02d", i)
		f.node(node, fmt.Sprintf("10.2.%d.%d", i/250, i%250+1), nil)
		f.instance(node, structs.NodeService{Service: "big", Port: 8000 + i}, structs.HealthPassing)
	}
	return f
}

// TestSize: UDP answers fit the client's buffer (512 bytes, or what EDNS0
// announced), set TC when records were cut, and TCP carries everything.
func TestSize(t *testing.T) {
	t.Parallel()
	const n = 40
	f := bigCatalog(n)
	def := startDNS(t, f, nil)
	truncating := startDNS(t, f, func(c *cdns.Config) { c.EnableTruncate = true })
	unlimited := startDNS(t, f, func(c *cdns.Config) { c.UDPAnswerLimit = 0 })

	for _, tc := range []struct {
		name      string
		addr      string
		network   string
		qtype     uint16
		edns      uint16
		answers   func(int) bool
		truncated bool
		desc      string
	}{
		{"udp_answer_limit cuts quietly", def, "udp", dns.TypeA, 0, func(k int) bool { return k == 3 }, false, "3"},
		{"udp_answer_limit with enable_truncate", truncating, "udp", dns.TypeA, 0, func(k int) bool { return k == 3 }, true, "3"},
		{"larger EDNS0 buffer lifts udp_answer_limit", def, "udp", dns.TypeA, 4096, func(k int) bool { return k == n }, false, "all"},
		{"too big for 512 bytes", unlimited, "udp", dns.TypeA, 0, func(k int) bool { return k > 3 && k < n }, true, "some"},
		{"SRV too big for 512 bytes", unlimited, "udp", dns.TypeSRV, 0, func(k int) bool { return k > 0 && k < n }, true, "some"},
		{"SRV with a 1232-byte EDNS0 buffer", def, "udp", dns.TypeSRV, 1232, func(k int) bool { return k > 20 && k < n }, true, "more than 20"},
		{"SRV with a 64 KiB EDNS0 buffer", def, "udp", dns.TypeSRV, 65000, func(k int) bool { return k == n }, false, "all"},
		{"TCP A carries all", def, "tcp", dns.TypeA, 0, func(k int) bool { return k == n }, false, "all"},
		{"TCP SRV carries all", unlimited, "tcp", dns.TypeSRV, 0, func(k int) bool { return k == n }, false, "all"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := ask(t, tc.addr, tc.network, "big.service.consul.", tc.qtype, tc.edns)
			if !tc.answers(len(r.Answer)) || r.Truncated != tc.truncated {
				t.Errorf("big.service.consul %s over %s (EDNS0 %d) = %d answers, TC %t; want %s of %d, TC %t",
					dns.TypeToString[tc.qtype], tc.network, tc.edns, len(r.Answer), r.Truncated, tc.desc, n, tc.truncated)
			}
			if tc.qtype == dns.TypeSRV {
				// Every SRV target that made it has its address, as far
				// as they fit; none is left without an answer.
				targets := map[string]bool{}
				for _, rr := range r.Answer {
					targets[rr.(*dns.SRV).Target] = true
				}
				for _, rr := range r.Extra {
					if rr.Header().Rrtype != dns.TypeOPT && !targets[rr.Header().Name] {
						t.Errorf("additional record %v answers no SRV target", rr)
					}
				}
				if !tc.truncated && len(r.Extra) < len(r.Answer) {
					t.Errorf("%d SRV answers but %d additional records, want an address for each", len(r.Answer), len(r.Extra))
				}
			}
			r.Compress = true // as it was sent
			if size := maxSize(tc.network, tc.edns); r.Len() > size {
				t.Errorf("reply is %d bytes, more than the %d the client can take", r.Len(), size)
			}
		})
	}
}

func maxSize(network string, edns uint16) int {
	switch {
	case network == "tcp":
		return dns.MaxMsgSize
	case edns > 512:
		return int(edns)
	}
	return 512
}

// TestBadQueries: what is not a plain query gets an error code, not
// silence and not a crash.
func TestBadQueries(t *testing.T) {
	t.Parallel()
	addr := startDNS(t, catalog(), nil)
	for _, tc := range []struct {
		name  string
		build func(*dns.Msg)
		rcode int
	}{
		{"EDNS version 1", func(m *dns.Msg) { m.SetEdns0(1232, false); m.IsEdns0().SetVersion(1) }, dns.RcodeBadVers},
		{"notify opcode", func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }, dns.RcodeNotImplemented},
	} {
		for _, network := range networks {
			m := &dns.Msg{}
			m.SetQuestion("web.service.consul.", dns.TypeA)
			tc.build(m)
			c := &dns.Client{Net: network, Timeout: 5 * time.Second}
			r, _, err := c.Exchange(m, addr)
			if err != nil {
				t.Fatalf("%s over %s: %v", tc.name, network, err)
			}
			if r.Rcode != tc.rcode {
				t.Errorf("%s over %s: rcode = %s, want %s", tc.name, network, dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
			}
		}
	}
}

// upstream is a fake recursive resolver on 127.0.0.1: it answers a few
// names, cuts one big answer over UDP, and refuses the rest when refuse is
// set.
func upstream(t *testing.T, refuse bool) string {
	t.Helper()
	h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := &dns.Msg{}
		m.SetReply(req)
		m.RecursionAvailable = true
		q := req.Question[0]
		_, tcp := w.RemoteAddr().(*net.TCPAddr)
		rr := func(s string) dns.RR {
			r, err := dns.NewRR(s)
			if err != nil {
				panic(err)
			}
			return r
		}
		switch {
		case refuse:
			m.Rcode = dns.RcodeRefused
		case q.Name == "example.org." && q.Qtype == dns.TypeA:
			m.Answer = append(m.Answer, rr("example.org. 300 IN A 192.0.2.10"))
		case q.Name == "www.google.com." && q.Qtype == dns.TypeA:
			m.Answer = append(m.Answer, rr("www.google.com. 300 IN A 192.0.2.20"))
		case q.Name == "9.9.9.10.in-addr.arpa." && q.Qtype == dns.TypePTR:
			m.Answer = append(m.Answer, rr("9.9.9.10.in-addr.arpa. 300 IN PTR nine.example.org."))
		case q.Name == "big.example.org." && !tcp:
			m.Truncated = true
		case q.Name == "big.example.org.":
			for i := range 100 {
				m.Answer = append(m.Answer, rr(fmt.Sprintf(`big.example.org. 300 IN TXT "record number %03d"`, i)))
			}
		default:
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		t.Skipf("TCP port of %s taken: %v", pc.LocalAddr(), err)
	}
	for _, s := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		go func() { _ = s.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = s.Shutdown() })
	}
	return pc.LocalAddr().String()
}

func TestRecursors(t *testing.T) {
	t.Parallel()
	refusing, good := upstream(t, true), upstream(t, false)
	addr := startDNS(t, catalog(), func(c *cdns.Config) { c.Recursors = []string{refusing, good} })
	runCases(t, addr, []dnsCase{
		{name: "forwarded past a refusing recursor", qname: "example.org.", qtype: dns.TypeA,
			answer: []string{"example.org. 300 IN A 192.0.2.10"}},
		{name: "upstream NXDOMAIN passed on", qname: "nosuch.example.org.", qtype: dns.TypeA, rcode: dns.RcodeNameError},
		{name: "CNAME followed", qname: "search.service.consul.", qtype: dns.TypeA, answer: []string{
			"search.service.consul. 0 IN CNAME www.google.com.", "www.google.com. 300 IN A 192.0.2.20"}},
		{name: "unknown PTR forwarded", qname: "9.9.9.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"9.9.9.10.in-addr.arpa. 300 IN PTR nine.example.org."}},
		{name: "known PTR answered here", qname: "1.0.0.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"1.0.0.10.in-addr.arpa. 0 IN PTR node1.node.dc1.consul."}},
		{name: "our names stay ours", qname: "nosuch.service.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: []string{"SOA"}},
	})

	// The upstream cuts big.example.org over UDP: we ask again over TCP,
	// then fit the answer to our own client.
	for _, tc := range []struct {
		network   string
		edns      uint16
		want      func(int) bool
		truncated bool
	}{
		{"tcp", 0, func(n int) bool { return n == 100 }, false},
		{"udp", 0, func(n int) bool { return n > 0 && n < 100 }, true},
		{"udp", 8192, func(n int) bool { return n == 100 }, false},
	} {
		r := ask(t, addr, tc.network, "big.example.org.", dns.TypeTXT, tc.edns)
		if !tc.want(len(r.Answer)) || r.Truncated != tc.truncated || !r.RecursionAvailable {
			t.Errorf("big.example.org TXT over %s (EDNS0 %d) = %d answers, TC %t, RA %t; want TC %t, RA", tc.network, tc.edns,
				len(r.Answer), r.Truncated, r.RecursionAvailable, tc.truncated)
		}
	}
}

// TestRecursorLoop: a recursor that is our own listener would send every
// outside name round in a circle; Start refuses it.
func TestRecursorLoop(t *testing.T) {
	t.Parallel()
	for attempt := 0; ; attempt++ {
		// Learn a free port from a server that then stops, and start on
		// that port with itself as recursor.
		probe, err := cdns.New(cdns.DefaultConfig(), catalog(), nil)
		if err != nil {
			t.Fatalf("New() = %v", err)
		}
		if err := probe.Start([]string{"127.0.0.1"}, 0); err != nil {
			t.Fatalf("Start() = %v", err)
		}
		port := probe.Addrs()[0].(*net.UDPAddr).Port
		probe.Shutdown()

		cfg := cdns.DefaultConfig()
		cfg.Recursors = []string{fmt.Sprintf("127.0.0.1:%d", port)}
		srv, err := cdns.New(cfg, catalog(), nil)
		if err != nil {
			t.Fatalf("New() = %v", err)
		}
		err = srv.Start([]string{"127.0.0.1"}, port)
		if err == nil {
			srv.Shutdown()
			t.Fatalf("Start() on port %d with recursor 127.0.0.1:%d = nil, want a loop error", port, port)
		}
		if strings.Contains(err.Error(), "in use") && attempt < 5 {
			continue // someone took the port meanwhile; try another
		}
		if !strings.Contains(err.Error(), "loop") {
			t.Errorf("Start() on port %d with recursor 127.0.0.1:%d = %v, want a loop error", port, port, err)
		}
		return
	}
}

// TestWildcardListener: on 0.0.0.0 the UDP side is miekg's server, which
// answers from the address each query was sent to; the answers are the
// same.
func TestWildcardListener(t *testing.T) {
	t.Parallel()
	f := catalog()
	srv, err := cdns.New(cdns.DefaultConfig(), f, nil)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	if err := srv.Start([]string{"0.0.0.0"}, 0); err != nil {
		t.Skipf("cannot listen on 0.0.0.0 here: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	shutdownWith(t, f)
	addr := fmt.Sprintf("127.0.0.1:%d", srv.Addrs()[0].(*net.UDPAddr).Port)
	runCases(t, addr, []dnsCase{
		{name: "service", qname: "beta.web.service.consul.", qtype: dns.TypeA, answer: []string{"beta.web.service.consul. 0 IN A 10.0.0.1"}},
		{name: "node", qname: "node2.node.consul.", qtype: dns.TypeA, answer: []string{"node2.node.consul. 0 IN A 10.0.0.2"}},
		{name: "unknown", qname: "nosuch.service.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: []string{"SOA"}},
	})
}

// TestMalformedPacket: a UDP query that does not parse gets FORMERR with
// its ID, from the batch reader as from miekg's server.
func TestMalformedPacket(t *testing.T) {
	t.Parallel()
	addr := startDNS(t, catalog(), nil)
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// ID 0x1234, a query, one question promised, none sent.
	if _, err := conn.Write([]byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second)) // a bound, not a measurement
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("reading the reply to a malformed query: %v", err)
	}
	r := &dns.Msg{}
	if err := r.Unpack(buf[:n]); err != nil {
		t.Fatalf("Unpack(reply %x) = %v", buf[:n], err)
	}
	if r.Id != 0x1234 || r.Rcode != dns.RcodeFormatError || !r.Response {
		t.Errorf("reply to a malformed query = ID %#x rcode %s QR %t, want ID 0x1234 FORMERR QR", r.Id, dns.RcodeToString[r.Rcode], r.Response)
	}
}
