package agent_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/serf/serf"

	"conclave/agent/config"
	"conclave/agent/structs"
	"conclave/agent/tlsutil"
	"conclave/internal/testutil"
)

const (
	gossipKey1 = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="
	gossipKey2 = "4kuVsqyyGFUVB2HT0n/Cs4a8Jcd3e3tRm/+JCxNZdfc="
	gossipKey3 = "HvY8ubRZMgafUOWvrOadwOckVa1wN3QWAo46FVKbVN8="
)

// secure returns a Tweak that gives each agent a certificate of pki for
// its role and the gossip key: RPC with verify_incoming, verify_outgoing
// and verify_server_hostname, as a production cluster runs.
func secure(t *testing.T, pki *testutil.PKI, key string) func(*config.Config) {
	return func(c *config.Config) {
		name := "client." + c.Datacenter + ".consul"
		if c.Server {
			name = "server." + c.Datacenter + ".consul"
		}
		cert, certKey := pki.Cert(t, name)
		c.TLS.InternalRPC = tlsutil.Settings{
			CAFile: pki.CAFile, CertFile: cert, KeyFile: certKey, MinVersion: tls.VersionTLS12,
			VerifyIncoming: true, VerifyOutgoing: true, VerifyServerHostname: true,
		}
		c.Gossip.Encrypt = key
	}
}

// aliveMembers names the members a agent sees alive.
func aliveMembers(a *testutil.TestAgent) []string {
	var out []string
	for _, m := range a.LANMembers() {
		if m.Status == serf.StatusAlive {
			out = append(out, m.Name)
		}
	}
	slices.Sort(out)
	return out
}

