package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"

	"conclave/agent/acl"
	"conclave/agent/server"
	"conclave/agent/structs"
)

// agentTokens are the agent's own tokens (acl.tokens), changeable at run
// time through /v1/agent/token and, with enable_token_persistence, kept
// in data_dir across restarts.
type agentTokens struct {
	mu sync.RWMutex
	// byKind holds "default", "agent", "agent_recovery", "replication".
	byKind map[string]string
	// path is the persistence file, "" without persistence.
	path string
}

// tokenKinds are the kinds /v1/agent/token/<kind> accepts, with Consul's
// older names mapped to the current ones.
var tokenKinds = map[string]string{
	"default": "default", "acl_token": "default",
	"agent": "agent", "acl_agent_token": "agent",
	"agent_recovery": "agent_recovery", "agent_master": "agent_recovery", "acl_agent_master_token": "agent_recovery",
	"replication": "replication", "acl_replication_token": "replication",
}

// tokenFile is the persistence file in data_dir.
const tokenFile = "acl-tokens.json"

func (a *Agent) loadTokens() error {
	c := a.config.ACL.Tokens
	a.tokens.byKind = map[string]string{"default": c.Default, "agent": c.Agent, "agent_recovery": c.AgentRecovery, "replication": c.Replication}
	if !a.config.ACL.EnableTokenPersistence || a.config.DataDir == "" {
		return nil
	}
	a.tokens.path = filepath.Join(a.config.DataDir, tokenFile)
	b, err := os.ReadFile(a.tokens.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("acl tokens: %w", err)
	}
	var saved map[string]string
	if err := json.Unmarshal(b, &saved); err != nil {
		return fmt.Errorf("acl tokens %s: %w", a.tokens.path, err)
	}
	// Tokens set through the API win over the config's, as in Consul.
	for k, v := range saved {
		if kind, ok := tokenKinds[k]; ok && v != "" {
			a.tokens.byKind[kind] = v
		}
	}
	return nil
}

func (t *agentTokens) get(kind string) string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.byKind[kind]
}

// userToken is the token of a request that carries none.
func (a *Agent) userToken() string { return a.tokens.get("default") }

// agentToken is the token of the agent's own requests.
func (a *Agent) agentToken() string {
	if t := a.tokens.get("agent"); t != "" {
		return t
	}
	return a.userToken()
}

// SetAgentToken sets one of the agent's tokens (kind as /v1/agent/token
// names it) and persists it when enable_token_persistence is on.
func (a *Agent) SetAgentToken(kind, token string) error {
	k, ok := tokenKinds[kind]
	if !ok {
		return structs.Errorf(structs.KindNotFound, "Token %q is unknown", kind)
	}
	t := &a.tokens
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byKind[k] = token
	switch k {
	case "default":
		if a.dns.srv != nil {
			a.dns.srv.FlushCache() // its answers were read with the old token
		}
	case "agent":
		a.LocalState().TriggerSyncFull()
	}
	if t.path == "" {
		return nil
	}
	b, err := json.Marshal(t.byKind)
	if err != nil {
		return err
	}
	tmp := t.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("persisting acl tokens: %w", err)
	}
	if err := os.Rename(tmp, t.path); err != nil {
		return fmt.Errorf("persisting acl tokens: %w", err)
	}
	return nil
}

// tokenRequest is a request whose token the agent may fill in.
type tokenRequest interface {
	TokenSecret() string
	SetTokenSecret(string)
}

// withToken gives a request without a token the agent's token for it.
func withToken(args any, token func() string) {
	if tr, ok := args.(tokenRequest); ok && tr.TokenSecret() == "" {
		if t := token(); t != "" {
			tr.SetTokenSecret(t)
		}
	}
}

// serverACLConfig is the acl block as servers and resolvers take it.
func (a *Agent) serverACLConfig() server.ACLConfig {
	c := a.config.ACL
	return server.ACLConfig{
		Enabled:                c.Enabled,
		DefaultAllow:           c.DefaultPolicy == "allow",
		DownPolicy:             c.DownPolicy,
		TokenTTL:               c.TokenTTL,
		EnableKeyListPolicy:    c.EnableKeyListPolicy,
		InitialManagement:      c.Tokens.InitialManagement,
		PrimaryDatacenter:      a.primaryDatacenter(),
		EnableTokenReplication: c.EnableTokenReplication,
		ReplicationToken:       func() string { return a.tokens.get("replication") },
	}
}

// primaryDatacenter is primary_datacenter, this datacenter when unset.
func (a *Agent) primaryDatacenter() string {
	if a.config.PrimaryDatacenter != "" {
		return a.config.PrimaryDatacenter
	}
	return a.config.Datacenter
}

// startACLs picks the resolver of the agent's own endpoints: the
// server's, on a server; on a client agent, one that asks the servers
// and caches for token_ttl (down_policy when they cannot be reached).
func (a *Agent) startACLs() {
	if !a.config.ACL.Enabled {
		return
	}
	if srv := a.Server(); srv != nil {
		a.acls = srv.ACLResolver()
		return
	}
	a.acls = server.NewRemoteResolver(a.serverACLConfig(), func(secret string) (*structs.ACLResolveReply, error) {
		args := structs.ACLReadRequest{Datacenter: a.config.Datacenter, ID: secret, BySecret: true,
			QueryOptions: structs.QueryOptions{AllowStale: true}}
		var reply structs.ACLResolveReply
		if err := a.delegate.RPC(context.Background(), "ACL.Resolve", &args, &reply); err != nil {
			return nil, err
		}
		return &reply, nil
	})
}

// ResolveToken is the authorization seam for agent-local endpoints; a
// request without a token is the agent's default token's.
func (a *Agent) ResolveToken(token string) (acl.Authorizer, error) {
	if token == "" {
		token = a.userToken()
	}
	if r := a.tokens.get("agent_recovery"); a.config.ACL.Enabled && r != "" && token == r {
		return a.recoveryAuthorizer()
	}
	return a.acls.ResolveToken(token)
}

// recoveryAuthorizer is what acl.tokens.agent_recovery grants, without
// asking the servers: write on this agent, read on the nodes.
func (a *Agent) recoveryAuthorizer() (acl.Authorizer, error) {
	rules, err := acl.ParseRules(fmt.Sprintf("agent %q { policy = \"write\" }\nnode_prefix \"\" { policy = \"read\" }", a.config.NodeName))
	if err != nil {
		return nil, err
	}
	return acl.Compile(acl.Options{}, rules), nil
}

// ACLsEnabled tells whether acl.enabled is on.
func (a *Agent) ACLsEnabled() bool { return a.config.ACL.Enabled }

// syncRPC is the request path of the agent's own catalog sync: requests
// without a token carry acl.tokens.agent, and a denial is logged once
// (until a sync write succeeds again), not at every retry.
type syncRPC struct {
	a      *Agent
	logger hclog.Logger
	denied atomic.Bool
}

func (s *syncRPC) RPC(ctx context.Context, method string, args, reply any) error {
	withToken(args, s.a.agentToken)
	err := s.a.RPC(ctx, method, args, reply)
	switch {
	case err == nil:
		// A write that went through: the token works again. (The sync's
		// reads succeed either way, filtered.)
		if r, ok := args.(interface{ IsRead() bool }); ok && !r.IsRead() {
			s.denied.Store(false)
		}
	case errors.Is(err, structs.ErrPermissionDenied) && !s.denied.Swap(true):
		s.logger.Error("the catalog refused this agent's own sync: set acl.tokens.agent (or acl set-agent-token agent) to a token with node write on this node",
			"method", method, "error", err)
	}
	return err
}
