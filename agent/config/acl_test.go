package config

import (
	"strings"
	"testing"
	"time"
)

// TestLoadACL: Consul's acl block loads as written, with master as the
// older name of initial_management, and bad policies are refused.
func TestLoadACL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := writeFile(t, dir, "acl.hcl", `data_dir = "`+dir+`"
primary_datacenter = "dc0"
acl {
  enabled = true
  default_policy = "DENY"
  down_policy = "async-cache"
  enable_token_persistence = true
  token_ttl = "45s"
  enable_key_list_policy = true
  enable_token_replication = true
  tokens {
    master = "m"
    agent = "a"
    default = "d"
    replication = "r"
  }
}
`)
	c := mustLoad(t, "--config-file", path)
	want := ACLConfig{Enabled: true, DefaultPolicy: "deny", DownPolicy: "async-cache", EnableTokenPersistence: true,
		TokenTTL: 45 * time.Second, EnableKeyListPolicy: true, EnableTokenReplication: true,
		Tokens: ACLTokens{InitialManagement: "m", Master: "m", Agent: "a", Default: "d", Replication: "r"}}
	if c.ACL != want || c.PrimaryDatacenter != "dc0" {
		t.Errorf("Load(acl.hcl).ACL = %+v, primary %q, want %+v, dc0", c.ACL, c.PrimaryDatacenter, want)
	}
	for _, tc := range []struct{ body, want string }{
		{`acl { default_policy = "maybe" }`, `acl.default_policy: "maybe" is not allow or deny`},
		{`acl { down_policy = "cache" }`, `acl.down_policy: "cache" is not extend-cache, async-cache, allow or deny`},
	} {
		p := writeFile(t, t.TempDir(), "bad.hcl", `data_dir = "`+dir+`"`+"\n"+tc.body+"\n")
		_, _, err := load(t, "--config-file", p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%s) = %v, want an error containing %q", tc.body, err, tc.want)
		}
	}
}
