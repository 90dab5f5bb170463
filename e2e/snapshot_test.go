//go:build unix

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"conclave/internal/testutil"
)

// TestSnapshotUnderLoad writes far more entries than the snapshot
// threshold, so raft snapshots and compacts its log while writes go on,
// then kills the agent and finds every key after a restart that begins
// from the snapshot.
func TestSnapshotUnderLoad(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	cfgFile := filepath.Join(t.TempDir(), "snap.json")
	cfg := `{"raft_snapshot_threshold": 200, "raft_snapshot_interval": "100ms", "raft_trailing_logs": 50}`
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	args := durArgs(t, dataDir, "-config-file", cfgFile)
	p := durStart(t, args)
	k := durNewKV(p.HTTPAddr())

	const n = 5000
	acked := durBurst(t, k, "snap/", n, func(int) {}, func() bool { return false })
	if len(acked) != n {
		t.Fatalf("acknowledged %d of %d PUTs, want all", len(acked), n)
	}

	// Raft checks the threshold every 100ms; wait for a finished snapshot
	// rather than for a length of time.
	snapDir := filepath.Join(dataDir, "raft", "snapshots")
	testutil.Retry(t, 30*time.Second, func() error {
		names, err := snapFinished(snapDir)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			return fmt.Errorf("no finished snapshot in %s yet", snapDir)
		}
		return nil
	})
	if idx := snapLastIndex(t, k); idx == 0 {
		t.Errorf("raft last_snapshot_index = 0, want > 0 once a snapshot is on disk")
	}

	p.Kill()
	p2 := durRestart(t, args, p.Ports())
	k2 := durNewKV(p2.HTTPAddr())
	stored := k2.list(t, "snap/")
	if len(stored) != n {
		t.Errorf("List(snap/) after restart = %d keys, want %d", len(stored), n)
	}
	durCheckAcked(t, stored, acked)
	// The restarted server began from a snapshot, not from the first entry.
	if idx := snapLastIndex(t, k2); idx == 0 {
		t.Errorf("raft last_snapshot_index after restart = 0, want > 0 (restored from the snapshot)")
	}
}

// snapLastIndex is raft's last_snapshot_index from /v1/agent/self.
func snapLastIndex(t *testing.T, k *durKV) uint64 {
	t.Helper()
	s := k.self(t).Stats["raft"]["last_snapshot_index"]
	idx, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("raft last_snapshot_index = %q, want a number", s)
	}
	return idx
}

// snapFinished lists the snapshots raft completed in dir: those still
// being written end in ".tmp", and a finished one holds its metadata.
func snapFinished(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "meta.json")); err == nil {
			out = append(out, e.Name())
		}
	}
	return out, nil
}
