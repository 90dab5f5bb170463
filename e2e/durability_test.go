//go:build unix

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"conclave/internal/testutil"
)

// durArgs is a lone durable server, as the README starts one, with the
// raft_multiplier of 1 that Consul recommends for production: a
// non-dev server's raft timers scale with it, and the default of 5 would
// spend seconds on each start's election.
func durArgs(t *testing.T, dataDir string, extra ...string) []string {
	t.Helper()
	perf := filepath.Join(t.TempDir(), "performance.json")
	if err := os.WriteFile(perf, []byte(`{"performance": {"raft_multiplier": 1}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-server", "-bootstrap", "-data-dir", dataDir, "-node", "e2e", "-bind", "127.0.0.1", "-config-file", perf}
	return append(args, extra...)
}

// durStart starts a durable agent; durRestart starts it again on the same
// data dir, flags and ports.
func durStart(t *testing.T, args []string) *testutil.Process {
	t.Helper()
	return testutil.StartProcess(t, testutil.ProcessOptions{Bin: conclaveBin, Args: args})
}

func durRestart(t *testing.T, args []string, ports testutil.AgentPorts) *testutil.Process {
	t.Helper()
	return testutil.StartProcess(t, testutil.ProcessOptions{Bin: conclaveBin, Args: args, Ports: &ports})
}

// durKV talks to one agent's HTTP API with plain HTTP, as curl or any
// non-Go client would.
type durKV struct {
	base string
	hc   *http.Client
}

func durNewKV(addr string) *durKV {
	return &durKV{
		base: "http://" + addr,
		hc: &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 64},
		},
	}
}

// put reports whether the agent acknowledged the write: 200 and "true".
func (k *durKV) put(key, value string) (bool, error) {
	req, err := http.NewRequest(http.MethodPut, k.base+"/v1/kv/"+key, strings.NewReader(value))
	if err != nil {
		return false, err
	}
	resp, err := k.hc.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK || string(body) != "true" {
		return false, fmt.Errorf("PUT /v1/kv/%s = %d %q, want 200 true", key, resp.StatusCode, body)
	}
	return true, nil
}

// durPair is what /v1/kv returns for one key.
type durPair struct {
	Key         string
	Value       []byte
	ModifyIndex uint64
}

// list returns every pair under prefix by key; a 404 is an empty map.
func (k *durKV) list(t *testing.T, prefix string) map[string]durPair {
	t.Helper()
	resp, err := k.hc.Get(k.base + "/v1/kv/" + prefix + "?recurse")
	if err != nil {
		t.Fatalf("GET /v1/kv/%s?recurse: %v", prefix, err)
	}
	defer resp.Body.Close()
	out := map[string]durPair{}
	if resp.StatusCode == http.StatusNotFound {
		return out
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /v1/kv/%s?recurse = %d %q, want 200", prefix, resp.StatusCode, b)
	}
	var pairs []durPair
	if err := json.NewDecoder(resp.Body).Decode(&pairs); err != nil {
		t.Fatalf("GET /v1/kv/%s?recurse: decode: %v", prefix, err)
	}
	for _, p := range pairs {
		out[p.Key] = p
	}
	return out
}

// durSelf is the part of /v1/agent/self these tests read.
type durSelf struct {
	Config map[string]any
	Stats  map[string]map[string]string
}

func (k *durKV) self(t *testing.T) durSelf {
	t.Helper()
	resp, err := k.hc.Get(k.base + "/v1/agent/self")
	if err != nil {
		t.Fatalf("GET /v1/agent/self: %v", err)
	}
	defer resp.Body.Close()
	var self durSelf
	if err := json.NewDecoder(resp.Body).Decode(&self); err != nil {
		t.Fatalf("GET /v1/agent/self: decode: %v", err)
	}
	return self
}

// durValue is the value the burst writes to its i-th key.
func durValue(prefix string, i int) (key, value string) {
	return fmt.Sprintf("%s%05d", prefix, i), fmt.Sprintf("value %d of %s", i, prefix)
}

// durBurst writes n keys from 32 goroutines and returns the acknowledged
// ones (key -> value). onAck runs after each acknowledgement with the count
// so far. Failures are errors unless stopped() says the agent was stopped
// on purpose.
func durBurst(t *testing.T, k *durKV, prefix string, n int, onAck func(acked int), stopped func() bool) map[string]string {
	t.Helper()
	const workers = 32
	var (
		mu    sync.Mutex
		acked = map[string]string{}
		errs  []error
		wg    sync.WaitGroup
	)
	jobs := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				key, val := durValue(prefix, i)
				ok, err := k.put(key, val)
				mu.Lock()
				if !ok {
					if !stopped() {
						errs = append(errs, err)
					}
					mu.Unlock()
					continue
				}
				acked[key] = val
				count := len(acked)
				mu.Unlock()
				onAck(count)
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if len(errs) > 0 {
		t.Errorf("%d PUTs failed while the agent was up, first: %v", len(errs), errs[0])
	}
	return acked
}

// durCheckAcked fails for every acknowledged key that is missing or
// changed.
func durCheckAcked(t *testing.T, stored map[string]durPair, acked map[string]string) {
	t.Helper()
	missing := 0
	for key, want := range acked {
		got, ok := stored[key]
		switch {
		case !ok:
			missing++
			if missing <= 5 {
				t.Errorf("Get(%q) = missing after restart, want %q (acknowledged)", key, want)
			}
		case string(got.Value) != want:
			t.Errorf("Get(%q) = %q after restart, want %q", key, got.Value, want)
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged keys lost", missing, len(acked))
	}
}

// TestDurabilityKill9 kills the agent with SIGKILL during or right after a
// burst of concurrent writes, restarts it on the same data dir and checks
// that every write it acknowledged is there: a reply means the entry was
// on disk.
func TestDurabilityKill9(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		total     int
		killAfter int // acknowledgements before SIGKILL
	}{
		{"after the last acknowledgement", 2000, 2000},
		{"in the middle of the burst", 2000, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := durArgs(t, t.TempDir())
			p := durStart(t, args)
			k := durNewKV(p.HTTPAddr())

			var killed atomic.Bool
			var once sync.Once
			acked := durBurst(t, k, "burst/", tc.total, func(n int) {
				if n >= tc.killAfter {
					once.Do(func() {
						killed.Store(true)
						p.Kill()
					})
				}
			}, killed.Load)
			if !killed.Load() || len(acked) < tc.killAfter {
				t.Fatalf("acknowledged %d of %d PUTs, want at least %d before the kill", len(acked), tc.total, tc.killAfter)
			}

			p2 := durRestart(t, args, p.Ports())
			k2 := durNewKV(p2.HTTPAddr())
			stored := k2.list(t, "burst/")
			durCheckAcked(t, stored, acked)

			// A write that applied but whose reply was lost may be there
			// too, but nothing that was never written.
			written := map[string]string{}
			for i := 0; i < tc.total; i++ {
				key, val := durValue("burst/", i)
				written[key] = val
			}
			var maxIndex uint64
			for key, sp := range stored {
				if want, ok := written[key]; !ok || string(sp.Value) != want {
					t.Errorf("Get(%q) = %q, want %q", key, sp.Value, want)
				}
				maxIndex = max(maxIndex, sp.ModifyIndex)
			}

			// Raft indexes never go back: a new write lands above every
			// recovered one.
			if ok, err := k2.put("after/restart", "x"); !ok {
				t.Fatalf("PUT after restart: %v", err)
			}
			if after := k2.list(t, "after/")["after/restart"]; after.ModifyIndex <= maxIndex {
				t.Errorf("ModifyIndex of a write after restart = %d, want > %d (the highest recovered)", after.ModifyIndex, maxIndex)
			}
		})
	}
}

// TestDurabilityCleanStop stops the agent with a signal, expects exit 0
// and a clean log, and finds everything after a restart, node ID included.
func TestDurabilityCleanStop(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			args := durArgs(t, t.TempDir())
			p := durStart(t, args)
			k := durNewKV(p.HTTPAddr())
			nodeID, _ := k.self(t).Config["NodeID"].(string)
			if nodeID == "" {
				t.Fatalf("GET /v1/agent/self: Config.NodeID empty")
			}

			want := map[string]string{}
			for i := 0; i < 50; i++ {
				key, val := durValue("clean/", i)
				if ok, err := k.put(key, val); !ok {
					t.Fatalf("PUT %s: %v", key, err)
				}
				want[key] = val
			}

			if code := p.Signal(sig, 30*time.Second); code != 0 {
				t.Errorf("agent exit status after %v = %d, want 0", sig, code)
			}
			log := p.Log()
			for _, bad := range []string{"[ERROR]", "panic", "DATA RACE"} {
				if strings.Contains(log, bad) {
					t.Errorf("agent log after %v contains %q:\n%s", sig, bad, log)
				}
			}
			if !strings.Contains(log, "shutdown complete") {
				t.Errorf("agent log after %v does not say %q:\n%s", sig, "shutdown complete", log)
			}

			p2 := durRestart(t, args, p.Ports())
			k2 := durNewKV(p2.HTTPAddr())
			durCheckAcked(t, k2.list(t, "clean/"), want)
			if got, _ := k2.self(t).Config["NodeID"].(string); got != nodeID {
				t.Errorf("NodeID after restart = %q, want %q (kept in the data dir)", got, nodeID)
			}
		})
	}
}
