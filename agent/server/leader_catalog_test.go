package server

import (
	"errors"
	"net"
	"reflect"
	"sort"
	"strconv"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/serf/serf"

	"conclave/agent/state"
	"conclave/agent/structs"
)

// fakeCatalogLeader is a reconciler over a bare store: apply writes
// straight to it with increasing indexes, counting the writes.
type fakeCatalogLeader struct {
	r       *catalogReconciler
	st      *state.Store
	idx     uint64
	writes  int
	members []serf.Member
}

func newFakeCatalogLeader(t *testing.T) *fakeCatalogLeader {
	t.Helper()
	f := &fakeCatalogLeader{st: state.New()}
	f.r = &catalogReconciler{
		dc: "dc1", nodeName: "leader", logger: hclog.NewNullLogger(),
		members: func() []serf.Member { return f.members },
		state:   func() *state.Store { return f.st },
		apply: func(t structs.MessageType, msg any) error {
			f.idx++
			f.writes++
			switch t {
			case structs.RegisterRequestType:
				return f.st.EnsureRegistration(f.idx, msg.(*structs.RegisterRequest))
			case structs.DeregisterRequestType:
				return f.st.Deregister(f.idx, msg.(*structs.DeregisterRequest))
			}
			return errors.New("unexpected message type")
		},
		events: make(chan serf.Member, 4),
		dirty:  make(chan struct{}, 1),
	}
	return f
}

func member(name, ip string, status serf.MemberStatus, server bool) serf.Member {
	tags := map[string]string{"dc": "dc1", "id": ""}
	if server {
		tags["role"], tags["port"], tags["build"] = "consul", "8300", "1.0.0"
	}
	return serf.Member{Name: name, Addr: net.ParseIP(ip), Status: status, Tags: tags}
}

// catalogSummary is "node:serfHealth-status[+consul]" per node.
func (f *fakeCatalogLeader) summary(t *testing.T) []string {
	t.Helper()
	_, nodes, err := f.st.Nodes(nil)
	if err != nil {
		t.Fatalf("Nodes() = %v", err)
	}
	var out []string
	for _, n := range nodes {
		_, checks, _ := f.st.NodeChecks(nil, n.Node)
		s := n.Node + "@" + n.Address + ":"
		for _, c := range checks {
			if c.CheckID == structs.SerfCheckID {
				s += c.Status
			}
		}
		if _, ns, _ := f.st.NodeServices(nil, n.Node); ns != nil && ns.Services["consul"] != nil {
			s += "+consul:" + strconv.Itoa(ns.Services["consul"].Port)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func TestCatalogReconcile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		before  []serf.Member // reconciled first (full pass)
		members []serf.Member // then the pool looks like this (full pass)
		want    []string
	}{
		{"alive members get passing serfHealth, servers the consul service",
			nil,
			[]serf.Member{member("leader", "10.0.0.1", serf.StatusAlive, true), member("web", "10.0.0.2", serf.StatusAlive, false)},
			[]string{"leader@10.0.0.1:passing+consul:8300", "web@10.0.0.2:passing"}},
		{"a failed member goes critical and keeps its node",
			[]serf.Member{member("web", "10.0.0.2", serf.StatusAlive, false)},
			[]serf.Member{member("web", "10.0.0.2", serf.StatusFailed, false)},
			[]string{"web@10.0.0.2:critical"}},
		{"a member that left is deregistered",
			[]serf.Member{member("web", "10.0.0.2", serf.StatusAlive, false)},
			[]serf.Member{member("web", "10.0.0.2", serf.StatusLeft, false)},
			nil},
		{"a member gossip forgot (reaped) is deregistered",
			[]serf.Member{member("web", "10.0.0.2", serf.StatusAlive, false), member("db", "10.0.0.3", serf.StatusAlive, false)},
			[]serf.Member{member("db", "10.0.0.3", serf.StatusAlive, false)},
			[]string{"db@10.0.0.3:passing"}},
		{"a member back at a new address is re-registered there",
			[]serf.Member{member("web", "10.0.0.2", serf.StatusAlive, false)},
			[]serf.Member{member("web", "10.0.0.9", serf.StatusAlive, false)},
			[]string{"web@10.0.0.9:passing"}},
		{"the leader never deregisters itself",
			[]serf.Member{member("leader", "10.0.0.1", serf.StatusAlive, true)},
			[]serf.Member{member("leader", "10.0.0.1", serf.StatusLeft, true)},
			[]string{"leader@10.0.0.1:passing+consul:8300"}},
		{"members of another datacenter are ignored",
			nil,
			[]serf.Member{{Name: "x", Addr: net.ParseIP("10.1.0.1"), Status: serf.StatusAlive, Tags: map[string]string{"dc": "dc2"}}},
			nil},
	}
	for _, tt := range tests {
		f := newFakeCatalogLeader(t)
		if tt.before != nil {
			f.members = tt.before
			f.r.reconcileAll()
		}
		f.members = tt.members
		f.r.reconcileAll()
		if got := f.summary(t); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: catalog = %v, want %v", tt.name, got, tt.want)
		}
		// A second pass over an unchanged pool writes nothing.
		writes := f.writes
		f.r.reconcileAll()
		if f.writes != writes {
			t.Errorf("%s: a pass over an unchanged pool made %d writes, want 0", tt.name, f.writes-writes)
		}
	}
}

