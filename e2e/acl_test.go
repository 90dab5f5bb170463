package e2e

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/agent/config"
	"conclave/internal/testutil"
)

// rootToken is the initial management token of the ACL test agents.
const rootToken = "4a6f3c1e-9b2d-4e8f-a1c3-5d7e9f0b2c4a"

// newACLClient starts an agent with ACLs on (default deny) and returns
// the official client with the initial management token, as Consul's own
// API tests run.
func newACLClient(t *testing.T, initial string) (*api.Client, *testutil.TestAgent) {
	t.Helper()
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "e2e-acl", Tweak: func(c *config.Config) {
		c.ACL.Enabled, c.ACL.DefaultPolicy = true, "deny"
		c.ACL.Tokens.InitialManagement = initial
	}})
	return aclClient(t, a, initial), a
}

func aclClient(t *testing.T, a *testutil.TestAgent, token string) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address, cfg.Token = a.HTTPAddr(), token
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatalf("api.NewClient(%q) = %v", cfg.Address, err)
	}
	return c
}

func statusOf(err error) int {
	var se api.StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestACLBootstrapOnce(t *testing.T) {
	t.Parallel()
	c, a := newACLClient(t, "")
	const secret = "7e1f0c2d-3b4a-4c5d-8e9f-0a1b2c3d4e5f"
	var tok *api.ACLToken
	testutil.Retry(t, 10*time.Second, func() error {
		var err error
		tok, _, err = c.ACL().BootstrapWithToken(secret)
		return err
	})
	if tok.SecretID != secret || tok.AccessorID == "" || len(tok.Policies) != 1 || tok.Policies[0].Name != "global-management" {
		t.Fatalf("BootstrapWithToken() = %+v, want the given secret with the global-management policy", tok)
	}
	if tok.Description != "Bootstrap Token (Global Management)" {
		t.Errorf("Bootstrap().Description = %q, want Consul's", tok.Description)
	}
	_, _, err := c.ACL().Bootstrap()
	if err == nil || !strings.Contains(err.Error(), "ACL bootstrap no longer allowed") || statusOf(err) != 403 {
		t.Errorf("second Bootstrap() = %v, want 403 ACL bootstrap no longer allowed", err)
	}
	mgmt := aclClient(t, a, tok.SecretID)
	self, _, err := mgmt.ACL().TokenReadSelf(nil)
	if err != nil || self.AccessorID != tok.AccessorID {
		t.Errorf("TokenReadSelf() = %+v, %v, want the bootstrap token", self, err)
	}
}

func TestACLPolicyTokenRoleAPI(t *testing.T) {
	t.Parallel()
	c, a := newACLClient(t, rootToken)
	acl := c.ACL()

	// Policies.
	_, _, err := acl.PolicyCreate(&api.ACLPolicy{Name: "bad", Rules: "key_prefix \"a\" {\n policy = \"write\"\n"}, nil)
	if statusOf(err) != 400 || !strings.Contains(err.Error(), "At ") {
		t.Errorf("PolicyCreate(bad rules) = %v, want 400 with the parse error's position", err)
	}
	_, _, err = acl.PolicyCreate(&api.ACLPolicy{Name: "bad", Rules: `key "a" { policy = "sudo" }`}, nil)
	if statusOf(err) != 400 {
		t.Errorf("PolicyCreate(policy sudo) = %v, want 400", err)
	}
	pol, _, err := acl.PolicyCreate(&api.ACLPolicy{Name: "app-kv", Description: "app", Rules: `key_prefix "app/" { policy = "write" }`}, nil)
	if err != nil || pol.ID == "" || pol.CreateIndex == 0 || len(pol.Hash) == 0 {
		t.Fatalf("PolicyCreate(app-kv) = %+v, %v", pol, err)
	}
	if got, _, err := acl.PolicyRead(pol.ID, nil); err != nil || got.Rules != pol.Rules {
		t.Errorf("PolicyRead(%q) = %+v, %v, want the policy", pol.ID, got, err)
	}
	if got, _, err := acl.PolicyReadByName("app-kv", nil); err != nil || got.ID != pol.ID {
		t.Errorf("PolicyReadByName(app-kv) = %+v, %v, want the policy", got, err)
	}
	if _, _, err := acl.PolicyRead("9f0b2c4a-0000-4000-8000-000000000000", nil); statusOf(err) != 403 || !strings.Contains(err.Error(), "ACL not found") {
		t.Errorf("PolicyRead(missing) = %v, want 403 ACL not found", err)
	}
	if got, _, err := acl.RoleRead("9f0b2c4a-0000-4000-8000-000000000000", nil); err != nil || got != nil {
		t.Errorf("RoleRead(missing) = %+v, %v, want nil, nil", got, err)
	}
	pol.Description = "app keys"
	if upd, _, err := acl.PolicyUpdate(pol, nil); err != nil || upd.Description != "app keys" || upd.CreateIndex != pol.CreateIndex {
		t.Errorf("PolicyUpdate() = %+v, %v, want the new description and the same CreateIndex", upd, err)
	}
	if _, _, err := acl.PolicyCreate(&api.ACLPolicy{Name: "app-kv"}, nil); statusOf(err) != 400 {
		t.Errorf("PolicyCreate(duplicate name) = %v, want 400", err)
	}
	list, _, err := acl.PolicyList(nil)
	if err != nil || len(list) != 2 {
		t.Errorf("PolicyList() = %d policies, %v, want global-management and app-kv", len(list), err)
	}
	if _, err := acl.PolicyDelete("00000000-0000-0000-0000-000000000001", nil); err == nil {
		t.Errorf("PolicyDelete(global-management) = nil, want a refusal")
	}

	// Roles.
	role, _, err := acl.RoleCreate(&api.ACLRole{Name: "app", Policies: []*api.ACLRolePolicyLink{{Name: "app-kv"}},
		ServiceIdentities: []*api.ACLServiceIdentity{{ServiceName: "web"}}}, nil)
	if err != nil || role.ID == "" || len(role.Policies) != 1 || role.Policies[0].ID != pol.ID {
		t.Fatalf("RoleCreate(app) = %+v, %v, want a role linking app-kv by ID", role, err)
	}
	if got, _, err := acl.RoleReadByName("app", nil); err != nil || got == nil || got.ID != role.ID {
		t.Errorf("RoleReadByName(app) = %+v, %v", got, err)
	}
	if roles, _, err := acl.RoleList(nil); err != nil || len(roles) != 1 {
		t.Errorf("RoleList() = %v, %v, want the one role", roles, err)
	}

	// Tokens.
	tok, _, err := acl.TokenCreate(&api.ACLToken{Description: "app", Policies: []*api.ACLTokenPolicyLink{{Name: "app-kv"}}}, nil)
	if err != nil || tok.SecretID == "" || tok.Policies[0].ID != pol.ID {
		t.Fatalf("TokenCreate(app) = %+v, %v", tok, err)
	}
	app := aclClient(t, a, tok.SecretID)
	if _, err := app.KV().Put(&api.KVPair{Key: "app/x", Value: []byte("1")}, nil); err != nil {
		t.Errorf("Put(app/x) with the app token = %v, want success", err)
	}
	if _, err := app.KV().Put(&api.KVPair{Key: "other/x", Value: []byte("1")}, nil); statusOf(err) != 403 || !strings.Contains(err.Error(), "Permission denied") {
		t.Errorf("Put(other/x) with the app token = %v, want 403 Permission denied", err)
	}
	anon := aclClient(t, a, "")
	if _, _, err := anon.KV().Get("app/x", nil); statusOf(err) != 403 {
		t.Errorf("Get(app/x) anonymous = %v, want 403 under default deny", err)
	}
	self, _, err := app.ACL().TokenReadSelf(nil)
	if err != nil || self.AccessorID != tok.AccessorID || self.SecretID != tok.SecretID {
		t.Errorf("TokenReadSelf() = %+v, %v, want the app token with its secret", self, err)
	}
	if _, _, err := app.ACL().TokenList(nil); statusOf(err) != 403 {
		t.Errorf("TokenList() with the app token = %v, want 403", err)
	}
	got, _, err := acl.TokenRead(tok.AccessorID, nil)
	if err != nil || got.Description != "app" || got.SecretID != tok.SecretID {
		t.Errorf("TokenRead(%q) = %+v, %v", tok.AccessorID, got, err)
	}
	got.Roles = []*api.ACLTokenRoleLink{{ID: role.ID}}
	got.Description = "app with role"
	upd, _, err := acl.TokenUpdate(got, nil)
	if err != nil || upd.Description != "app with role" || len(upd.Roles) != 1 || upd.Roles[0].Name != "app" || upd.SecretID != tok.SecretID {
		t.Errorf("TokenUpdate() = %+v, %v, want the role linked and the secret kept", upd, err)
	}
	// The role's service identity grants write on web.
	if err := app.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web"}); err != nil {
		t.Errorf("ServiceRegister(web) with the role's service identity = %v, want success", err)
	}
	clone, _, err := acl.TokenClone(tok.AccessorID, "cloned", nil)
	if err != nil || clone.AccessorID == tok.AccessorID || clone.SecretID == tok.SecretID || clone.Description != "cloned" || len(clone.Policies) != 1 {
		t.Errorf("TokenClone() = %+v, %v, want new IDs, the description and the policies", clone, err)
	}
	exp, _, err := acl.TokenCreate(&api.ACLToken{Description: "short", ExpirationTTL: time.Hour}, nil)
	if err != nil || exp.ExpirationTime == nil || exp.ExpirationTime.Before(time.Now().Add(50*time.Minute)) {
		t.Errorf("TokenCreate(ExpirationTTL 1h) = %+v, %v, want an ExpirationTime an hour ahead", exp, err)
	}
	tokens, _, err := acl.TokenList(nil)
	if err != nil || len(tokens) != 5 { // anonymous, initial management, app, clone, short
		t.Errorf("TokenList() = %d tokens, %v, want 5", len(tokens), err)
	}
	if _, err := acl.TokenDelete(clone.AccessorID, nil); err != nil {
		t.Errorf("TokenDelete(clone) = %v", err)
	}
	if _, _, err := acl.TokenRead(clone.AccessorID, nil); statusOf(err) != 403 || !strings.Contains(err.Error(), "ACL not found") {
		t.Errorf("TokenRead(deleted) = %v, want 403 ACL not found", err)
	}
	if _, err := acl.TokenDelete("00000000-0000-0000-0000-000000000002", nil); err == nil {
		t.Errorf("TokenDelete(anonymous) = nil, want a refusal")
	}
	if _, err := acl.RoleDelete(role.ID, nil); err != nil {
		t.Errorf("RoleDelete() = %v", err)
	}
	if _, err := acl.PolicyDelete(pol.ID, nil); err != nil {
		t.Errorf("PolicyDelete() = %v", err)
	}
	if _, err := app.KV().Put(&api.KVPair{Key: "app/y", Value: []byte("1")}, nil); statusOf(err) != 403 {
		t.Errorf("Put(app/y) after the policy's deletion = %v, want 403", err)
	}
}
