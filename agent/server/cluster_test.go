// This file is left out of -race builds: moving a server to a new address
// while the leader replicates to it trips a data race inside hashicorp/raft
// itself (startStopReplication rewrites a peer that updateLastAppended reads
// unlocked; hashicorp/raft#681, #471, both open), which the race detector
// turns into an occasional failure of a test whose own assertions passed.
// `make test` runs this file without -race.

//go:build !race

package server_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"conclave/agent/config"
	"conclave/agent/server"
	"conclave/agent/structs"
	"conclave/internal/testutil"
)

// restart starts a stopped server again on its data dir, on new ports
// (new addresses, as after a move), joining join when given.
func restart(t *testing.T, old *config.Config, join ...string) *testutil.TestAgent {
	t.Helper()
	cfg := testutil.ClusterConfig(old.NodeName, old.Datacenter, true)
	cfg.DataDir = old.DataDir
	cfg.BootstrapExpect = old.BootstrapExpect
	cfg.RetryJoin = join
	return testutil.StartAgent(t, cfg)
}

func nodeID(t *testing.T, cfg *config.Config) string {
	t.Helper()
	buf, err := os.ReadFile(filepath.Join(cfg.DataDir, "node-id"))
	if err != nil {
		t.Fatalf("read node-id: %v", err)
	}
	return strings.TrimSpace(string(buf))
}

// waitForValue waits until one of agents leads and key reads want.
func waitForValue(t *testing.T, agents []*testutil.TestAgent, key, want string) *testutil.TestAgent {
	t.Helper()
	var leader *testutil.TestAgent
	testutil.Retry(t, 30*time.Second, func() error {
		leader = nil
		for _, a := range agents {
			if a.Server().IsLeader() {
				leader = a
			}
		}
		if leader == nil {
			return errors.New("no leader")
		}
		var out structs.IndexedDirEntries
		if err := leader.RPC(context.Background(), "KVS.Get", &structs.KeyRequest{Key: key}, &out); err != nil {
			return err
		}
		if len(out.Entries) != 1 || string(out.Entries[0].Value) != want {
			return fmt.Errorf("KVS.Get(%q) = %+v, want %q", key, out.Entries, want)
		}
		return nil
	})
	return leader
}

// peerIDs is the leader's raft configuration as sorted server IDs.
func peerIDs(t *testing.T, a *testutil.TestAgent) []string {
	t.Helper()
	var out structs.RaftConfigurationResponse
	if err := a.RPC(context.Background(), "Operator.RaftGetConfiguration", &structs.DCSpecificRequest{}, &out); err != nil {
		t.Fatalf("Operator.RaftGetConfiguration() = %v", err)
	}
	var ids []string
	for _, s := range out.Servers {
		ids = append(ids, s.ID)
	}
	sort.Strings(ids)
	return ids
}

// TestOutageAndRecovery stops a whole durable cluster and brings it back
// three ways: all servers on new addresses (no manual step), one server
// from peers.json, and two servers rebuilt offline by RecoverDataDirs.
func TestOutageAndRecovery(t *testing.T) {
	t.Parallel()
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 3, Durable: true, NamePrefix: "outage-"})
	put(t, c.Leader(), "outage/a", "1")
	cfgs := []*config.Config{c.Servers[0].Config, c.Servers[1].Config, c.Servers[2].Config}
	ids := []string{nodeID(t, cfgs[0]), nodeID(t, cfgs[1]), nodeID(t, cfgs[2])}
	stopAll := func(agents []*testutil.TestAgent) {
		for _, a := range agents {
			if err := a.Shutdown(); err != nil {
				t.Fatalf("Shutdown(%s) = %v", a.Config.NodeName, err)
			}
		}
	}
	stopAll(c.Servers)

	// 1. Every server back, every address new: gossip tells raft where
	// each server ID is now, and a leader is elected without help.
	s1 := restart(t, cfgs[0])
	join := testutil.LANAddr(t, s1)
	back := []*testutil.TestAgent{s1, restart(t, cfgs[1], join), restart(t, cfgs[2], join)}
	leader := waitForValue(t, back, "outage/a", "1")
	put(t, leader, "outage/b", "2")
	testutil.Retry(t, 20*time.Second, func() error {
		// The leader records the new addresses in the configuration.
		var out structs.RaftConfigurationResponse
		if err := leader.RPC(context.Background(), "Operator.RaftGetConfiguration", &structs.DCSpecificRequest{}, &out); err != nil {
			return err
		}
		want := map[string]bool{}
		for _, a := range back {
			want[a.ServerAddr()] = true
		}
		for _, s := range out.Servers {
			if !want[s.Address] {
				return fmt.Errorf("raft configuration has %s at %s, an old address", s.Node, s.Address)
			}
		}
		return nil
	})
	// A running server's data dir is refused, not waited on.
	if _, err := server.RecoverDataDirs([]string{cfgs[1].DataDir}, false, nil); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("RecoverDataDirs(running server) = %v, want a locked error", err)
	}
	stopAll(back)

	// 2. Only server 1 survives: peers.json with itself alone.
	peers := filepath.Join(cfgs[0].DataDir, "raft", server.PeersJSONFile)
	body := fmt.Sprintf(`[{"id": %q, "address": "127.0.0.1:1", "non_voter": false}]`, ids[0])
	if err := os.WriteFile(peers, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	alone := restart(t, cfgs[0])
	waitForValue(t, []*testutil.TestAgent{alone}, "outage/b", "2")
	if got := peerIDs(t, alone); !slices.Equal(got, ids[:1]) {
		t.Errorf("peers after peers.json = %v, want %v", got, ids[:1])
	}
	if _, err := os.Stat(peers); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("peers.json still there after recovery (stat: %v)", err)
	}
	if _, err := os.Stat(peers + ".recovered"); err != nil {
		t.Errorf("peers.json.recovered: %v", err)
	}
	stopAll([]*testutil.TestAgent{alone})

	// 3. Servers 2 and 3 rebuilt offline from their own data dirs.
	dirs := []string{cfgs[1].DataDir, cfgs[2].DataDir}
	conf, err := server.RecoverDataDirs(dirs, true, nil)
	if err != nil {
		t.Fatalf("RecoverDataDirs() = %v", err)
	}
	var got []string
	for _, s := range conf.Servers {
		got = append(got, string(s.ID))
	}
	want := append([]string(nil), ids[1:]...)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("RecoverDataDirs() servers = %v, want %v", got, want)
	}
	s2 := restart(t, cfgs[1])
	pair := []*testutil.TestAgent{s2, restart(t, cfgs[2], testutil.LANAddr(t, s2))}
	leader = waitForValue(t, pair, "outage/b", "2")
	if got := peerIDs(t, leader); !slices.Equal(got, want) {
		t.Errorf("peers after recover = %v, want %v", got, want)
	}
}