func TestCatalogReconcileKeepsAgentFields(t *testing.T) {
	t.Parallel()
	f := newFakeCatalogLeader(t)
	// The node's own agent registered it with tagged addresses and meta.
	if err := f.st.EnsureRegistration(1, &structs.RegisterRequest{Node: "web", Address: "10.0.0.2",
		TaggedAddresses: map[string]string{"lan": "10.0.0.2"}, NodeMeta: map[string]string{"rack": "a"}}); err != nil {
		t.Fatalf("EnsureRegistration() = %v", err)
	}
	f.idx = 1
	f.members = []serf.Member{member("web", "10.0.0.2", serf.StatusFailed, false)}
	f.r.reconcileAll()
	_, n, _ := f.st.GetNode(nil, "web")
	if n.Meta["rack"] != "a" || n.TaggedAddresses["lan"] != "10.0.0.2" {
		t.Errorf("after reconcile node = %+v, want its meta and tagged addresses kept", n)
	}
}

func TestCatalogReconcileEvents(t *testing.T) {
	t.Parallel()
	f := newFakeCatalogLeader(t)
	// More events than the queue holds: the overflow marks the reconciler
	// dirty instead of blocking serf's event loop.
	ms := []serf.Member{}
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		ms = append(ms, member(n, "10.0.0.1", serf.StatusAlive, false))
	}
	f.r.onEvent(serf.MemberEvent{Type: serf.EventMemberJoin, Members: ms})
	if len(f.r.events) != cap(f.r.events) || len(f.r.dirty) != 1 {
		t.Errorf("after %d events: queue %d/%d, dirty %d; want a full queue and dirty set", len(ms), len(f.r.events), cap(f.r.events), len(f.r.dirty))
	}
	// A reap arrives as a member with no status.
	f.r.drain()
	f.r.onEvent(serf.MemberEvent{Type: serf.EventMemberReap, Members: []serf.Member{member("a", "10.0.0.1", serf.StatusFailed, false)}})
	if m := <-f.r.events; m.Status != serf.StatusNone {
		t.Errorf("reap event queued status %v, want StatusNone", m.Status)
	}
}

// TestCatalogReconcileKeepsAgentSync: an agent's own sync (tagged
// addresses, meta) that lands between the reconciler's read of the node
// and the apply of its serfHealth write survives that write; before, the
// write carried the node as read and wiped the sync until the next one.
func TestCatalogReconcileKeepsAgentSync(t *testing.T) {
	t.Parallel()
	for _, existing := range []bool{false, true} {
		f := newFakeCatalogLeader(t)
		if existing {
			f.idx++
			if err := f.st.EnsureRegistration(f.idx, &structs.RegisterRequest{Node: "web", Address: "10.0.0.2"}); err != nil {
				t.Fatal(err)
			}
		}
		apply := f.r.apply
		f.r.apply = func(mt structs.MessageType, msg any) error {
			// The agent's sync commits first.
			f.idx++
			sync := &structs.RegisterRequest{Node: "web", Address: "10.0.0.2",
				TaggedAddresses: map[string]string{"lan": "10.0.0.2", "wan": "198.51.100.2"}, NodeMeta: map[string]string{"rack": "r1"}}
			if err := f.st.EnsureRegistration(f.idx, sync); err != nil {
				t.Fatal(err)
			}
			return apply(mt, msg)
		}
		f.r.ensureHealth(member("web", "10.0.0.2", serf.StatusAlive, false), structs.HealthPassing, "Agent alive and reachable")
		_, n, err := f.st.GetNode(nil, "web")
		if err != nil || n == nil || n.TaggedAddresses["wan"] != "198.51.100.2" || n.Meta["rack"] != "r1" {
			t.Errorf("node existing=%v after reconcile = %+v, %v; want the agent's tagged addresses and meta kept", existing, n, err)
		}
		_, checks, _ := f.st.NodeChecks(nil, "web")
		if len(checks) != 1 || checks[0].CheckID != structs.SerfCheckID || checks[0].Status != structs.HealthPassing {
			t.Errorf("checks of web = %+v, want serfHealth passing", checks)
		}
	}
}
