package router

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/serf/serf"

	"conclave/agent/structs"
)

func member(name, dc, role, port string, status serf.MemberStatus) serf.Member {
	tags := map[string]string{"role": role, "dc": dc, "id": "id-" + name}
	if port != "" {
		tags["port"] = port
	}
	return serf.Member{Name: name, Addr: net.ParseIP("10.0.0.1"), Tags: tags, Status: status}
}

func TestIsServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		m        serf.Member
		wantOK   bool
		wantName string
		wantAddr string
	}{
		{"server", member("s1", "dc1", "consul", "8300", serf.StatusAlive), true, "s1", "10.0.0.1:8300"},
		{"WAN name loses its datacenter", member("s1.dc2", "dc2", "consul", "8300", serf.StatusAlive), true, "s1", "10.0.0.1:8300"},
		{"client", member("c1", "dc1", "node", "", serf.StatusAlive), false, "", ""},
		{"server without port", member("s1", "dc1", "consul", "", serf.StatusAlive), false, "", ""},
		{"server with a bad port", member("s1", "dc1", "consul", "99999", serf.StatusAlive), false, "", ""},
		{"server without datacenter", member("s1", "", "consul", "8300", serf.StatusAlive), false, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := IsServer(tc.m)
			if ok != tc.wantOK {
				t.Fatalf("IsServer(%v) ok = %v, want %v", tc.m.Tags, ok, tc.wantOK)
			}
			if ok && (s.Name != tc.wantName || s.Addr.String() != tc.wantAddr || s.ID != "id-"+tc.m.Name) {
				t.Errorf("IsServer() = %s %s %s, want %s %s", s.Name, s.Addr, s.ID, tc.wantName, tc.wantAddr)
			}
		})
	}
}

// TestIsServerKVBatch: the kv_batch tag says whether a server applies
// batched KV raft entries; a server without it (an older build) does not.
func TestIsServerKVBatch(t *testing.T) {
	t.Parallel()
	m := member("s1", "dc1", "consul", "8300", serf.StatusAlive)
	if s, _ := IsServer(m); s.KVBatch {
		t.Error("a server without the kv_batch tag: KVBatch true")
	}
	m.Tags[TagKVBatch] = "1"
	if s, _ := IsServer(m); !s.KVBatch {
		t.Error("a server with kv_batch=1: KVBatch false")
	}
}

func TestRouterMembership(t *testing.T) {
	t.Parallel()
	r := New(Config{Datacenter: "dc1"})
	for _, m := range []serf.Member{
		member("a", "dc1", "consul", "8300", serf.StatusAlive),
		member("b", "dc1", "consul", "8300", serf.StatusAlive),
		member("x", "dc3", "consul", "8300", serf.StatusAlive),
		member("y", "dc2", "consul", "8300", serf.StatusAlive),
		member("c", "dc1", "node", "", serf.StatusAlive),
	} {
		r.HandleMember(m)
	}
	if got, want := r.Datacenters(), []string{"dc1", "dc2", "dc3"}; !slices.Equal(got, want) {
		t.Errorf("Datacenters() = %v, want %v", got, want)
	}
	if n := len(r.Servers("dc1")); n != 2 {
		t.Errorf("Servers(dc1) has %d servers, want 2 (clients are not servers)", n)
	}

	first, err := r.FindServer("dc1")
	if err != nil {
		t.Fatalf("FindServer(dc1) = %v", err)
	}
	r.NotifyFailed(first)
	if next, _ := r.FindServer("dc1"); next.Name == first.Name {
		t.Errorf("FindServer() after NotifyFailed(%s) = %s, want the other server", first.Name, next.Name)
	}

	r.HandleMember(member("y", "dc2", "consul", "8300", serf.StatusFailed))
	if got, want := r.Datacenters(), []string{"dc1", "dc3"}; !slices.Equal(got, want) {
		t.Errorf("Datacenters() after dc2's only server failed = %v, want %v", got, want)
	}
	if _, err := r.FindServer("dc2"); err == nil || !strings.Contains(err.Error(), `No path to datacenter "dc2"`) {
		t.Errorf("FindServer(dc2) = %v, want No path to datacenter", err)
	}
	r.Remove("dc1", "a")
	r.Remove("dc1", "b")
	if _, err := r.FindServer("dc1"); !errors.Is(err, structs.ErrNoServers) {
		t.Errorf("FindServer(dc1) with no servers = %v, want %v", err, structs.ErrNoServers)
	}
	if got := r.Datacenters(); got[0] != "dc1" {
		t.Errorf("Datacenters() = %v, want the local one first even without servers", got)
	}
}

// fakeCall records calls and answers from a script keyed by address.
type fakeCall struct {
	mu    sync.Mutex
	calls []string
	reply map[string]error
}

func (f *fakeCall) call(_ context.Context, addr, method string, args, reply any, timeout time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, addr)
	return f.reply[addr]
}

func TestRouterRPC(t *testing.T) {
	t.Parallel()
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	readErr := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset")}
	tests := []struct {
		name      string
		args      any
		first     error // reply of the server tried first
		wantCalls int
		wantErr   string
	}{
		{"dial failure moves on", &structs.KVSRequest{}, dialErr, 2, ""},
		{"read after a broken connection moves on", &structs.KeyRequest{}, readErr, 2, ""},
		{"write after a broken connection is not repeated", &structs.KVSRequest{}, readErr, 1, "connection reset"},
		{"an endpoint's error is returned as is", &structs.KeyRequest{}, structs.RemoteError(structs.KindPermissionDenied, "Permission denied"), 1, "Permission denied"},
		{"an endpoint's internal error is not retried either", &structs.KeyRequest{}, structs.RemoteError(structs.KindInternal, "boom"), 1, "boom"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeCall{reply: map[string]error{}}
			r := New(Config{Datacenter: "dc1", Call: f.call, HoldTimeout: time.Second})
			a := member("a", "dc1", "consul", "8300", serf.StatusAlive)
			b := member("b", "dc1", "consul", "8301", serf.StatusAlive)
			r.HandleMember(a)
			r.HandleMember(b)
			first, _ := r.FindServer("dc1")
			f.reply[first.Addr.String()] = tc.first
			err := r.RPC(context.Background(), "dc1", "KVS.Apply", tc.args, new(bool))
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("RPC() = %v, want %q", err, tc.wantErr)
			}
			if len(f.calls) != tc.wantCalls {
				t.Errorf("RPC() made %d calls (%v), want %d", len(f.calls), f.calls, tc.wantCalls)
			}
		})
	}

	t.Run("unknown datacenter fails at once", func(t *testing.T) {
		t.Parallel()
		f := &fakeCall{}
		r := New(Config{Datacenter: "dc1", Call: f.call})
		err := r.RPC(context.Background(), "dc9", "KVS.Get", &structs.KeyRequest{}, new(bool))
		if err == nil || !strings.Contains(err.Error(), `No path to datacenter "dc9"`) || len(f.calls) != 0 {
			t.Errorf("RPC(dc9) = %v after %d calls, want No path to datacenter and none", err, len(f.calls))
		}
	})
}
