package agent_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/serf/serf"
	"github.com/miekg/dns"

	"conclave/agent"
	"conclave/agent/config"
	"conclave/agent/structs"
	"conclave/internal/testutil"
)

const clusterRoot = "3f9c2a1b-7d4e-4a5f-8b6c-0e1d2c3b4a59"

func aclOn(c *config.Config) {
	c.ACL.Enabled, c.ACL.DefaultPolicy = true, "deny"
	c.ACL.Tokens.InitialManagement = clusterRoot
}

// TestACLClientAgents: in a default-deny cluster a client agent with
// acl.tokens.agent syncs its services; one without a token is refused
// and logs the refusal once, not at every retry; a client agent resolves
// tokens for its own endpoints through the servers.
func TestACLClientAgents(t *testing.T) {
	t.Parallel()
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, Clients: 1, NamePrefix: "acl-", Tweak: func(cfg *config.Config) {
		aclOn(cfg)
		if !cfg.Server {
			cfg.ACL.Tokens.Agent = clusterRoot
		}
	}})
	client := c.Clients[0]
	root, err := api.NewClient(&api.Config{Address: client.HTTPAddr(), Token: clusterRoot})
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "acl-web", Port: 80}); err != nil {
		t.Fatalf("ServiceRegister(acl-web) on the client agent = %v", err)
	}
	testutil.Retry(t, 10*time.Second, func() error {
		svcs, _, err := root.Catalog().Service("acl-web", "", nil)
		if err != nil || len(svcs) != 1 {
			return fmt.Errorf("catalog has %d acl-web instances (%v), want the client's one", len(svcs), err)
		}
		return nil
	})
	anon, err := api.NewClient(&api.Config{Address: client.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Agent().Services(); err != nil {
		t.Errorf("Agent().Services() anonymous = %v, want a filtered answer", err)
	}
	if err := anon.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "acl-x"}); err == nil || !strings.Contains(err.Error(), "Permission denied") {
		t.Errorf("ServiceRegister anonymous on the client agent = %v, want Permission denied (resolved through the servers)", err)
	}

	// A client agent without any token.
	logs := &testutil.SyncBuffer{}
	cfg := testutil.ClusterConfig("acl-notoken", "dc1", false)
	aclOn(cfg)
	cfg.RetryJoin = []string{testutil.LANAddr(t, c.Servers[0])}
	a, err := agent.New(cfg, hclog.New(&hclog.LoggerOptions{Name: "acl-notoken", Level: hclog.Debug, Output: logs}))
	if err != nil {
		t.Fatalf("agent.New() = %v", err)
	}
	if err := a.Start(); err != nil {
		t.Fatalf("Start() = %v", err)
	}
	t.Cleanup(func() { _ = a.Shutdown() })
	const refusal = "the catalog refused this agent's own sync"
	testutil.Retry(t, 20*time.Second, func() error {
		a.LocalState().TriggerSyncFull()
		if n := strings.Count(logs.String(), "full sync with the catalog failed"); n < 3 {
			return fmt.Errorf("%d failed syncs so far, want 3", n)
		}
		return nil
	})
	if n := strings.Count(logs.String(), refusal); n != 1 {
		t.Errorf("the log says %q %d times over 3 failed syncs, want once:\n%s", refusal, n, logs.String())
	}
	if !strings.Contains(logs.String(), "Permission denied") {
		t.Errorf("the log does not give the exact denial:\n%s", logs.String())
	}
}

