package dns_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	cdns "conclave/agent/dns"
	"conclave/agent/structs"
)

// fakeCatalog is a Backend serving the three reads the DNS server makes
// from an in-memory catalog of one datacenter, "dc1".
//
// Health.ServiceNodes blocks like the real endpoint: with MinQueryIndex
// set, it waits until the catalog changes past that index, MaxQueryTime
// runs out, or the catalog is shut down.
type fakeCatalog struct {
	mu          sync.Mutex
	nodes       map[string]*structs.Node
	instances   []structs.CheckServiceNode
	lastContact time.Duration
	calls       map[string]int // non-blocking calls per method
	index       uint64
	changed     chan struct{} // closed and replaced on every change

	stopOnce sync.Once
	stopped  chan struct{} // closed by shutdown
}

func newFakeCatalog() *fakeCatalog {
	return &fakeCatalog{nodes: map[string]*structs.Node{}, calls: map[string]int{}, index: 1,
		changed: make(chan struct{}), stopped: make(chan struct{})}
}

// shutdown ends the blocking reads in flight, as a real server's shutdown
// does; the DNS cache's refreshers, which the DNS server's Shutdown does
// not wait for, end with them.
func (f *fakeCatalog) shutdown() { f.stopOnce.Do(func() { close(f.stopped) }) }

// shutdownWith shuts backend down when tb ends, if it is a fake catalog
// (a real agent's own cleanup does that for it).
func shutdownWith(tb testing.TB, backend cdns.Backend) {
	if f, ok := backend.(*fakeCatalog); ok {
		tb.Cleanup(f.shutdown)
	}
}

// bump records a change; f.mu is held.
func (f *fakeCatalog) bump() {
	f.index++
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeCatalog) node(name, addr string, meta map[string]string) *fakeCatalog {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nodes[name] = &structs.Node{Node: name, Address: addr, Datacenter: "dc1", Meta: meta}
	f.bump()
	return f
}

// instance registers a service instance on a node (which must exist) with
// one service check in the given state ("" for no check).
func (f *fakeCatalog) instance(node string, svc structs.NodeService, status string) *fakeCatalog {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := svc
	if s.ID == "" {
		s.ID = s.Service
	}
	csn := structs.CheckServiceNode{Node: f.nodes[node], Service: &s}
	if status != "" {
		csn.Checks = structs.HealthChecks{{Node: node, CheckID: "service:" + s.ID, Status: status, ServiceID: s.ID, ServiceName: s.Service}}
	}
	f.instances = append(f.instances, csn)
	f.bump()
	return f
}

// setStatus changes the status of every check of the instances of service
// on node.
func (f *fakeCatalog) setStatus(node, service, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.instances {
		in := &f.instances[i]
		if in.Node.Node != node || in.Service.Service != service {
			continue
		}
		checks := make(structs.HealthChecks, len(in.Checks))
		for j, c := range in.Checks {
			cc := *c
			cc.Status = status
			checks[j] = &cc
		}
		in.Checks = checks
	}
	f.bump()
}

func (f *fakeCatalog) callCount(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *fakeCatalog) RPC(_ context.Context, method string, args, reply any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := args.(*structs.ServiceSpecificRequest); ok && a.MinQueryIndex > 0 {
		timeout := time.NewTimer(a.MaxQueryTime)
		defer timeout.Stop()
		for f.index <= a.MinQueryIndex {
			ch := f.changed
			f.mu.Unlock()
			select {
			case <-ch:
				f.mu.Lock()
			case <-timeout.C:
				f.mu.Lock()
				goto read
			case <-f.stopped:
				f.mu.Lock()
				return errors.New("fake catalog shut down")
			}
		}
	} else {
		f.calls[method]++
	}
read:
	checkDC := func(dc string) error {
		if dc != "" && dc != "dc1" {
			return fmt.Errorf("%w %q", structs.ErrUnknownDatacenter, dc)
		}
		return nil
	}
	switch method {
	case "Health.ServiceNodes":
		a, out := args.(*structs.ServiceSpecificRequest), reply.(*structs.IndexedCheckServiceNodes)
		if err := checkDC(a.Datacenter); err != nil {
			return err
		}
		for _, in := range f.instances {
			if strings.EqualFold(in.Service.Service, a.ServiceName) {
				out.Nodes = append(out.Nodes, in)
			}
		}
		out.Index, out.LastContact, out.KnownLeader = f.index, f.lastContact, true
	case "Catalog.NodeServices":
		a, out := args.(*structs.NodeSpecificRequest), reply.(*structs.IndexedNodeServices)
		if err := checkDC(a.Datacenter); err != nil {
			return err
		}
		for name, n := range f.nodes {
			if strings.EqualFold(name, a.Node) {
				out.NodeServices = &structs.NodeServices{Node: n, Services: map[string]*structs.NodeService{}}
			}
		}
		out.Index = 1
	case "Catalog.ListNodes":
		a, out := args.(*structs.DCSpecificRequest), reply.(*structs.IndexedNodes)
		if err := checkDC(a.Datacenter); err != nil {
			return err
		}
		for _, n := range f.nodes {
			out.Nodes = append(out.Nodes, n)
		}
		out.Index = 1
	case "PreparedQuery.Execute":
		return structs.Errorf(structs.KindNotFound, "Query not found")
	default:
		return fmt.Errorf("rpc: can't find method %s", method)
	}
	return nil
}

// startDNS runs a DNS server on a kernel-chosen port of 127.0.0.1 and
// returns its address (UDP and TCP share the port).
func startDNS(t *testing.T, backend cdns.Backend, tweak func(*cdns.Config)) string {
	t.Helper()
	cfg := cdns.DefaultConfig()
	cfg.NodeName, cfg.NodeAddr = "agent-1", "127.0.0.1"
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := cdns.New(cfg, backend, nil)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	if err := srv.Start([]string{"127.0.0.1"}, 0); err != nil {
		t.Fatalf("Start() = %v", err)
	}
	t.Cleanup(srv.Shutdown)
	shutdownWith(t, backend)
	return srv.Addrs()[0].String()
}

// ask sends one query with a real client. edns > 0 adds an OPT record
// announcing that buffer size.
func ask(t *testing.T, addr, network, name string, qtype uint16, edns uint16) *dns.Msg {
	t.Helper()
	m := &dns.Msg{}
	m.SetQuestion(name, qtype)
	if edns > 0 {
		m.SetEdns0(edns, false)
	}
	c := &dns.Client{Net: network, Timeout: 5 * time.Second, UDPSize: 65535}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s %s: %v", network, name, dns.TypeToString[qtype], err)
	}
	if r.Id != m.Id {
		t.Fatalf("%s %s: reply ID %d, want %d", network, name, r.Id, m.Id)
	}
	return r
}

// rrs renders records as sorted "name ttl class type rdata" lines, OPT
// left out, so tables can compare whole sections.
func rrs(section []dns.RR) []string {
	var out []string
	for _, rr := range section {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, strings.Join(strings.Fields(rr.String()), " "))
	}
	sort.Strings(out)
	return out
}

// types lists the record types of a section, sorted.
func types(section []dns.RR) []string {
	var out []string
	for _, rr := range section {
		if t := rr.Header().Rrtype; t != dns.TypeOPT {
			out = append(out, dns.TypeToString[t])
		}
	}
	sort.Strings(out)
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

func sameStrings(got, want []string) bool {
	return slices.Equal(got, want) || (len(got) == 0 && len(want) == 0)
}
