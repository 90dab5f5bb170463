package checks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"conclave/agent/structs"
)

func TestGRPCCheck(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("billing", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("reports", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	addr := ln.Addr().String()

	tests := []struct {
		target     string
		wantStatus string
		wantOutput string
	}{
		{addr, structs.HealthPassing, "success"},
		{addr + "/billing", structs.HealthPassing, "success"},
		{addr + "/reports", structs.HealthCritical, "NOT_SERVING"},
		{addr + "/unknown", structs.HealthCritical, "NotFound"},
		{deadAddr(t), structs.HealthCritical, "gRPC check"},
	}
	for _, tt := range tests {
		c := &GRPC{Target: tt.target, Timeout: 2 * time.Second}
		status, output := c.Check(context.Background())
		if status != tt.wantStatus || !strings.Contains(output, tt.wantOutput) {
			t.Errorf("Check(%s) = %s %q, want %s with %q", tt.target, status, output, tt.wantStatus, tt.wantOutput)
		}
	}
}

func TestAliasStatus(t *testing.T) {
	t.Parallel()
	chk := func(id, svc, status string) *structs.HealthCheck {
		return &structs.HealthCheck{CheckID: id, Name: id, ServiceID: svc, Status: status, Output: id + " says " + status}
	}
	p, w, c := structs.HealthPassing, structs.HealthWarning, structs.HealthCritical
	tests := []struct {
		name       string
		checks     []*structs.HealthCheck
		service    string
		found      bool
		wantStatus string
		wantOutput string
	}{
		{"no checks", nil, "web", true, p, "No checks found."},
		{"all passing", []*structs.HealthCheck{chk("a", "web", p), chk("node", "", p)}, "web", true, p, "All checks passing."},
		{"service warning", []*structs.HealthCheck{chk("a", "web", w), chk("b", "web", p)}, "web", true, w, `Aliased check "a" failing`},
		{"node critical counts for the service", []*structs.HealthCheck{chk("a", "web", p), chk("node", "", c)}, "web", true, c, `"node" failing: node says critical`},
		{"other services do not count", []*structs.HealthCheck{chk("a", "db", c), chk("b", "web", p)}, "web", true, p, "All checks passing."},
		{"own check is skipped", []*structs.HealthCheck{chk("self", "", c)}, "", true, p, "No checks found."},
		{"node alias ignores service checks", []*structs.HealthCheck{chk("a", "web", c)}, "", true, p, "No checks found."},
		{"missing service is critical", nil, "web", false, c, `Service "web" could not be found`},
	}
	for _, tt := range tests {
		status, output := AliasStatus(tt.checks, "self", tt.service, tt.found, "n1")
		if status != tt.wantStatus || !strings.Contains(output, tt.wantOutput) {
			t.Errorf("%s: AliasStatus() = %s %q, want %s with %q", tt.name, status, output, tt.wantStatus, tt.wantOutput)
		}
	}
}

// fakeLocal is an AliasLocal over a map.
type fakeLocal struct {
	mu       sync.Mutex
	services map[string]*structs.NodeService
	checks   map[string]*structs.HealthCheck
	watchers map[chan<- struct{}]bool
}

func (f *fakeLocal) Service(id string) *structs.NodeService {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.services[id]
}

func (f *fakeLocal) Checks() map[string]*structs.HealthCheck {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]*structs.HealthCheck{}
	for k, v := range f.checks {
		c := *v
		out[k] = &c
	}
	return out
}

func (f *fakeLocal) Notify(ch chan<- struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watchers[ch] = true
}

func (f *fakeLocal) StopNotify(ch chan<- struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.watchers, ch)
}

func (f *fakeLocal) set(c *structs.HealthCheck) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks[c.CheckID] = c
	for ch := range f.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func TestAliasLocal(t *testing.T) {
	t.Parallel()
	loc := &fakeLocal{
		services: map[string]*structs.NodeService{"web": {ID: "web", Service: "web"}},
		checks:   map[string]*structs.HealthCheck{"w": {CheckID: "w", Name: "w", ServiceID: "web", Status: structs.HealthPassing}},
		watchers: map[chan<- struct{}]bool{},
	}
	rec := &recorder{}
	c := &Alias{CheckID: "alias", ServiceID: "web", LocalNode: "n1", Local: loc, Notify: rec}
	c.Start()
	t.Cleanup(c.Stop)
	rec.waitStatus(t, structs.HealthPassing)
	loc.set(&structs.HealthCheck{CheckID: "w", Name: "w", ServiceID: "web", Status: structs.HealthCritical, Output: "down"})
	got := rec.waitStatus(t, structs.HealthCritical)
	if !strings.Contains(got.output, "down") {
		t.Errorf("alias output = %q, want the aliased check's output", got.output)
	}
}

// fakeRPC serves Health.NodeChecks and Catalog.NodeServices for a remote
// node, blocking while the index is unchanged.
type fakeRPC struct {
	mu     sync.Mutex
	index  uint64
	status string
	change chan struct{}
}

func (f *fakeRPC) RPC(_ context.Context, method string, args, reply any) error {
	switch method {
	case "Health.NodeChecks":
		q := args.(*structs.NodeSpecificRequest)
		f.mu.Lock()
		ch := f.change
		idx := f.index
		f.mu.Unlock()
		if q.MinQueryIndex >= idx {
			select {
			case <-ch:
			case <-time.After(q.MaxQueryTime):
			}
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		out := reply.(*structs.IndexedHealthChecks)
		out.Index = f.index
		out.HealthChecks = structs.HealthChecks{{Node: q.Node, CheckID: "db-check", Name: "db", ServiceID: "db", Status: f.status}}
		return nil
	case "Catalog.NodeServices":
		out := reply.(*structs.IndexedNodeServices)
		out.NodeServices = &structs.NodeServices{Services: map[string]*structs.NodeService{"db": {ID: "db", Service: "db"}}}
		return nil
	}
	return errors.New("unknown method " + method)
}

func (f *fakeRPC) setStatus(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = s
	f.index++
	close(f.change)
	f.change = make(chan struct{})
}

func TestAliasRemote(t *testing.T) {
	t.Parallel()
	rpc := &fakeRPC{index: 1, status: structs.HealthPassing, change: make(chan struct{})}
	rec := &recorder{}
	c := &Alias{CheckID: "alias", Node: "other", ServiceID: "db", LocalNode: "n1", RPC: rpc,
		QueryWait: 200 * time.Millisecond, Notify: rec}
	c.Start()
	t.Cleanup(c.Stop)
	rec.waitStatus(t, structs.HealthPassing)
	rpc.setStatus(structs.HealthWarning)
	got := rec.waitStatus(t, structs.HealthWarning)
	if want := fmt.Sprintf("Aliased check %q failing", "db"); !strings.Contains(got.output, want) {
		t.Errorf("alias output = %q, want %q", got.output, want)
	}
}
