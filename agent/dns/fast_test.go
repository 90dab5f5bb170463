package dns

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"conclave/agent/structs"
)

// staticBackend serves fixed instances per service; its blocking reads
// wait until the test ends, as nothing ever changes.
type staticBackend struct {
	services map[string]structs.CheckServiceNodes
	done     chan struct{}
}

func (b *staticBackend) RPC(_ context.Context, method string, args, reply any) error {
	a, ok := args.(*structs.ServiceSpecificRequest)
	if !ok || method != "Health.ServiceNodes" {
		return fmt.Errorf("unexpected %s", method)
	}
	if a.MinQueryIndex > 0 {
		select {
		case <-b.done:
		case <-time.After(a.MaxQueryTime):
		}
	}
	out := reply.(*structs.IndexedCheckServiceNodes)
	out.Nodes, out.Index = b.services[strings.ToLower(a.ServiceName)], 7
	return nil
}

func instance(node, nodeAddr, svcAddr string, tags []string, status string) structs.CheckServiceNode {
	return structs.CheckServiceNode{
		Node:    &structs.Node{Node: node, Address: nodeAddr},
		Service: &structs.NodeService{ID: "svc", Service: "svc", Address: svcAddr, Port: 80, Tags: tags},
		Checks:  structs.HealthChecks{{Node: node, CheckID: "c", Status: status}},
	}
}

// TestFastAddressMatchesGeneralPath: for every query the hand-written path
// takes, its reply decodes to the same message as the general path's (up
// to the order of answers, which both shuffle), with the same size; and it
// does take the common cases.
func TestFastAddressMatchesGeneralPath(t *testing.T) {
	t.Parallel()
	var big structs.CheckServiceNodes
	for i := range 40 {
		big = append(big, instance(fmt.Sprintf("n%d", i), fmt.Sprintf("10.3.0.%d", i+1), "", nil, structs.HealthPassing))
	}
	backend := &staticBackend{done: make(chan struct{}), services: map[string]structs.CheckServiceNodes{
		"web": {
			instance("a", "10.0.0.1", "", []string{"beta"}, structs.HealthPassing),
			instance("b", "10.0.0.2", "", nil, structs.HealthWarning),
			instance("c", "10.0.0.3", "", nil, structs.HealthCritical),
			instance("d", "2001:db8::4", "", []string{"Beta"}, structs.HealthPassing),
			instance("e", "10.0.0.5", "10.9.0.5", nil, structs.HealthPassing),
			instance("f", "10.0.0.6", "10.9.0.5", nil, structs.HealthPassing), // same address as e
		},
		"ext":  {instance("g", "10.0.0.7", "api.example.com", nil, structs.HealthPassing)},
		"down": {instance("h", "10.0.0.8", "", nil, structs.HealthCritical)},
		"big":  big,
	}}
	t.Cleanup(func() { close(backend.done) })

	names := []string{
		"web.service.consul.", "WeB.SeRvIcE.CoNsUl.", "beta.web.service.consul.", "web.service.dc1.consul.",
		"web.service.dc1.dc.consul.", "_web._tcp.service.consul.", "_web._beta.service.consul.", "web.service.alt.",
		"ext.service.consul.", "down.service.consul.", "nosuch.service.consul.", "big.service.consul.",
		"a.node.consul.", "web.service.dc2.consul.", "example.org.",
	}
	configs := []func(*Config){
		func(*Config) {},
		func(c *Config) { c.EnableTruncate = true },
		func(c *Config) { c.UDPAnswerLimit = 0 },
		func(c *Config) { c.ARecordLimit = 2; c.OnlyPassing = true },
		func(c *Config) { c.ServiceTTL = map[string]time.Duration{"web": 30 * time.Second} },
		func(c *Config) { c.Recursors = []string{"192.0.2.53:53"} },
	}
	took := map[string]bool{}
	for ci, tweak := range configs {
		cfg := DefaultConfig()
		cfg.AltDomain = "alt."
		tweak(&cfg)
		s, err := New(cfg, backend, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Shutdown)
		for _, svc := range []string{"web", "ext", "down", "big"} {
			if _, err := s.cache.get("dc1", svc); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range names {
			for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV} {
				for _, edns := range []uint16{0, 512, 1232, 4096} {
					for _, flags := range []func(*dns.Msg){func(*dns.Msg) {}, func(m *dns.Msg) { m.RecursionDesired = false; m.CheckingDisabled = true }} {
						req := &dns.Msg{}
						req.SetQuestion(name, qtype)
						req.Id = 4242
						flags(req)
						if edns > 0 {
							req.SetEdns0(edns, false)
						}
						pkt, err := req.Pack()
						if err != nil {
							t.Fatal(err)
						}
						desc := fmt.Sprintf("config %d: %s %s EDNS0 %d RD %t", ci, name, dns.TypeToString[qtype], edns, req.RecursionDesired)
						fast, ok := s.fastAddress(pkt, make([]byte, 512))
						if !ok {
							continue
						}
						took[name] = true
						checkFastReply(t, s, req, fast, desc)
					}
				}
			}
		}
	}
	for _, name := range []string{"web.service.consul.", "WeB.SeRvIcE.CoNsUl.", "beta.web.service.consul.", "_web._tcp.service.consul.", "big.service.consul.", "web.service.alt."} {
		if !took[name] {
			t.Errorf("fast path never answered %s", name)
		}
	}
	for _, name := range []string{"ext.service.consul.", "down.service.consul.", "nosuch.service.consul.", "a.node.consul.", "example.org."} {
		if took[name] {
			t.Errorf("fast path answered %s, which needs the general path", name)
		}
	}
}

