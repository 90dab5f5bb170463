package agent_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"

	"conclave/agent"
	"conclave/agent/config"
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
