package http_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/agent/config"
	"conclave/internal/testutil"
)

// clusterDump is everything a snapshot must carry, read through the
// official client.
type clusterDump struct {
	KV       api.KVPairs
	Sessions []*api.SessionEntry
	Nodes    []*api.Node
	Services map[string][]*api.CatalogService
	Checks   api.HealthChecks
}

// agentOwned tells the catalog entries of the test's own agents: their
// node's tagged addresses and meta are rewritten at any time by each
// agent's anti-entropy sync and the leader's gossip reconciliation (which
// also repair them after a restore), so only who they are is compared.
func agentOwned(node string) bool { return strings.HasPrefix(node, "sn-") }

// dumpState reads the whole state from one agent; stale makes a server
// answer with its own state, so followers are compared too. Entries of
// the cluster's own agents keep only what no background sync rewrites
// (agentOwned); everything else is compared whole.
func dumpState(c *api.Client) (*clusterDump, error) {
	q := &api.QueryOptions{AllowStale: true}
	var d clusterDump
	var err error
	if d.KV, _, err = c.KV().List("", q); err != nil {
		return nil, fmt.Errorf("KV().List() = %w", err)
	}
	if d.Sessions, _, err = c.Session().List(q); err != nil {
		return nil, fmt.Errorf("Session().List() = %w", err)
	}
	sort.Slice(d.Sessions, func(i, j int) bool { return d.Sessions[i].ID < d.Sessions[j].ID })
	if d.Nodes, _, err = c.Catalog().Nodes(q); err != nil {
		return nil, fmt.Errorf("Catalog().Nodes() = %w", err)
	}
	for _, n := range d.Nodes {
		if agentOwned(n.Node) {
			n.TaggedAddresses, n.Meta, n.ModifyIndex = nil, nil, 0
		}
	}
	names, _, err := c.Catalog().Services(q)
	if err != nil {
		return nil, fmt.Errorf("Catalog().Services() = %w", err)
	}
	d.Services = map[string][]*api.CatalogService{}
	for name := range names {
		if d.Services[name], _, err = c.Catalog().Service(name, "", q); err != nil {
			return nil, fmt.Errorf("Catalog().Service(%s) = %w", name, err)
		}
		for _, cs := range d.Services[name] {
			if agentOwned(cs.Node) {
				cs.TaggedAddresses, cs.NodeMeta = nil, nil
			}
		}
	}
	if d.Checks, _, err = c.Health().State(api.HealthAny, q); err != nil {
		return nil, fmt.Errorf("Health().State() = %w", err)
	}
	sort.Slice(d.Checks, func(i, j int) bool {
		return d.Checks[i].Node+d.Checks[i].CheckID < d.Checks[j].Node+d.Checks[j].CheckID
	})
	return &d, nil
}

// dumpDiff names the first sections of two dumps that differ, as JSON.
func dumpDiff(got, want *clusterDump) string {
	var out strings.Builder
	g, w := reflect.ValueOf(*got), reflect.ValueOf(*want)
	for i := range g.NumField() {
		gj, _ := json.Marshal(g.Field(i).Interface())
		wj, _ := json.Marshal(w.Field(i).Interface())
		if !bytes.Equal(gj, wj) {
			fmt.Fprintf(&out, "%s:\n got  %s\n want %s\n", g.Type().Field(i).Name, gj, wj)
		}
	}
	return out.String()
}

// waitDump waits until every client in cs dumps want.
func waitDump(t *testing.T, what string, want *clusterDump, cs ...*api.Client) {
	t.Helper()
	testutil.Retry(t, 30*time.Second, func() error {
		for i, c := range cs {
			got, err := dumpState(c)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(got, want) {
				return fmt.Errorf("%s: agent %d dumps something else:\n%s", what, i, dumpDiff(got, want))
			}
		}
		return nil
	})
}

