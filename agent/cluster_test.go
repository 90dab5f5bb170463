package agent_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/agent/structs"
	"conclave/internal/testutil"
)

// apiClient is the official Consul client pointed at a test agent.
func apiClient(t *testing.T, a *testutil.TestAgent) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: a.HTTPAddr()})
	if err != nil {
		t.Fatalf("api.NewClient(%s) = %v", a.HTTPAddr(), err)
	}
	return c
}

func memberNames(ms []*api.AgentMember) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	sort.Strings(out)
	return out
}

// raftServers returns the raft configuration the leader reports, as
// "node:voter" strings, sorted.
func raftServers(c *api.Client) ([]string, error) {
	conf, err := c.Operator().RaftGetConfiguration(nil)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range conf.Servers {
		out = append(out, fmt.Sprintf("%s:%v", s.Node, s.Voter))
	}
	sort.Strings(out)
	return out, nil
}

// TestCluster runs one three-server, one-client cluster through its life:
// formation, reads and writes from every agent, losing the leader, a
// server leaving, and a late server that must join, not bootstrap.
func TestCluster(t *testing.T) {
	t.Parallel()
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 3, Clients: 1})
	client := c.Clients[0]
	outer := t // agents started in subtests must outlive them
	cc := apiClient(t, client)

	t.Run("members lists every agent with its role", func(t *testing.T) {
		for _, a := range c.Agents() {
			want := []string{"dc1-c1", "dc1-s1", "dc1-s2", "dc1-s3"}
			testutil.Retry(t, 10*time.Second, func() error {
				ms, err := apiClient(t, a).Agent().Members(false)
				if err != nil {
					return err
				}
				if got := memberNames(ms); !slices.Equal(got, want) {
					return fmt.Errorf("Members() on %s = %v, want %v", a.Config.NodeName, got, want)
				}
				for _, m := range ms {
					wantRole := "consul"
					if m.Name == "dc1-c1" {
						wantRole = "node"
					}
					if m.Tags["role"] != wantRole || m.Tags["dc"] != "dc1" || m.Status != 1 {
						return fmt.Errorf("member %s: role %q dc %q status %d, want %q dc1 1", m.Name, m.Tags["role"], m.Tags["dc"], m.Status, wantRole)
					}
				}
				return nil
			})
		}
		self, err := cc.Agent().Self()
		if err != nil {
			t.Fatalf("Self() = %v", err)
		}
		member := self["Member"]
		if member["Name"] != "dc1-c1" || member["Tags"].(map[string]any)["role"] != "node" {
			t.Errorf("Self()[Member] = %v, want dc1-c1 with role node", member)
		}
		wan, err := cc.Agent().Members(true)
		if err != nil || len(wan) != 0 {
			t.Errorf("Members(wan) on a client = %v, %v, want none", memberNames(wan), err)
		}
	})

	t.Run("each role reports its own stats and refuses what it cannot do", func(t *testing.T) {
		stats := func(a *testutil.TestAgent) map[string]any {
			t.Helper()
			self, err := apiClient(t, a).Agent().Self()
			if err != nil {
				t.Fatalf("Self() on %s = %v", a.Config.NodeName, err)
			}
			return self["Stats"]
		}
		section := func(st map[string]any, name string) map[string]any {
			m, _ := st[name].(map[string]any)
			return m
		}
		// The router learns servers from gossip events, a moment after
		// the member lists show them.
		var cs map[string]any
		testutil.Retry(t, 10*time.Second, func() error {
			cs = stats(client)
			if consul := section(cs, "consul"); consul["server"] != "false" || consul["known_servers"] != "3" {
				return fmt.Errorf("client Stats[consul] = %v, want server false and 3 known servers", consul)
			}
			return nil
		})
		if section(cs, "raft") != nil || section(cs, "serf_lan") == nil || section(cs, "build") == nil {
			t.Errorf("client Stats sections = %v, want serf_lan and build, no raft", slices.Sorted(maps.Keys(cs)))
		}
		ss := stats(c.Servers[0])
		consul := section(ss, "consul")
		if consul["server"] != "true" || consul["known_datacenters"] != "1" || consul["bootstrap"] != "false" {
			t.Errorf("server Stats[consul] = %v, want server true, 1 known datacenter, bootstrap false", consul)
		}
		for _, name := range []string{"raft", "serf_lan", "runtime"} {
			if section(ss, name) == nil {
				t.Errorf("server Stats[%s] missing; sections %v", name, slices.Sorted(maps.Keys(ss)))
			}
		}

		if err := cc.Agent().Join(testutil.LANAddr(t, c.Servers[0]), true); err == nil || !strings.Contains(err.Error(), "Must be a server") {
			t.Errorf("Join(wan) on a client = %v, want Must be a server", err)
		}
		err := cc.Agent().ForceLeaveOpts("dc1-s1.dc1", api.ForceLeaveOpts{WAN: true})
		if err == nil || !strings.Contains(err.Error(), "Must be a server") {
			t.Errorf("ForceLeave(wan) on a client = %v, want Must be a server", err)
		}
		if err := cc.Agent().ForceLeave("no-such-node"); err == nil || !strings.Contains(err.Error(), "No node found") {
			t.Errorf("ForceLeave(no-such-node) on a client = %v, want No node found", err)
		}
	})

	t.Run("a write through the client is readable on every server", func(t *testing.T) {
		if _, err := cc.KV().Put(&api.KVPair{Key: "cluster/a", Value: []byte("1")}, nil); err != nil {
			t.Fatalf("Put(cluster/a) through the client = %v", err)
		}
		for _, s := range c.Servers {
			sc := apiClient(t, s)
			// Default consistency is served by the leader: at once.
			p, _, err := sc.KV().Get("cluster/a", nil)
			if err != nil || p == nil || string(p.Value) != "1" {
				t.Errorf("Get(cluster/a) on %s = %v, %v, want 1", s.Config.NodeName, p, err)
			}
			// A stale read is this server's own state: it catches up.
			testutil.Retry(t, 10*time.Second, func() error {
				p, _, err := sc.KV().Get("cluster/a", &api.QueryOptions{AllowStale: true})
				if err != nil || p == nil || string(p.Value) != "1" {
					return fmt.Errorf("stale Get(cluster/a) on %s = %v, %v, want 1", s.Config.NodeName, p, err)
				}
				return nil
			})
		}
	})

	t.Run("stale reads on a follower tell the truth about the leader", func(t *testing.T) {
		f := c.Followers()[0]
		p, meta, err := apiClient(t, f).KV().Get("cluster/a", &api.QueryOptions{AllowStale: true})
		if err != nil || p == nil {
			t.Fatalf("stale Get on follower = %v, %v", p, err)
		}
		if !meta.KnownLeader || meta.LastIndex == 0 {
			t.Errorf("stale Get on follower meta = KnownLeader %v, LastIndex %d, want true and > 0", meta.KnownLeader, meta.LastIndex)
		}
		leader, err := apiClient(t, f).Status().Leader()
		if want := c.Leader().ServerAddr(); err != nil || leader != want {
			t.Errorf("Status().Leader() on follower = %q, %v, want %q", leader, err, want)
		}
	})

	t.Run("raft configuration names every server", func(t *testing.T) {
		got, err := raftServers(cc)
		want := []string{"dc1-s1:true", "dc1-s2:true", "dc1-s3:true"}
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("RaftGetConfiguration() = %v, %v, want %v", got, err, want)
		}
		conf, _ := cc.Operator().RaftGetConfiguration(nil)
		leaders := 0
		for _, s := range conf.Servers {
			if s.Leader {
				leaders++
				if s.Address != c.Leader().ServerAddr() {
					t.Errorf("leader entry address = %s, want %s", s.Address, c.Leader().ServerAddr())
				}
			}
		}
		if leaders != 1 {
			t.Errorf("RaftGetConfiguration() has %d leaders, want 1", leaders)
		}
	})

	t.Run("losing the leader elects another and writes go on", func(t *testing.T) {
		old := c.Leader()
		if err := old.Shutdown(); err != nil {
			t.Fatalf("Shutdown(leader) = %v", err)
		}
		c.Servers = slices.DeleteFunc(c.Servers, func(a *testutil.TestAgent) bool { return a == old })
		testutil.Retry(t, 20*time.Second, func() error {
			if l := c.Leader(); l == nil || l == old {
				return errors.New("no new leader yet")
			}
			_, err := cc.KV().Put(&api.KVPair{Key: "cluster/b", Value: []byte("2")}, nil)
			return err
		})
		for _, k := range []string{"cluster/a", "cluster/b"} {
			p, _, err := cc.KV().Get(k, nil)
			if err != nil || p == nil {
				t.Errorf("Get(%q) after failover = %v, %v, want a value", k, p, err)
			}
		}
	})

	t.Run("a server that joins a running cluster joins it rather than bootstrapping", func(t *testing.T) {
		cfg := testutil.ClusterConfig("dc1-s4", "dc1", true)
		cfg.BootstrapExpect = 3
		cfg.RetryJoin = []string{testutil.LANAddr(t, client)}
		late := testutil.StartAgent(outer, cfg)
		testutil.Retry(t, 20*time.Second, func() error {
			got, err := raftServers(cc)
			if err != nil {
				return err
			}
			if !slices.Contains(got, "dc1-s4:true") {
				return fmt.Errorf("raft configuration = %v, want dc1-s4 as a voter", got)
			}
			var leader string
			if err := late.RPC(context.Background(), "Status.Leader", &structs.DCSpecificRequest{}, &leader); err != nil {
				return err
			}
			if want := c.Leader().ServerAddr(); leader != want {
				return fmt.Errorf("dc1-s4 follows %q, want the cluster's leader %q", leader, want)
			}
			return nil
		})
		c.Servers = append(c.Servers, late)
	})

	t.Run("a server that leaves is taken out of raft", func(t *testing.T) {
		var leaving *testutil.TestAgent
		for _, f := range c.Followers() {
			if f.Config.NodeName != "dc1-s4" {
				leaving = f
			}
		}
		if leaving == nil {
			t.Fatalf("no follower to leave among %d servers", len(c.Servers))
		}
		name := leaving.Config.NodeName
		if err := apiClient(t, leaving).Agent().Leave(); err != nil {
			t.Fatalf("Leave(%s) = %v", name, err)
		}
		testutil.Retry(t, 20*time.Second, func() error {
			got, err := raftServers(cc)
			if err != nil {
				return err
			}
			for _, s := range got {
				if strings.HasPrefix(s, name+":") {
					return fmt.Errorf("raft configuration = %v, still has %s", got, name)
				}
			}
			ms, err := cc.Agent().Members(false)
			if err != nil {
				return err
			}
			for _, m := range ms {
				if m.Name == name && m.Status != 3 {
					return fmt.Errorf("member %s has status %d, want 3 (left)", name, m.Status)
				}
			}
			return nil
		})
	})

	t.Run("without a quorum writes fail with No cluster leader", func(t *testing.T) {
		var alive []*testutil.TestAgent
		for _, s := range c.Servers {
			if s.Server() != nil && s.Server().LANMembers() != nil {
				select {
				case <-s.ShutdownCh():
				default:
					alive = append(alive, s)
				}
			}
		}
		if len(alive) < 2 {
			t.Fatalf("%d servers alive, want at least 2", len(alive))
		}
		for _, s := range alive[1:] {
			if err := s.Shutdown(); err != nil {
				t.Fatalf("Shutdown(%s) = %v", s.Config.NodeName, err)
			}
		}
		testutil.Retry(t, 20*time.Second, func() error {
			_, err := cc.KV().Put(&api.KVPair{Key: "cluster/c", Value: []byte("3")}, nil)
			if err == nil || !strings.Contains(err.Error(), "500 (No cluster leader)") {
				return fmt.Errorf("Put() without quorum = %v, want 500 No cluster leader", err)
			}
			return nil
		})
	})
}