// TestSecureCluster forms 3 servers and 2 client agents with TLS on the
// server port and gossip encryption, keeps out an agent with the wrong
// gossip key and one with a certificate of another CA, and rotates the
// gossip key with no agent leaving.
func TestSecureCluster(t *testing.T) {
	t.Parallel()
	pki := testutil.NewPKI(t)
	c := testutil.NewCluster(t, testutil.ClusterOptions{
		Servers: 3, Clients: 2, Durable: true, WAN: true, NamePrefix: "sec-",
		Tweak: secure(t, pki, gossipKey1),
	})
	want := []string{"sec-c1", "sec-c2", "sec-s1", "sec-s2", "sec-s3"}
	testutil.Retry(t, 10*time.Second, func() error {
		for _, a := range c.Agents() {
			if got := aliveMembers(a); !slices.Equal(got, want) {
				return fmt.Errorf("%s sees %v, want %v", a.Config.NodeName, got, want)
			}
		}
		return nil
	})
	for _, a := range c.Agents() {
		if got := a.Self().Stats["serf_lan"]["encrypted"]; got != "true" {
			t.Errorf("%s serf_lan encrypted = %q, want true", a.Config.NodeName, got)
		}
		if got := a.Self().Stats["tls"]["verify_server_hostname"]; got != "true" {
			t.Errorf("%s tls verify_server_hostname = %q, want true", a.Config.NodeName, got)
		}
	}

	t.Run("wrong gossip key", func(t *testing.T) {
		cfg := testutil.ClusterConfig("sec-bad-key", "dc1", false)
		secure(t, pki, gossipKey3)(cfg)
		a, log := testutil.StartAgentLogged(t, cfg)
		if _, err := a.JoinLAN([]string{testutil.LANAddr(t, c.Servers[0])}); err == nil {
			t.Errorf("JoinLAN with the wrong gossip key = nil error, want a refusal")
		}
		if got := aliveMembers(a); !slices.Equal(got, []string{"sec-bad-key"}) {
			t.Errorf("the outsider sees %v, want only itself", got)
		}
		if got := aliveMembers(c.Servers[0]); slices.Contains(got, "sec-bad-key") {
			t.Errorf("the cluster sees %v, want no sec-bad-key", got)
		}
		if l := log.String(); !strings.Contains(l, "no installed keys could decrypt the message") {
			t.Errorf("the outsider's log does not say its join failed to decrypt:\n%s", l)
		}
	})

	t.Run("certificate from another CA", func(t *testing.T) {
		cfg := testutil.ClusterConfig("sec-bad-ca", "dc1", false)
		secure(t, testutil.NewPKI(t), gossipKey1)(cfg)
		cfg.RetryJoin = []string{testutil.LANAddr(t, c.Servers[0])}
		a, log := testutil.StartAgentLogged(t, cfg)
		// The gossip key is right, so it joins gossip; RPC is what TLS guards.
		testutil.Retry(t, 10*time.Second, func() error {
			if !slices.Contains(aliveMembers(a), "sec-s1") {
				return errors.New("not joined yet")
			}
			return nil
		})
		var out structs.IndexedDirEntries
		err := a.RPC(context.Background(), "KVS.Get", &structs.KeyRequest{Key: "x"}, &out)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("RPC with a certificate of another CA = %v, want a certificate error", err)
		}
		testutil.Retry(t, 10*time.Second, func() error {
			if l := log.String(); !strings.Contains(l, "certificate signed by unknown authority") {
				return errors.New("no certificate error in the outsider's log yet")
			}
			return nil
		})
		// Leave before the key rotation below, which counts members.
		a.Shutdown()
		testutil.Retry(t, 10*time.Second, func() error {
			if slices.Contains(aliveMembers(c.Servers[0]), "sec-bad-ca") {
				return errors.New("sec-bad-ca still alive")
			}
			return nil
		})
	})

	t.Run("key rotation", func(t *testing.T) {
		op := testutil.APIClient(t, c.Clients[0]).Operator()
		steps := []struct {
			name string
			do   func() error
			keys []string
		}{
			{"install", func() error { return op.KeyringInstall(gossipKey2, nil) }, []string{gossipKey1, gossipKey2}},
			{"use", func() error { return op.KeyringUse(gossipKey2, nil) }, []string{gossipKey1, gossipKey2}},
			{"remove", func() error { return op.KeyringRemove(gossipKey1, nil) }, []string{gossipKey2}},
		}
		// A member slow to answer serf's query within its timeout (a
		// loaded machine, the race detector) fails the step, as it would
		// in Consul; the step is then repeated, which install, use and
		// remove allow.
		for _, st := range steps {
			testutil.Retry(t, 15*time.Second, func() error {
				if err := st.do(); err != nil {
					return fmt.Errorf("keyring %s = %w", st.name, err)
				}
				list, err := op.KeyringList(nil)
				if err != nil {
					return fmt.Errorf("KeyringList() after %s = %w", st.name, err)
				}
				pools := map[bool]bool{}
				for _, p := range list {
					pools[p.WAN] = true
					n := 5
					if p.WAN {
						// The servers' WAN pools, as gossip has joined them
						// (test servers listen on kernel-chosen WAN ports, so
						// they do not flood-join one another).
						n = len(c.Servers[0].WANMembers())
					}
					for _, k := range st.keys {
						if p.Keys[k] != n {
							return fmt.Errorf("after %s, %s: key %s held by %d, want %d (%v)", st.name, poolName(p), k, p.Keys[k], n, p.Keys)
						}
					}
					if len(p.Keys) != len(st.keys) || p.NumNodes != n {
						return fmt.Errorf("after %s, %s: keys %v on %d nodes, want %v on %d", st.name, poolName(p), p.Keys, p.NumNodes, st.keys, n)
					}
				}
				if !pools[true] || !pools[false] {
					return fmt.Errorf("after %s, pools = %v, want the WAN and the LAN pool", st.name, pools)
				}
				return nil
			})
		}
		for _, a := range c.Agents() {
			if got := aliveMembers(a); !slices.Equal(got, want) {
				t.Errorf("after the rotation %s sees %v, want %v", a.Config.NodeName, got, want)
			}
			b, err := os.ReadFile(filepath.Join(a.Config.DataDir, "serf", "local.keyring"))
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			if err := json.Unmarshal(b, &keys); err != nil || !slices.Equal(keys, []string{gossipKey2}) {
				t.Errorf("%s serf/local.keyring = %s (%v), want [%s]", a.Config.NodeName, b, err, gossipKey2)
			}
		}
	})
}

