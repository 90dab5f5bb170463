package dns_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/miekg/dns"

	cdns "conclave/agent/dns"
	"conclave/agent/structs"
	"conclave/internal/testutil"
)

// nullWriter is a ResponseWriter that drops replies: the benchmarks below
// measure the handler, not the network (bench/dns.sh measures that).
type nullWriter struct{ remote net.Addr }

func (w *nullWriter) LocalAddr() net.Addr         { return w.remote }
func (w *nullWriter) RemoteAddr() net.Addr        { return w.remote }
func (w *nullWriter) WriteMsg(m *dns.Msg) error   { _, err := m.Pack(); return err }
func (w *nullWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nullWriter) Close() error                { return nil }
func (w *nullWriter) TsigStatus() error           { return nil }
func (w *nullWriter) TsigTimersOnly(bool)         {}
func (w *nullWriter) Hijack()                     {}

func benchLookup(b *testing.B, backend cdns.Backend, tweak func(*cdns.Config)) {
	cfg := cdns.DefaultConfig()
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := cdns.New(cfg, backend, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
	shutdownWith(b, backend)
	req := &dns.Msg{}
	req.SetQuestion("web.service.consul.", dns.TypeA)
	w := &nullWriter{remote: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			srv.ServeDNS(w, req)
		}
	})
}

// BenchmarkServiceLookupFake is the DNS layer alone, over a fake catalog.
func BenchmarkServiceLookupFake(b *testing.B) {
	f := newFakeCatalog()
	for i := 1; i <= 3; i++ {
		node := fmt.Sprintf("web-%d", i)
		f.node(node, fmt.Sprintf("10.0.0.%d", i), nil)
		f.instance(node, structs.NodeService{Service: "web", Port: 80}, structs.HealthPassing)
	}
	benchLookup(b, f, nil)
}

// BenchmarkServiceLookupAgent goes through a real agent: RPC dispatch and
// the state store read included.
func BenchmarkServiceLookupAgent(b *testing.B) {
	a := testutil.NewAgent(b, testutil.AgentOptions{})
	for i := 1; i <= 3; i++ {
		node := fmt.Sprintf("web-%d", i)
		req := &structs.RegisterRequest{Datacenter: "dc1", Node: node, Address: fmt.Sprintf("10.0.0.%d", i),
			Service: &structs.NodeService{ID: "web", Service: "web", Port: 80},
			Check:   &structs.HealthCheck{Node: node, CheckID: "service:web", Name: "web", Status: structs.HealthPassing, ServiceID: "web", ServiceName: "web"}}
		if err := a.RPC(context.Background(), "Catalog.Register", req, &struct{}{}); err != nil {
			b.Fatal(err)
		}
	}
	benchLookup(b, a, nil)
}