// TestDatacenters joins two datacenters over the WAN and sends requests
// from one to the other.
func TestDatacenters(t *testing.T) {
	t.Parallel()
	dc1 := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, Clients: 1, WAN: true})
	dc2 := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, Datacenter: "dc2", WAN: true})
	if err := apiClient(t, dc2.Servers[0]).Agent().Join(testutil.WANAddr(t, dc1.Servers[0]), true); err != nil {
		t.Fatalf("Join(wan) = %v", err)
	}
	fromClient := apiClient(t, dc1.Clients[0])

	for _, tc := range []struct {
		agent *testutil.TestAgent
		want  []string
	}{
		{dc1.Clients[0], []string{"dc1", "dc2"}},
		{dc1.Servers[0], []string{"dc1", "dc2"}},
		{dc2.Servers[0], []string{"dc2", "dc1"}},
	} {
		testutil.Retry(t, 15*time.Second, func() error {
			got, err := apiClient(t, tc.agent).Catalog().Datacenters()
			if err != nil || !slices.Equal(got, tc.want) {
				return fmt.Errorf("Datacenters() on %s = %v, %v, want %v", tc.agent.Config.NodeName, got, err, tc.want)
			}
			return nil
		})
	}

	wan, err := apiClient(t, dc1.Servers[0]).Agent().Members(true)
	if got, want := memberNames(wan), []string{"dc1-s1.dc1", "dc2-s1.dc2"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("Members(wan) = %v, %v, want %v", got, err, want)
	}

	// A write from dc1's client agent lands in dc2.
	w := &api.WriteOptions{Datacenter: "dc2"}
	if _, err := fromClient.KV().Put(&api.KVPair{Key: "where", Value: []byte("dc2")}, w); err != nil {
		t.Fatalf("Put(where, dc=dc2) = %v", err)
	}
	p, _, err := apiClient(t, dc2.Servers[0]).KV().Get("where", nil)
	if err != nil || p == nil || string(p.Value) != "dc2" {
		t.Errorf("Get(where) in dc2 = %v, %v, want dc2", p, err)
	}
	p, _, err = fromClient.KV().Get("where", nil)
	if err != nil || p != nil {
		t.Errorf("Get(where) in dc1 = %v, %v, want no key", p, err)
	}
	p, _, err = fromClient.KV().Get("where", &api.QueryOptions{Datacenter: "dc2"})
	if err != nil || p == nil || string(p.Value) != "dc2" {
		t.Errorf("Get(where, dc=dc2) from dc1 = %v, %v, want dc2", p, err)
	}
	leader, err := fromClient.Status().LeaderWithQueryOptions(&api.QueryOptions{Datacenter: "dc2"})
	if want := dc2.Servers[0].ServerAddr(); err != nil || leader != want {
		t.Errorf("Status().Leader(dc=dc2) = %q, %v, want %q", leader, err, want)
	}

	_, _, err = fromClient.KV().Get("where", &api.QueryOptions{Datacenter: "nowhere"})
	if err == nil || !strings.Contains(err.Error(), `No path to datacenter "nowhere"`) {
		t.Errorf("Get(dc=nowhere) = %v, want No path to datacenter", err)
	}
	if _, _, err := fromClient.Snapshot().Save(&api.QueryOptions{Datacenter: "nowhere"}); err == nil ||
		!strings.Contains(err.Error(), `No path to datacenter "nowhere"`) {
		t.Errorf("Snapshot().Save(dc=nowhere) = %v, want No path to datacenter", err)
	}

	// A snapshot saved with ?dc=dc2 through dc1's client agent is dc2's
	// state: restored into dc1, dc2's key appears there.
	rc, _, err := fromClient.Snapshot().Save(&api.QueryOptions{Datacenter: "dc2"})
	if err != nil {
		t.Fatalf("Snapshot().Save(dc=dc2) = %v", err)
	}
	archive, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatalf("reading dc2's snapshot: %v", err)
	}
	if err := fromClient.Snapshot().Restore(nil, bytes.NewReader(archive)); err != nil {
		t.Fatalf("Snapshot().Restore(dc2's archive into dc1) = %v", err)
	}
	p, _, err = fromClient.KV().Get("where", nil)
	if err != nil || p == nil || string(p.Value) != "dc2" {
		t.Errorf("Get(where) in dc1 after restoring dc2's snapshot = %v, %v, want dc2", p, err)
	}
}
