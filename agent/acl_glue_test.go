package agent

import (
	"testing"

	"conclave/agent/config"
)

// TestAgentTokenPersistence: with enable_token_persistence a token set
// through the API is back after a restart, over the config's; without
// it the config's token is.
func TestAgentTokenPersistence(t *testing.T) {
	t.Parallel()
	for _, persist := range []bool{true, false} {
		dir := t.TempDir()
		newAgent := func() *Agent {
			cfg := config.Default()
			cfg.DataDir, cfg.NodeName = dir, "persist"
			cfg.ACL.Enabled, cfg.ACL.EnableTokenPersistence = true, persist
			cfg.ACL.Tokens.Default, cfg.ACL.Tokens.Agent = "from-config", "agent-from-config"
			a, err := New(cfg, nil)
			if err != nil {
				t.Fatalf("New() = %v", err)
			}
			return a
		}
		if err := newAgent().SetAgentToken("acl_token", "from-api"); err != nil {
			t.Fatalf("SetAgentToken(acl_token) = %v", err)
		}
		want := "from-config"
		if persist {
			want = "from-api"
		}
		a := newAgent()
		if got := a.userToken(); got != want {
			t.Errorf("persistence %v: default token after a restart = %q, want %q", persist, got, want)
		}
		if got := a.agentToken(); got != "agent-from-config" {
			t.Errorf("persistence %v: agent token after a restart = %q, want the config's", persist, got)
		}
		if err := a.SetAgentToken("bogus", "x"); err == nil {
			t.Errorf("SetAgentToken(bogus) = nil, want an unknown kind refused")
		}
	}
}

// TestAgentRecoveryToken: acl.tokens.agent_recovery works on the agent's
// own endpoints without the servers: agent write here, node read.
func TestAgentRecoveryToken(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.DataDir, cfg.NodeName = t.TempDir(), "rec"
	cfg.ACL.Enabled, cfg.ACL.Tokens.AgentRecovery = true, "recover"
	a, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	authz, err := a.ResolveToken("recover")
	if err != nil {
		t.Fatalf("ResolveToken(recovery) = %v", err)
	}
	if !authz.AgentWrite("rec") || authz.AgentWrite("other") || !authz.NodeRead("x") || authz.KeyRead("k") {
		t.Errorf("recovery token: AgentWrite(rec) %v, AgentWrite(other) %v, NodeRead %v, KeyRead %v; want true false true false",
			authz.AgentWrite("rec"), authz.AgentWrite("other"), authz.NodeRead("x"), authz.KeyRead("k"))
	}
}