// checkFastReply fails t unless fast, the fast path's reply to req,
// decodes to the same message as the general path's reply (up to the
// order of answers, which both shuffle), with the same size, and each of
// its answers is one the general path has.
func checkFastReply(t *testing.T, s *Server, req *dns.Msg, fast []byte, desc string) {
	t.Helper()
	resp, limit, ok := s.answer(req, "udp", false)
	if !ok {
		t.Errorf("%s: fast path answered, general path would block", desc)
		return
	}
	general, err := s.pack(req, resp, "udp", limit, nil)
	if err != nil {
		t.Fatalf("%s: general path: pack = %v", desc, err)
	}
	if got, want := decode(t, fast), decode(t, general); got != want || len(fast) != len(general) {
		t.Errorf("%s:\nfast (%d bytes):\n%s\ngeneral (%d bytes):\n%s", desc, len(fast), got, len(general), want)
	}
	// Cut answers are a random pick: each must be one of the whole set
	// (as TCP gets it).
	all, _, _ := s.answer(req, "tcp", false)
	allowed := map[string]bool{}
	for _, rr := range all.Answer {
		allowed[rdata(rr)] = true
	}
	for _, rr := range unpack(t, fast).Answer {
		if !allowed[rdata(rr)] {
			t.Errorf("%s: fast answer %v is not among %v", desc, rr, allowed)
		}
	}
}

// decode renders a reply with its answers' data left out (both paths
// shuffle, and a cut keeps a random few) and their headers sorted.
func decode(t *testing.T, b []byte) string {
	t.Helper()
	m := unpack(t, b)
	var answers []string
	for _, rr := range m.Answer {
		answers = append(answers, rr.Header().String())
	}
	slices.Sort(answers)
	m.Answer = nil
	return m.String() + "\nANSWERS:\n" + strings.Join(answers, "\n")
}

func unpack(t *testing.T, b []byte) *dns.Msg {
	t.Helper()
	m := &dns.Msg{}
	if err := m.Unpack(b); err != nil {
		t.Fatalf("Unpack(%x) = %v", b, err)
	}
	return m
}

func rdata(rr dns.RR) string {
	return strings.TrimPrefix(rr.String(), rr.Header().String())
}