// TestSnapshotClusterRoundTrip: on three servers and a client agent, a
// snapshot saved through the client agent is restored (through a
// follower) after the KV store, sessions and part of the catalog were
// wiped; every server then dumps exactly what was saved, also after all
// of them restart from their data dirs. A truncated archive is refused
// with nothing changed.
func TestSnapshotClusterRoundTrip(t *testing.T) {
	t.Parallel()
	cl := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 3, Clients: 1, NamePrefix: "sn-", Durable: true})
	// Every agent's node in the catalog with its serfHealth first: the
	// session below needs the client's node.
	for _, a := range cl.Agents() {
		testutil.WaitForSerfHealth(t, a)
	}
	clientAgent := testutil.APIClient(t, cl.Clients[0])
	servers := func(agents []*testutil.TestAgent) []*api.Client {
		var out []*api.Client
		for _, a := range agents {
			out = append(out, testutil.APIClient(t, a))
		}
		return out
	}

	// The fixture: keys (one locked by a session), sessions, and a node
	// with a service and a check registered through the catalog.
	kv := clientAgent.KV()
	sessions := clientAgent.Session()
	sid, _, err := sessions.Create(&api.SessionEntry{Name: "holder", Behavior: api.SessionBehaviorDelete}, nil)
	if err != nil {
		t.Fatalf("Session().Create() = %v", err)
	}
	if _, _, err := sessions.Create(&api.SessionEntry{Name: "ttl", TTL: "60s"}, nil); err != nil {
		t.Fatalf("Session().Create(ttl) = %v", err)
	}
	for i := range 20 {
		kvPut(t, kv, "app/k"+strconv.Itoa(i), "v"+strconv.Itoa(i), uint64(i))
	}
	if ok, _, err := kv.Acquire(&api.KVPair{Key: "app/lock", Value: []byte("me"), Session: sid}, nil); err != nil || !ok {
		t.Fatalf("KV().Acquire(app/lock) = %v, %v", ok, err)
	}
	if _, err := clientAgent.Catalog().Register(&api.CatalogRegistration{
		Node: "ext1", Address: "10.1.2.3", NodeMeta: map[string]string{"rack": "r1"},
		Service: &api.AgentService{ID: "db1", Service: "db", Tags: []string{"primary"}, Port: 5432},
		Check:   &api.AgentCheck{CheckID: "db1-alive", Name: "alive", ServiceID: "db1", Status: api.HealthPassing},
	}, nil); err != nil {
		t.Fatalf("Catalog().Register(ext1) = %v", err)
	}

	leaderAPI := testutil.APIClient(t, cl.Leader())
	want, err := dumpState(leaderAPI)
	if err != nil {
		t.Fatal(err)
	}
	rc, meta, err := clientAgent.Snapshot().Save(nil)
	if err != nil {
		t.Fatalf("Snapshot().Save() through the client agent = %v", err)
	}
	var archive bytes.Buffer
	if _, err := archive.ReadFrom(rc); err != nil {
		t.Fatalf("reading the snapshot: %v", err)
	}
	rc.Close()
	// The leader saved after a barrier, so the fixture is all in it; the
	// state must be the same after the save as before it, or the dump
	// would not be what the archive holds.
	if after, err := dumpState(leaderAPI); err != nil || !reflect.DeepEqual(after, want) {
		t.Fatalf("the state moved across the save (%v):\n%s", err, dumpDiff(after, want))
	}
	if len(want.KV) != 21 || len(want.Sessions) != 2 || want.Services["db"] == nil || meta.LastIndex == 0 {
		t.Fatalf("fixture dump = %+v at index %d; want 21 keys, 2 sessions, db", want, meta.LastIndex)
	}

	// Wipe.
	if _, err := kv.DeleteTree("", nil); err != nil {
		t.Fatalf("KV().DeleteTree() = %v", err)
	}
	for _, s := range want.Sessions {
		if _, err := sessions.Destroy(s.ID, nil); err != nil {
			t.Fatalf("Session().Destroy(%s) = %v", s.ID, err)
		}
	}
	if _, err := clientAgent.Catalog().Deregister(&api.CatalogDeregistration{Node: "ext1"}, nil); err != nil {
		t.Fatalf("Catalog().Deregister(ext1) = %v", err)
	}
	wiped, err := dumpState(testutil.APIClient(t, cl.Leader()))
	if err != nil {
		t.Fatal(err)
	}
	if len(wiped.KV) != 0 || len(wiped.Sessions) != 0 || wiped.Services["db"] != nil {
		t.Fatalf("after the wipe: %+v, want no keys, sessions or db", wiped)
	}

	follower := testutil.APIClient(t, cl.Followers()[0])
	cut := archive.Bytes()[:archive.Len()-100]
	if err := follower.Snapshot().Restore(nil, bytes.NewReader(cut)); err == nil {
		t.Fatalf("Restore(truncated archive) = nil, want a refusal")
	}
	if got, err := dumpState(testutil.APIClient(t, cl.Leader())); err != nil || !reflect.DeepEqual(got, wiped) {
		t.Fatalf("after a refused restore the state changed:\n %+v\nwant\n %+v (%v)", got, wiped, err)
	}

	if err := follower.Snapshot().Restore(nil, bytes.NewReader(archive.Bytes())); err != nil {
		t.Fatalf("Restore() through a follower = %v", err)
	}
	waitDump(t, "after restore", want, servers(cl.Servers)...)

	// Restart every server from its data dir on its old addresses: the
	// restored state comes back from raft's own snapshot store.
	var restarted []*testutil.TestAgent
	cfgs := make([]*config.Config, len(cl.Servers))
	addrs := make([][2]int, len(cl.Servers))
	for i, s := range cl.Servers {
		cfgs[i] = s.Config
		addrs[i] = [2]int{port(t, s.ServerAddr()), port(t, testutil.LANAddr(t, s))}
	}
	for _, s := range cl.Servers {
		if err := s.Shutdown(); err != nil {
			t.Fatalf("Shutdown(%s) = %v", s.Config.NodeName, err)
		}
	}
	for i, old := range cfgs {
		cfg := testutil.ClusterConfig(old.NodeName, old.Datacenter, true)
		cfg.DataDir, cfg.BootstrapExpect = old.DataDir, old.BootstrapExpect
		cfg.Ports.Server, cfg.Ports.SerfLAN = addrs[i][0], addrs[i][1]
		cfg.RetryJoin = []string{"127.0.0.1:" + strconv.Itoa(addrs[0][1])}
		restarted = append(restarted, testutil.StartAgent(t, cfg))
	}
	(&testutil.Cluster{Servers: restarted}).WaitReady(t)
	waitDump(t, "after restart", want, servers(restarted)...)
}

func port(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("SplitHostPort(%q) = %v", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("port of %q: %v", addr, err)
	}
	return n
}
