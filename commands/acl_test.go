package commands

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"conclave/agent/config"
	"conclave/internal/testutil"
)

// TestACLCLIScenario runs the scenario through the CLI: bootstrap
// (once), a policy, a token with it, a write it allows and one it does not,
// then read, update, clone, list and delete, roles and set-agent-token.
func TestACLCLIScenario(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "cli-acl", Tweak: func(c *config.Config) {
		c.ACL.Enabled, c.ACL.DefaultPolicy = true, "deny"
	}})
	env := map[string]string{"CONSUL_HTTP_ADDR": a.HTTPAddr()}
	cli := func(token string, args ...string) result {
		t.Helper()
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		if token != "" {
			e["CONSUL_HTTP_TOKEN"] = token
		}
		return runCLI(t, run{args: args, env: e})
	}
	var boot result
	testutil.Retry(t, 10*time.Second, func() error {
		if boot = cli("", "acl", "bootstrap"); boot.code != 0 {
			return fmt.Errorf("acl bootstrap = %d %q", boot.code, boot.stderr)
		}
		return nil
	})
	secret := regexp.MustCompile(`(?m)^SecretID:\s+(\S+)$`).FindStringSubmatch(boot.stdout)
	if secret == nil || !strings.Contains(boot.stdout, "00000000-0000-0000-0000-000000000001 - global-management") {
		t.Fatalf("acl bootstrap printed %q, want a SecretID and the global-management policy", boot.stdout)
	}
	root := secret[1]
	if r := cli("", "acl", "bootstrap"); r.code != 1 || !strings.Contains(r.stderr, "ACL bootstrap no longer allowed") {
		t.Errorf("second acl bootstrap = %d %q, want 1 and ACL bootstrap no longer allowed", r.code, r.stderr)
	}

	if r := cli(root, "acl", "policy", "create", "-name", "app-kv", "-rules", `key_prefix "app/" { policy = "write" }`); r.code != 0 ||
		!strings.Contains(r.stdout, "Name:         app-kv") || !strings.Contains(r.stdout, `key_prefix "app/"`) {
		t.Fatalf("acl policy create = %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := cli(root, "acl", "policy", "create", "-name", "bad", "-rules", `key "a" {`); r.code != 1 || !strings.Contains(r.stderr, "400") || !strings.Contains(r.stderr, "At ") {
		t.Errorf("acl policy create (bad rules) = %d %q, want 1 and a 400 with the position", r.code, r.stderr)
	}
	tok := cli(root, "acl", "token", "create", "-description", "app", "-policy-name", "app-kv", "-format", "json")
	var created struct{ AccessorID, SecretID string }
	if tok.code != 0 || json.Unmarshal([]byte(tok.stdout), &created) != nil || created.SecretID == "" {
		t.Fatalf("acl token create -format json = %d %q %q", tok.code, tok.stdout, tok.stderr)
	}
	if r := cli(created.SecretID, "kv", "put", "app/x", "1"); r.code != 0 || !strings.Contains(r.stdout, "Success!") {
		t.Errorf("kv put app/x with the app token = %d %q %q, want success", r.code, r.stdout, r.stderr)
	}
	if r := cli(created.SecretID, "kv", "put", "other/x", "1"); r.code != 1 || !strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("kv put other/x with the app token = %d %q, want 1 and Permission denied", r.code, r.stderr)
	}
	if r := cli(created.SecretID, "acl", "token", "read", "-self"); r.code != 0 || !strings.Contains(r.stdout, "Description:      app") ||
		!strings.Contains(r.stdout, "Policies:\n   ") {
		t.Errorf("acl token read -self = %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := cli(root, "acl", "token", "update", "-id", created.AccessorID, "-description", "app v2"); r.code != 0 ||
		!strings.Contains(r.stdout, "Description:      app v2") || !strings.Contains(r.stdout, "- app-kv") {
		t.Errorf("acl token update = %d %q %q, want the new description and the policy kept", r.code, r.stdout, r.stderr)
	}
	if r := cli(root, "acl", "token", "clone", "-id", created.AccessorID, "-description", "copy"); r.code != 0 || !strings.Contains(r.stdout, "Token cloned successfully.") {
		t.Errorf("acl token clone = %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := cli(root, "acl", "token", "list"); r.code != 0 || strings.Count(r.stdout, "AccessorID:") != 4 {
		t.Errorf("acl token list = %d, %d tokens, want 4 (anonymous, bootstrap, app, copy): %q", r.code, strings.Count(r.stdout, "AccessorID:"), r.stdout)
	}
	if r := cli(root, "acl", "role", "create", "-name", "app", "-policy-name", "app-kv", "-service-identity", "web:dc1"); r.code != 0 ||
		!strings.Contains(r.stdout, "web (Datacenters: dc1)") {
		t.Errorf("acl role create = %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := cli(root, "acl", "role", "list"); r.code != 0 || !strings.HasPrefix(r.stdout, "app:\n") {
		t.Errorf("acl role list = %d %q", r.code, r.stdout)
	}
	if r := cli(root, "acl", "role", "delete", "-name", "app"); r.code != 0 || !strings.Contains(r.stdout, "deleted successfully") {
		t.Errorf("acl role delete = %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := cli(root, "acl", "policy", "list"); r.code != 0 || !strings.Contains(r.stdout, "global-management:\n   ID:           00000000-0000-0000-0000-000000000001") {
		t.Errorf("acl policy list = %d %q", r.code, r.stdout)
	}
	if r := cli(root, "acl", "token", "delete", "-id", created.AccessorID); r.code != 0 || !strings.Contains(r.stdout, "deleted successfully") {
		t.Errorf("acl token delete = %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := cli(created.SecretID, "kv", "get", "app/x"); r.code != 1 || !strings.Contains(r.stderr, "ACL not found") {
		t.Errorf("kv get with a deleted token = %d %q, want 1 and ACL not found", r.code, r.stderr)
	}
	if r := cli(root, "acl", "policy", "delete", "-name", "app-kv"); r.code != 0 {
		t.Errorf("acl policy delete = %d %q", r.code, r.stderr)
	}
	if r := cli(root, "acl", "set-agent-token", "default", root); r.code != 0 || r.stdout != "ACL token \"default\" set successfully\n" {
		t.Errorf("acl set-agent-token = %d %q %q", r.code, r.stdout, r.stderr)
	}
	// The agent's default token now serves requests that carry none.
	if r := cli("", "kv", "put", "any/x", "1"); r.code != 0 {
		t.Errorf("kv put without a token after set-agent-token default = %d %q, want success", r.code, r.stderr)
	}
}
