package testutil

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/spf13/pflag"

	"conclave/agent/config"
)

// APIClient is the official Consul client pointed at a, built the way any
// program written for Consul builds it.
func APIClient(t testing.TB, a *TestAgent) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = a.HTTPAddr()
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatalf("api.NewClient(%q) = %v", cfg.Address, err)
	}
	return c
}

// LoadLocalConfig reads the service and check definitions (and the script
// and check_update_interval settings) of the config files in dir, exactly
// as `agent -config-dir=dir` would, for a test agent's Tweak:
//
//	Tweak: func(c *config.Config) { c.Local = testutil.LoadLocalConfig(t, dir) }
func LoadLocalConfig(t testing.TB, dir string) config.LocalConfig {
	t.Helper()
	cfg, err := LoadConfigDir(dir)
	if err != nil {
		t.Fatalf("loading %s: %v", dir, err)
	}
	return cfg.Local
}

// LoadConfigDir loads a dev agent's config with -config-dir=dir and
// returns Load's error as is (for tests of bad files and reloads).
func LoadConfigDir(dir string) (*config.Config, error) {
	fs := pflag.NewFlagSet("agent", pflag.ContinueOnError)
	config.AddFlags(fs)
	if err := fs.Parse([]string{"--dev", "--config-dir", dir}); err != nil {
		return nil, err
	}
	cfg, _, err := config.Load(fs)
	return cfg, err
}

// NewSessionAgent is NewAgent for tests that make sessions: it also
// waits for the node's serfHealth (see WaitForSerfHealth).
func NewSessionAgent(t testing.TB) *TestAgent {
	t.Helper()
	a := NewAgent(t, AgentOptions{})
	WaitForSerfHealth(t, a)
	return a
}

// WaitForSerfHealth retries until the catalog has a's node with a passing
// serfHealth check: a session made through a's API links to that check by
// default, and the servers refuse one while the node is not registered
// yet (which it may not be the moment a leader is elected).
func WaitForSerfHealth(t testing.TB, a *TestAgent) {
	t.Helper()
	c := APIClient(t, a)
	Retry(t, 30*time.Second, func() error {
		checks, _, err := c.Health().Node(a.Config.NodeName, nil)
		if err != nil {
			return err
		}
		for _, hc := range checks {
			if hc.CheckID == "serfHealth" && hc.Status == api.HealthPassing {
				return nil
			}
		}
		return fmt.Errorf("node %s has no passing serfHealth yet: %v", a.Config.NodeName, checks)
	})
}

// WaitForNodeSynced waits until a's own node is in the catalog as the
// agent syncs it (tagged addresses and meta set, the consul service of a
// server listed): the leader may create the node from gossip first, with
// only its address.
func WaitForNodeSynced(t testing.TB, a *TestAgent) {
	t.Helper()
	c := APIClient(t, a)
	Retry(t, 30*time.Second, func() error {
		n, _, err := c.Catalog().Node(a.Config.NodeName, nil)
		if err != nil {
			return err
		}
		if n == nil || n.Node.TaggedAddresses["lan"] == "" || n.Node.Meta["consul-version"] == "" ||
			(a.Config.Server && n.Services["consul"] == nil) {
			return fmt.Errorf("Catalog().Node(%q) = %+v, want the node as its agent syncs it", a.Config.NodeName, n)
		}
		return nil
	})
}

// KVValues is every key under prefix with its value, read with c.
func KVValues(t testing.TB, c *api.Client, prefix string) map[string]string {
	t.Helper()
	pairs, _, err := c.KV().List(prefix, nil)
	if err != nil {
		t.Fatalf("List(%q) = %v", prefix, err)
	}
	out := map[string]string{}
	for _, p := range pairs {
		out[p.Key] = string(p.Value)
	}
	return out
}