func poolName(p *api.KeyringResponse) string {
	if p.WAN {
		return "WAN"
	}
	return p.Datacenter + " (LAN)"
}

// TestRollingTLSUpgrade follows the upgrade path from plaintext: a server
// with a certificate and verify_incoming off serves plaintext and TLS
// agents alike; once verify_incoming is on (here by a reload), a
// plaintext agent is refused.
func TestRollingTLSUpgrade(t *testing.T) {
	t.Parallel()
	pki := testutil.NewPKI(t)
	withTLS := func(outgoing, incoming bool) func(*config.Config) {
		return func(c *config.Config) {
			secure(t, pki, "")(c)
			c.TLS.InternalRPC.VerifyOutgoing = outgoing
			c.TLS.InternalRPC.VerifyServerHostname = outgoing
			c.TLS.InternalRPC.VerifyIncoming = incoming
		}
	}
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, NamePrefix: "up-", Tweak: withTLS(false, false)})
	join := testutil.LANAddr(t, c.Servers[0])
	rpcOK := func(a *testutil.TestAgent) error {
		var out structs.IndexedDirEntries
		return a.RPC(context.Background(), "KVS.Get", &structs.KeyRequest{Key: "x"}, &out)
	}
	start := func(name string, tweak func(*config.Config)) (*testutil.TestAgent, *testutil.LogBuffer) {
		cfg := testutil.ClusterConfig(name, "dc1", false)
		if tweak != nil {
			tweak(cfg)
		}
		cfg.RetryJoin = []string{join}
		a, log := testutil.StartAgentLogged(t, cfg)
		testutil.Retry(t, 10*time.Second, func() error {
			if len(a.LANMembers()) < 2 {
				return errors.New("not joined yet")
			}
			return nil
		})
		return a, log
	}
	plain, _ := start("up-plain", nil)
	tlsAgent, _ := start("up-tls", withTLS(true, false))
	for _, a := range []*testutil.TestAgent{plain, tlsAgent} {
		testutil.Retry(t, 10*time.Second, func() error { return rpcOK(a) })
	}

	srvCfg := *c.Servers[0].Config
	withTLS(false, true)(&srvCfg)
	if err := c.Servers[0].ReloadTLS(&srvCfg); err != nil {
		t.Fatalf("ReloadTLS(verify_incoming) = %v", err)
	}
	late, _ := start("up-late-plain", nil)
	if err := rpcOK(late); err == nil {
		t.Errorf("a plaintext agent's RPC after verify_incoming = nil error, want a refusal")
	}
	late2, _ := start("up-late-tls", withTLS(true, false))
	testutil.Retry(t, 10*time.Second, func() error { return rpcOK(late2) })
	if got := c.Servers[0].Self().Stats["tls"]["rpc_verify_incoming"]; got != "true" {
		t.Errorf("server tls rpc_verify_incoming = %q after the reload, want true", got)
	}
}

// TestGossipRollingEnable: an agent with the key but
// encrypt_verify_incoming/outgoing off still gossips with agents that
// have no key, which is the first step of enabling encryption on a live
// cluster.
func TestGossipRollingEnable(t *testing.T) {
	t.Parallel()
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, NamePrefix: "roll-", Tweak: func(cfg *config.Config) {
		cfg.Gossip = config.GossipEncryption{Encrypt: gossipKey1}
	}})
	cfg := testutil.ClusterConfig("roll-plain", "dc1", false)
	a := testutil.StartAgent(t, cfg)
	if _, err := a.JoinLAN([]string{testutil.LANAddr(t, c.Servers[0])}); err != nil {
		t.Fatalf("plaintext JoinLAN to an agent with verify off = %v", err)
	}
	want := []string{"roll-plain", "roll-s1"}
	testutil.Retry(t, 10*time.Second, func() error {
		if got := aliveMembers(c.Servers[0]); !slices.Equal(got, want) {
			return fmt.Errorf("server sees %v, want %v", got, want)
		}
		return nil
	})
}
