package config

import (
	"strings"
	"time"
)

// ACLConfig is the acl block, in Consul's keys.
type ACLConfig struct {
	// Enabled turns ACLs on (acl.enabled).
	Enabled bool `mapstructure:"enabled"`
	// DefaultPolicy is "allow" (the default) or "deny": the answer where
	// no rule of the token covers a resource.
	DefaultPolicy string `mapstructure:"default_policy"`
	// DownPolicy is "extend-cache" (the default), "async-cache", "allow"
	// or "deny": how an agent answers when it cannot resolve a token it
	// does not store (servers unreachable; the primary datacenter, for a
	// secondary one).
	DownPolicy string `mapstructure:"down_policy"`
	// EnableTokenPersistence keeps tokens set through the API
	// (/v1/agent/token, acl set-agent-token) in data_dir across restarts.
	EnableTokenPersistence bool `mapstructure:"enable_token_persistence"`
	// TokenTTL is how long an agent caches a resolved token (default 30s).
	TokenTTL time.Duration `mapstructure:"token_ttl" check:"positive"`
	// PolicyTTL and RoleTTL are Consul's separate caches of policies and
	// roles; here a token's resolution carries its policies and roles, so
	// TokenTTL bounds them all. Accepted so that Consul's files load.
	PolicyTTL time.Duration `mapstructure:"policy_ttl"`
	RoleTTL   time.Duration `mapstructure:"role_ttl"`
	// EnableKeyListPolicy makes listing keys need "list" (Consul's
	// acl.enable_key_list_policy).
	EnableKeyListPolicy bool `mapstructure:"enable_key_list_policy"`
	// EnableTokenReplication makes the leader of a secondary datacenter
	// replicate the primary's global tokens too, not only its policies
	// and roles (Consul's acl.enable_token_replication).
	EnableTokenReplication bool `mapstructure:"enable_token_replication"`
	// Tokens are the agent's own tokens.
	Tokens ACLTokens `mapstructure:"tokens"`
}

// ACLTokens is acl.tokens.
type ACLTokens struct {
	// InitialManagement becomes a management token (the bootstrap) on the
	// primary datacenter's leader. Master is its older name.
	InitialManagement string `mapstructure:"initial_management"`
	Master            string `mapstructure:"master"`
	// Agent is the token of the agent's own requests: its node's and
	// services' catalog sync (anti-entropy). Default: Default.
	Agent string `mapstructure:"agent"`
	// Default is the token of requests that carry none (HTTP and DNS).
	Default string `mapstructure:"default"`
	// AgentRecovery works on this agent's own endpoints when the servers
	// cannot be reached: agent write on this node, node read. AgentMaster
	// is its older name.
	AgentRecovery string `mapstructure:"agent_recovery"`
	AgentMaster   string `mapstructure:"agent_master"`
	// Replication is the token the leader of a secondary datacenter
	// lists the primary's policies, roles and tokens with: acl:read, and
	// acl:write to replicate tokens (their secrets).
	Replication string `mapstructure:"replication"`
}

func defaultACL() ACLConfig {
	return ACLConfig{DefaultPolicy: "allow", DownPolicy: "extend-cache", TokenTTL: 30 * time.Second}
}

// finishACL checks the acl keys once everything is merged.
func (l *loader) finishACL() error {
	a := &l.cfg.ACL
	switch p := strings.ToLower(strings.TrimSpace(a.DefaultPolicy)); p {
	case "allow", "deny":
		a.DefaultPolicy = p
	default:
		return l.fail("acl.default_policy", "%q is not allow or deny", a.DefaultPolicy)
	}
	switch p := strings.ToLower(strings.TrimSpace(a.DownPolicy)); p {
	case "extend-cache", "async-cache", "allow", "deny":
		a.DownPolicy = p
	default:
		return l.fail("acl.down_policy", "%q is not extend-cache, async-cache, allow or deny", a.DownPolicy)
	}
	if a.Tokens.InitialManagement == "" {
		a.Tokens.InitialManagement = a.Tokens.Master
	}
	if a.Tokens.AgentRecovery == "" {
		a.Tokens.AgentRecovery = a.Tokens.AgentMaster
	}
	return nil
}
