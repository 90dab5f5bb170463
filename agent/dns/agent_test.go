package dns_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"conclave/agent/config"
	"conclave/agent/structs"
	"conclave/internal/testutil"
)

// register writes one catalog entry through the agent's RPC path, as
// /v1/catalog/register does.
func register(t *testing.T, a *testutil.TestAgent, req *structs.RegisterRequest) {
	t.Helper()
	if req.Datacenter == "" {
		req.Datacenter = "dc1"
	}
	if err := a.RPC(context.Background(), "Catalog.Register", req, &struct{}{}); err != nil {
		t.Fatalf("Catalog.Register(%s) = %v", req.Node, err)
	}
}

func serviceCheck(node, service, status string) *structs.HealthCheck {
	return &structs.HealthCheck{Node: node, CheckID: "service:" + service, Name: service + " check",
		Status: status, ServiceID: service, ServiceName: service}
}

// TestAgentDNS runs the walk-through against a real in-process
// agent: services registered in the catalog, answered over DNS, and an
// instance that fails its check leaving the answers and coming back.
func TestAgentDNS(t *testing.T) {
	t.Parallel()
	// Everything is registered on nodes other than the agent's own, which
	// anti-entropy keeps in line with the agent's local state.
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "dns-agent"})
	addr := a.DNSAddr()
	if addr == "" {
		t.Fatal("DNSAddr() is empty: the agent started no DNS server")
	}
	register(t, a, &structs.RegisterRequest{Node: "node1", Address: "127.0.0.1", NodeMeta: map[string]string{"rack": "r1"},
		Service: &structs.NodeService{ID: "hopscotch", Service: "hopscotch", Address: "10.202.2.10", Port: 8084, Tags: []string{"beta"}},
		Check:   serviceCheck("node1", "hopscotch", structs.HealthPassing)})
	for i := 1; i <= 3; i++ {
		node := fmt.Sprintf("web-%d", i)
		register(t, a, &structs.RegisterRequest{Node: node, Address: fmt.Sprintf("10.0.1.%d", i),
			Service: &structs.NodeService{ID: "web", Service: "web", Port: 80},
			Check:   serviceCheck(node, "web", structs.HealthPassing)})
	}
	register(t, a, &structs.RegisterRequest{Node: "google", Address: "www.google.com",
		Service: &structs.NodeService{ID: "search", Service: "search", Port: 80}})

	runCases(t, addr, []dnsCase{
		{name: "service", qname: "hopscotch.service.consul.", qtype: dns.TypeA,
			answer: []string{"hopscotch.service.consul. 0 IN A 10.202.2.10"}},
		{name: "tag", qname: "beta.hopscotch.service.consul.", qtype: dns.TypeA,
			answer: []string{"beta.hopscotch.service.consul. 0 IN A 10.202.2.10"}},
		{name: "RFC 2782", qname: "_hopscotch._beta.service.consul.", qtype: dns.TypeSRV,
			answer: []string{"_hopscotch._beta.service.consul. 0 IN SRV 1 1 8084 0aca020a.addr.dc1.consul."},
			extra:  []string{"0aca020a.addr.dc1.consul. 0 IN A 10.202.2.10"}},
		{name: "external", qname: "search.service.consul.", qtype: dns.TypeA,
			answer: []string{"search.service.consul. 0 IN CNAME www.google.com."}},
		{name: "node", qname: "node1.node.dc1.consul.", qtype: dns.TypeANY,
			answer: []string{"node1.node.dc1.consul. 0 IN A 127.0.0.1", `node1.node.dc1.consul. 0 IN TXT "rack=r1"`}},
		{name: "PTR", qname: "2.1.0.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"2.1.0.10.in-addr.arpa. 0 IN PTR web-2.node.dc1.consul."}},
		{name: "unknown service", qname: "nosuch.service.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: []string{"SOA"}},
		{name: "unknown datacenter", qname: "web.service.dc9.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: []string{"SOA"}},
		{name: "unknown node", qname: "nosuch.node.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: []string{"SOA"}},
	})

	// web-2's check fails: it leaves the answers; it passes again: it is
	// back. The answer follows the catalog through a blocking-query
	// refresh, so each step retries until it shows (bounded).
	for _, step := range []struct {
		status string
		want   []string
	}{
		{structs.HealthCritical, []string{"10.0.1.1", "10.0.1.3"}},
		{structs.HealthPassing, []string{"10.0.1.1", "10.0.1.2", "10.0.1.3"}},
	} {
		register(t, a, &structs.RegisterRequest{Node: "web-2", Address: "10.0.1.2", SkipNodeUpdate: true,
			Check: serviceCheck("web-2", "web", step.status)})
		for _, network := range networks {
			testutil.Retry(t, 10*time.Second, func() error {
				r := ask(t, addr, network, "web.service.consul.", dns.TypeA, 0)
				var got []string
				for _, rr := range r.Answer {
					got = append(got, rr.(*dns.A).A.String())
				}
				slices.Sort(got)
				if !slices.Equal(got, step.want) {
					return fmt.Errorf("web-2 %s: web.service.consul A over %s = %v, want %v", step.status, network, got, step.want)
				}
				return nil
			})
		}
	}
}

// TestAgentDNSDisabled: ports.dns = -1 starts no DNS server.
func TestAgentDNSDisabled(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{Tweak: func(c *config.Config) { c.Ports.DNS = -1 }})
	if got := a.DNSAddr(); got != "" {
		t.Errorf("DNSAddr() with ports.dns = -1 is %q, want none", got)
	}
}

// TestAgentDNSPreparedQuery: <query>.query.consul answers A and SRV from a
// prepared query run on the servers, by name, by ID and through a
// template, with the query's own TTL; a critical instance is left out.
func TestAgentDNSPreparedQuery(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "pq-agent"})
	for i, status := range []string{structs.HealthPassing, structs.HealthPassing, structs.HealthCritical} {
		node := fmt.Sprintf("api-%d", i+1)
		register(t, a, &structs.RegisterRequest{Node: node, Address: fmt.Sprintf("10.0.2.%d", i+1),
			Service: &structs.NodeService{ID: "api", Service: "api", Port: 9000 + i},
			Check:   serviceCheck(node, "api", status)})
	}
	create := func(q *structs.PreparedQuery) string {
		t.Helper()
		var id string
		args := &structs.PreparedQueryRequest{Datacenter: "dc1", Op: structs.PreparedQueryCreate, Query: q}
		if err := a.RPC(context.Background(), "PreparedQuery.Apply", args, &id); err != nil {
			t.Fatalf("PreparedQuery.Apply(create %s) = %v", q.Name, err)
		}
		return id
	}
	id := create(&structs.PreparedQuery{Name: "api-near", Service: structs.ServiceQuery{Service: "api", OnlyPassing: true},
		DNS: structs.QueryDNSOptions{TTL: "7s"}})
	create(&structs.PreparedQuery{Name: "any-", Template: structs.QueryTemplate{Type: structs.QueryTemplateTypeNamePrefixMatch},
		Service: structs.ServiceQuery{Service: "${name.suffix}"}})

	apiA := []string{"api-near.query.consul. 7 IN A 10.0.2.1", "api-near.query.consul. 7 IN A 10.0.2.2"}
	runCases(t, a.DNSAddr(), []dnsCase{
		{name: "query A", qname: "api-near.query.consul.", qtype: dns.TypeA, answer: apiA},
		{name: "query SRV", qname: "api-near.query.dc1.consul.", qtype: dns.TypeSRV,
			answer: []string{"api-near.query.dc1.consul. 7 IN SRV 1 1 9000 api-1.node.dc1.consul.",
				"api-near.query.dc1.consul. 7 IN SRV 1 1 9001 api-2.node.dc1.consul."},
			extra: []string{"api-1.node.dc1.consul. 7 IN A 10.0.2.1", "api-2.node.dc1.consul. 7 IN A 10.0.2.2"}},
		{name: "query by ID", qname: id + ".query.consul.", qtype: dns.TypeA,
			answer: []string{id + ".query.consul. 7 IN A 10.0.2.1", id + ".query.consul. 7 IN A 10.0.2.2"}},
		{name: "template", qname: "any-api.query.consul.", qtype: dns.TypeA,
			answer: []string{"any-api.query.consul. 0 IN A 10.0.2.1", "any-api.query.consul. 0 IN A 10.0.2.2"}},
		{name: "template with no such service", qname: "any-nothing.query.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: []string{"SOA"}},
		{name: "unknown query", qname: "nosuch.query.consul.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: []string{"SOA"}},
	})
}