// TestACLSecondaryDatacenter: a server of dc2 (primary_datacenter dc1)
// resolves dc1's tokens, for itself and for dc2's client agents (which
// ask it through ACL.Resolve), forwards
// policy and token writes to dc1, and
// keeps answering with a token it resolved once dc1 is unreachable
// (down_policy extend-cache), while one it never saw is refused.
func TestACLSecondaryDatacenter(t *testing.T) {
	t.Parallel()
	dc1 := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, WAN: true, NamePrefix: "acl1-", Tweak: aclOn})
	dc2 := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, Datacenter: "dc2", WAN: true, NamePrefix: "acl2-", Tweak: func(c *config.Config) {
		c.ACL.Enabled, c.ACL.DefaultPolicy = true, "deny"
		c.PrimaryDatacenter = "dc1"
		// Every request past the first asks dc1 again: the cache only
		// answers when dc1 cannot.
		c.ACL.TokenTTL = time.Nanosecond
	}})
	if _, err := dc2.Servers[0].JoinWAN([]string{testutil.WANAddr(t, dc1.Servers[0])}); err != nil {
		t.Fatalf("JoinWAN() = %v", err)
	}
	in2, err := api.NewClient(&api.Config{Address: dc2.Servers[0].HTTPAddr(), Token: clusterRoot})
	if err != nil {
		t.Fatal(err)
	}
	// The initial management token of dc1, used in dc2.
	testutil.Retry(t, 15*time.Second, func() error {
		_, err := in2.KV().Put(&api.KVPair{Key: "dc2/x", Value: []byte("1")}, nil)
		return err
	})
	// A policy and a token made through dc2 live in dc1.
	pol, _, err := in2.ACL().PolicyCreate(&api.ACLPolicy{Name: "dc2-kv", Rules: `key_prefix "dc2/" { policy = "write" }`}, nil)
	if err != nil {
		t.Fatalf("PolicyCreate through dc2 = %v", err)
	}
	tok, _, err := in2.ACL().TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: pol.ID}}}, nil)
	if err != nil {
		t.Fatalf("TokenCreate through dc2 = %v", err)
	}
	in1, err := api.NewClient(&api.Config{Address: dc1.Servers[0].HTTPAddr(), Token: clusterRoot})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := in1.ACL().TokenRead(tok.AccessorID, nil); err != nil || got.AccessorID != tok.AccessorID {
		t.Errorf("TokenRead in dc1 of the token made through dc2 = %v, %v, want it there", got, err)
	}
	app, err := api.NewClient(&api.Config{Address: dc2.Servers[0].HTTPAddr(), Token: tok.SecretID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.KV().Put(&api.KVPair{Key: "dc2/y", Value: []byte("1")}, nil); err != nil {
		t.Fatalf("Put(dc2/y) in dc2 with dc1's token = %v", err)
	}
	if _, err := app.KV().Put(&api.KVPair{Key: "other", Value: []byte("1")}, nil); err == nil || !strings.Contains(err.Error(), "Permission denied") {
		t.Errorf("Put(other) in dc2 with dc1's token = %v, want Permission denied", err)
	}
	// A client agent of dc2 resolves dc1's tokens through dc2's servers
	// (ACL.Resolve), which ask dc1 for what they do not hold.
	var res structs.ACLResolveReply
	if err := dc2.Servers[0].RPC(context.Background(), "ACL.Resolve", &structs.ACLReadRequest{Datacenter: "dc2", ID: clusterRoot, BySecret: true}, &res); err != nil || !res.Management {
		t.Errorf("ACL.Resolve in dc2 of dc1's management token = %+v, %v, want management", res, err)
	}

	// dc1 goes away: the token dc2 resolved still works, an unknown one
	// does not.
	_ = dc1.Servers[0].Shutdown()
	if _, err := app.KV().Put(&api.KVPair{Key: "dc2/z", Value: []byte("1")}, nil); err != nil {
		t.Errorf("Put(dc2/z) with dc1 down = %v, want the cached token to work (extend-cache)", err)
	}
	stranger, err := api.NewClient(&api.Config{Address: dc2.Servers[0].HTTPAddr(), Token: "5b8e1a2c-3d4f-4e6a-9b0c-7d8e9f0a1b2c"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stranger.KV().Put(&api.KVPair{Key: "dc2/w", Value: []byte("1")}, nil); err == nil || !strings.Contains(err.Error(), "Permission denied") {
		t.Errorf("Put(dc2/w) with an unknown token and dc1 down = %v, want Permission denied", err)
	}
	// Gossip has given dc1 up, so no probe of it outlives the test.
	waitDCStatus(t, dc2.Servers[0], "dc1", serf.StatusFailed)
}

// waitDCStatus waits until every server of dc has status in a's WAN pool.
func waitDCStatus(t *testing.T, a *testutil.TestAgent, dc string, status serf.MemberStatus) {
	t.Helper()
	testutil.Retry(t, 20*time.Second, func() error {
		for _, m := range a.WANMembers() {
			if m.Tags["dc"] == dc && m.Status != status {
				return fmt.Errorf("%s's server %s is %s in the WAN pool, want %s", dc, m.Name, m.Status, status)
			}
		}
		return nil
	})
}

// TestACLAgentTokens: DNS answers with the agent's default token (set at
// run time through /v1/agent/token), and /v1/agent/self reports ACLs as
// enabled.
func TestACLAgentTokens(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "acl-dns", Tweak: aclOn})
	root, err := api.NewClient(&api.Config{Address: a.HTTPAddr(), Token: clusterRoot})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Catalog().Register(&api.CatalogRegistration{Node: "db-node", Address: "10.0.0.7",
		Service: &api.AgentService{Service: "db", Port: 5432}}, nil); err != nil {
		t.Fatalf("Register(db) = %v", err)
	}
	lookup := func(a *testutil.TestAgent) (int, error) {
		m := new(dns.Msg)
		m.SetQuestion("db.service.consul.", dns.TypeA)
		r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, a.DNSAddr())
		if err != nil {
			return 0, err
		}
		return len(r.Answer), nil
	}
	if n, err := lookup(a); err != nil || n != 0 {
		t.Errorf("db.service.consul without a default token = %d answers, %v, want none", n, err)
	}
	pol, _, err := root.ACL().PolicyCreate(&api.ACLPolicy{Name: "dns", Rules: `service_prefix "" { policy = "read" }
node_prefix "" { policy = "read" }`}, nil)
	if err != nil {
		t.Fatalf("PolicyCreate(dns) = %v", err)
	}
	tok, _, err := root.ACL().TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: pol.ID}}}, nil)
	if err != nil {
		t.Fatalf("TokenCreate(dns) = %v", err)
	}
	if _, err := root.Agent().UpdateDefaultACLToken(tok.SecretID, nil); err != nil {
		t.Fatalf("UpdateDefaultACLToken() = %v", err)
	}
	if n, err := lookup(a); err != nil || n != 1 {
		t.Errorf("db.service.consul with the default token = %d answers, %v, want 1", n, err)
	}
	self, err := root.Agent().Self()
	if err != nil || self["Stats"]["consul"].(map[string]any)["acl"] != "enabled" {
		t.Errorf("Agent().Self() Stats[consul][acl] = %v, %v, want enabled", self["Stats"]["consul"], err)
	}

}
