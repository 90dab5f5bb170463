package commands

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"conclave/agent/config"
	"conclave/internal/testutil"
)

func TestKeygen(t *testing.T) {
	t.Parallel()
	got := runCLI(t, run{args: []string{"keygen"}})
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(got.stdout))
	if got.code != 0 || err != nil || len(key) != 32 {
		t.Errorf("keygen = %+v (decoded %d bytes, %v), want 32 base64 bytes and exit 0", got, len(key), err)
	}
	if again := runCLI(t, run{args: []string{"keygen"}}); again.stdout == got.stdout {
		t.Errorf("keygen twice printed the same key %q", got.stdout)
	}
}

// TestKeyringCommand rotates the key of a lone encrypted agent with the
// CLI and checks each step's output.
func TestKeyringCommand(t *testing.T) {
	t.Parallel()
	const k1, k2 = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=", "4kuVsqyyGFUVB2HT0n/Cs4a8Jcd3e3tRm/+JCxNZdfc="
	a := testutil.NewAgent(t, testutil.AgentOptions{Tweak: func(c *config.Config) { c.Gossip.Encrypt = k1 }})
	env := map[string]string{"CONSUL_HTTP_ADDR": a.HTTPAddr()}
	steps := []struct {
		args   []string
		stdout string
		stderr string
		code   int
	}{
		{[]string{"keyring", "-list"}, "\ndc1 (LAN):\n  " + k1 + " [1/1]\n", "==> Gathering installed encryption keys...\n", 0},
		{[]string{"keyring", "-install", k2}, "", "==> Installing new gossip encryption key...\n", 0},
		{[]string{"keyring", "-list"}, "\ndc1 (LAN):\n  " + k2 + " [1/1]\n  " + k1 + " [1/1]\n", "==> Gathering installed encryption keys...\n", 0},
		{[]string{"keyring", "-use", k2}, "", "==> Changing primary gossip encryption key...\n", 0},
		{[]string{"keyring", "-list-primary"}, "\ndc1 (LAN):\n  " + k2 + " [1/1]\n", "==> Gathering installed encryption keys...\n", 0},
		{[]string{"keyring", "-remove", k2}, "", "==> Removing gossip encryption key...\nerror: ", 1},
		{[]string{"keyring", "-remove", k1}, "", "==> Removing gossip encryption key...\n", 0},
		{[]string{"keyring", "-list", "-local-only", "-relay-factor", "2"}, "\ndc1 (LAN):\n  " + k2 + " [1/1]\n", "==> Gathering installed encryption keys...\n", 0},
		{[]string{"keyring", "-list", "-relay-factor", "6"}, "", "Error! -relay-factor must be between 0 and 5\n", 1},
		{[]string{"keyring", "-install", "not-a-key"}, "", "==> Installing new gossip encryption key...\nerror: ", 1},
		{[]string{"keyring"}, "", "Error! Exactly one of -list, -list-primary, -install, -use, or -remove must be provided\n", 1},
		{[]string{"keyring", "-install", k1, "-local-only"}, "", "Error! -local-only can only be used with -list or -list-primary\n", 1},
	}
	for _, st := range steps {
		got := runCLI(t, run{args: st.args, env: env})
		if got.stdout != st.stdout || !strings.HasPrefix(got.stderr, st.stderr) || got.code != st.code {
			t.Errorf("%v = %+v, want stdout %q, stderr starting %q, exit %d", st.args, got, st.stdout, st.stderr, st.code)
		}
	}
	got := runCLI(t, run{args: []string{"keyring", "-list", "-format=json"}, env: env})
	var pools []struct {
		WAN        bool
		Datacenter string
		Keys       map[string]int
		NumNodes   int
	}
	if err := json.Unmarshal([]byte(got.stdout), &pools); err != nil || len(pools) != 1 || pools[0].Keys[k2] != 1 || pools[0].Datacenter != "dc1" || pools[0].WAN {
		t.Errorf("keyring -list -format=json = %q (%v), want the dc1 LAN pool holding %s", got.stdout, err, k2)
	}
}
