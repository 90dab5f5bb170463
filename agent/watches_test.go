package agent_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/agent"
	"conclave/agent/config"
	"conclave/internal/testutil"
)

// TestConfigWatchesFire: the watches of an agent's config files run
// inside it, a script handler (stdin, CONSUL_INDEX) and an HTTP handler,
// and fire when their key changes.
func TestConfigWatchesFire(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	posted := make(chan string, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		posted <- r.Header.Get("X-Consul-Index") + " " + string(body)
	}))
	t.Cleanup(hook.Close)
	confDir := filepath.Join(dir, "conf")
	if err := os.Mkdir(confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`watches = [
  {
    type = "key"
    key = "cw/script"
    skip_initial = true
    args = ["/bin/sh", "-c", "cat > %[1]s.tmp; echo \" $CONSUL_INDEX\" >> %[1]s.tmp; mv %[1]s.tmp %[1]s"]
  },
  {
    type = "keyprefix"
    prefix = "cw/http/"
    handler_type = "http"
    http_handler_config {
      path = "%[2]s"
    }
  }
]
`, out, hook.URL)
	if err := os.WriteFile(filepath.Join(confDir, "watches.hcl"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	loaded, err := testutil.LoadConfigDir(confDir)
	if err != nil {
		t.Fatalf("loading %s: %v", confDir, err)
	}
	a := testutil.NewAgent(t, testutil.AgentOptions{Tweak: func(c *config.Config) { c.Watches = loaded.Watches }})
	kv := apiClient(t, a).KV()

	// The HTTP watch fires for the state found at start (no keys: null).
	if got := <-posted; !strings.HasSuffix(got, " null\n") {
		t.Errorf("first POST = %q, want the index and null", got)
	}
	if _, err := kv.Put(&api.KVPair{Key: "cw/http/a", Value: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
	if got := <-posted; !strings.Contains(got, `"Key":"cw/http/a"`) {
		t.Errorf("POST after a write = %q, want the new key", got)
	}

	// skip_initial: the script fires on a change only; the watch may
	// start reading after a write, so keep writing until it has fired.
	n := 0
	testutil.Retry(t, 30*time.Second, func() error {
		n++
		if _, err := kv.Put(&api.KVPair{Key: "cw/script", Value: []byte(fmt.Sprint("v", n))}, nil); err != nil {
			return err
		}
		got, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		if !strings.Contains(string(got), `"Key":"cw/script"`) || !strings.Contains(string(got), "\n ") {
			return fmt.Errorf("handler output %q, want the pair and CONSUL_INDEX", got)
		}
		return nil
	})

	// A reload with the same watches keeps them running: no fire for the
	// state they already handed on.
	if err := a.ReloadWatches(a.Config); err != nil {
		t.Fatalf("ReloadWatches(same) = %v", err)
	}
	if _, err := kv.Put(&api.KVPair{Key: "cw/http/b", Value: []byte("y")}, nil); err != nil {
		t.Fatal(err)
	}
	if got := <-posted; !strings.Contains(got, `"Key":"cw/http/b"`) {
		t.Errorf("POST after a reload and a write = %q, want the write (no re-fire of the old state)", got)
	}
}

// TestConfigWatchesNeedHTTP: watches read through the agent's HTTP API,
// so an agent without one refuses to start with them.
func TestConfigWatchesNeedHTTP(t *testing.T) {
	t.Parallel()
	cfg := testutil.ClusterConfig("nohttp", "dc1", false)
	cfg.Ports.HTTP = -1
	cfg.Watches = []config.WatchDefinition{{Source: "w.json", Key: "watches[0]",
		Params: map[string]any{"type": "nodes", "args": []any{"true"}}}}
	a, err := agent.New(cfg, nil)
	if err != nil {
		t.Fatalf("agent.New() = %v", err)
	}
	err = a.Start()
	_ = a.Shutdown()
	if err == nil || !strings.Contains(err.Error(), "watches need the HTTP API") {
		t.Errorf("Start() = %v, want a refusal naming the HTTP API", err)
	}
}
