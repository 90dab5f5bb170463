package agent_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/serf/serf"

	"conclave/agent/config"
	"conclave/client"
	"conclave/internal/testutil"
)

// TestACLReplication: the leader of dc2 (primary_datacenter dc1,
// enable_token_replication) copies dc1's policies, roles and global tokens into
// its own state, not dc1's local tokens, follows deletions, reports its
// progress on /v1/acl/replication, and with dc1 gone still resolves a
// replicated token it never saw used, from its own state.
func TestACLReplication(t *testing.T) {
	t.Parallel()
	dc1 := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, WAN: true, NamePrefix: "repl1-", Tweak: aclOn})
	dc2 := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, Datacenter: "dc2", WAN: true, NamePrefix: "repl2-", Tweak: func(c *config.Config) {
		c.ACL.Enabled, c.ACL.DefaultPolicy = true, "deny"
		c.PrimaryDatacenter = "dc1"
		c.ACL.EnableTokenReplication = true
		c.ACL.Tokens.Replication = clusterRoot
	}})
	if _, err := dc2.Servers[0].JoinWAN([]string{testutil.WANAddr(t, dc1.Servers[0])}); err != nil {
		t.Fatalf("JoinWAN() = %v", err)
	}
	in1 := tokenClient(t, dc1.Servers[0], clusterRoot)
	pol, _, err := in1.ACL().PolicyCreate(&api.ACLPolicy{Name: "repl-kv", Rules: `key_prefix "repl/" { policy = "write" }`}, nil)
	if err != nil {
		t.Fatalf("PolicyCreate in dc1 = %v", err)
	}
	role, _, err := in1.ACL().RoleCreate(&api.ACLRole{Name: "repl-role", Policies: []*api.ACLRolePolicyLink{{ID: pol.ID}}}, nil)
	if err != nil {
		t.Fatalf("RoleCreate in dc1 = %v", err)
	}
	newToken := func(local bool) *api.ACLToken {
		t.Helper()
		tok, _, err := in1.ACL().TokenCreate(&api.ACLToken{Local: local, Policies: []*api.ACLTokenPolicyLink{{ID: pol.ID}}}, nil)
		if err != nil {
			t.Fatalf("TokenCreate(local %v) in dc1 = %v", local, err)
		}
		return tok
	}
	local := newToken(true)
	used, unused, doomed := newToken(false), newToken(false), newToken(false)

	st := dc2.Servers[0].Server().State
	replicated := func(accessor string) bool {
		_, tok, err := st().ACLTokenGet(nil, accessor)
		return err == nil && tok != nil
	}
	testutil.Retry(t, 20*time.Second, func() error {
		if _, p, err := st().ACLPolicyGet(nil, pol.ID); err != nil || p == nil {
			return fmt.Errorf("ACLPolicyGet(%s) in dc2 = %v, %v, want the policy", pol.ID, p, err)
		}
		if _, r, err := st().ACLRoleGet(nil, role.ID); err != nil || r == nil {
			return fmt.Errorf("ACLRoleGet(%s) in dc2 = %v, %v, want the role", role.ID, r, err)
		}
		for _, tok := range []*api.ACLToken{used, unused, doomed} {
			if !replicated(tok.AccessorID) {
				return fmt.Errorf("token %s is not in dc2's state", tok.AccessorID)
			}
		}
		return nil
	})
	// The tokens made after it are there: one list carried them all.
	if replicated(local.AccessorID) {
		t.Errorf("dc1's local token %s is in dc2's state, want it left out", local.AccessorID)
	}
	if _, err := in1.ACL().TokenDelete(doomed.AccessorID, nil); err != nil {
		t.Fatalf("TokenDelete in dc1 = %v", err)
	}
	testutil.Retry(t, 20*time.Second, func() error {
		if replicated(doomed.AccessorID) {
			return errors.New("the token deleted in dc1 is still in dc2's state")
		}
		return nil
	})

	app := tokenClient(t, dc2.Servers[0], used.SecretID)
	if _, err := app.KV().Put(&api.KVPair{Key: "repl/x", Value: []byte("1")}, nil); err != nil {
		t.Errorf("Put(repl/x) in dc2 with a replicated token = %v", err)
	}
	if _, err := app.KV().Put(&api.KVPair{Key: "other", Value: []byte("1")}, nil); err == nil || !strings.Contains(err.Error(), "Permission denied") {
		t.Errorf("Put(other) in dc2 with a replicated token = %v, want Permission denied", err)
	}

	// The status needs no token; dc1 replicates nothing.
	testutil.Retry(t, 10*time.Second, func() error {
		s, _, err := tokenClient(t, dc2.Servers[0], "").ACL().Replication(nil)
		if err != nil {
			return fmt.Errorf("Replication() in dc2 = %v", err)
		}
		if !s.Enabled || !s.Running || s.SourceDatacenter != "dc1" || s.ReplicationType != "tokens" ||
			s.ReplicatedIndex == 0 || s.ReplicatedRoleIndex == 0 || s.ReplicatedTokenIndex == 0 || s.LastSuccess.IsZero() {
			return fmt.Errorf("Replication() in dc2 = %+v, want enabled, running, from dc1, tokens, with indexes and a success", s)
		}
		return nil
	})
	c1, err := client.New(&client.Config{Address: dc1.Servers[0].HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := c1.ACL().Replication(context.Background(), nil); err != nil || s.Enabled || s.SourceDatacenter != "dc1" {
		t.Errorf("client Replication() in dc1 = %+v, %v, want not enabled, source dc1", s, err)
	}

	// dc1 goes away: a replicated token dc2 never resolved before works
	// (a resolver asking dc1 would have nothing cached for it), an
	// unknown one does not. dc1 leaves before it stops, so that dc2 has
	// no path to it at once and no probe of it outlives the test.
	if err := dc1.Servers[0].Leave(); err != nil {
		t.Fatalf("Leave() of dc1's server = %v", err)
	}
	_ = dc1.Servers[0].Shutdown()
	waitDCStatus(t, dc2.Servers[0], "dc1", serf.StatusLeft)
	fresh := tokenClient(t, dc2.Servers[0], unused.SecretID)
	if _, err := fresh.KV().Put(&api.KVPair{Key: "repl/y", Value: []byte("1")}, nil); err != nil {
		t.Errorf("Put(repl/y) in dc2 with dc1 down and a token not used before = %v, want it resolved from dc2's state", err)
	}
	stranger := tokenClient(t, dc2.Servers[0], "5b8e1a2c-3d4f-4e6a-9b0c-7d8e9f0a1b2d")
	if _, err := stranger.KV().Put(&api.KVPair{Key: "repl/z", Value: []byte("1")}, nil); err == nil || !strings.Contains(err.Error(), "Permission denied") {
		t.Errorf("Put(repl/z) with an unknown token and dc1 down = %v, want Permission denied", err)
	}
}

// tokenClient is the official client with a token.
func tokenClient(t *testing.T, a *testutil.TestAgent, token string) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: a.HTTPAddr(), Token: token})
	if err != nil {
		t.Fatalf("api.NewClient(%s) = %v", a.HTTPAddr(), err)
	}
	return c
}
