package jepsen

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

var processFaults = []Fault{FaultKill, FaultKillLeader, FaultPause, FaultPauseLeader}

type linCase struct {
	name  string
	netns bool
	w     Workload
}

func linearizableCases(t *testing.T) []linCase {
	partition := append(append([]Fault(nil), processFaults...), FaultPartition, FaultPartLeader, FaultPartLeader)
	if !longMode {
		// `make test`: one mixed run, half the clients reading with
		// ?consistent; kills and pauses, and partitions when network
		// namespaces can be had (as root), else on loopback.
		short := linCase{name: "loopback", w: Workload{
			Clients: 8, Keys: 4, ConsistentEvery: 2,
			Duration: envDuration(t, "CONCLAVE_JEPSEN_DURATION", 20*time.Second),
			Faults:   processFaults, FaultFor: 3 * time.Second, QuietFor: 2 * time.Second,
		}}
		if os.Geteuid() == 0 && NetNSAvailable() == nil {
			short.name, short.netns, short.w.Faults = "netns", true, partition
		}
		return []linCase{short}
	}
	d := envDuration(t, "CONCLAVE_JEPSEN_DURATION", 2*time.Minute)
	return []linCase{
		// Pauses of up to 8 s against a 3 s client timeout: clients give up
		// on a paused leader and queue new requests to it, which it may
		// answer from its old state when it wakes, if a default read did
		// not check that it still leads.
		{name: "default-reads", w: Workload{Clients: 16, Keys: 6, Duration: d, Faults: processFaults,
			FaultFor: 8 * time.Second, OpTimeout: 3 * time.Second}},
		{name: "consistent-reads", w: Workload{Clients: 16, Keys: 6, ConsistentEvery: 1, Duration: d, Faults: processFaults}},
		{name: "netns-partitions", netns: true, w: Workload{Clients: 16, Keys: 6, ConsistentEvery: 2, Duration: d, Faults: partition}},
	}
}

// TestLinearizable runs concurrent get/put/cas clients against a cluster
// while servers are killed, restarted, paused and (in namespaces) cut off,
// and checks the history with porcupine.
func TestLinearizable(t *testing.T) {
	for _, tc := range linearizableCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			servers := clusterSize(t)
			cfg := ClusterConfig{Bin: binary, Servers: servers}
			w := tc.w
			if tc.netns {
				needNetNS(t)
				nn, err := NewNetNS(servers)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Network = nn
			}
			if servers == 1 {
				// One server cannot be cut off from anyone.
				w.Faults = withoutPartitions(w.Faults)
			}
			w.Seed = envSeed(t)
			w.Logf = t.Logf
			c := StartCluster(t, cfg)
			checkWorkload(t, c, w, servers)
		})
	}
}

func withoutPartitions(fs []Fault) []Fault {
	var out []Fault
	for _, f := range fs {
		if f != FaultPartition && f != FaultPartLeader {
			out = append(out, f)
		}
	}
	return out
}

// checkWorkload runs w against c and fails the test unless the history is
// linearizable and shows enough successful work that the check means
// something.
func checkWorkload(t *testing.T, c *Cluster, w Workload, servers int) {
	t.Helper()
	ctx := context.Background()
	if dl, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-30*time.Second))
		defer cancel()
	}
	t.Logf("%d server(s); %s of load", servers, w.Duration)
	h, runErr := w.Run(ctx, c)
	t.Log(h.Summary())
	res, err := h.Check(checkTimeout(ctx, 5*time.Minute))
	if err != nil {
		t.Error(err)
	}
	switch res.Result {
	case porcupine.Ok:
		t.Logf("linearizable: checked in %s", res.Elapsed.Round(time.Millisecond))
	case porcupine.Illegal:
		t.Errorf("history is NOT linearizable; visualization: %s", res.Visualization)
	default:
		t.Errorf("linearizability check timed out after %s (no verdict); visualization: %s", res.Elapsed, res.Visualization)
	}
	if runErr != nil {
		t.Errorf("run: %v", runErr)
	}
	requireProgress(t, h)
}

// requireProgress fails a run that did too little to prove anything: a
// cluster that refused everything would pass the check trivially.
func requireProgress(t *testing.T, h *History) {
	t.Helper()
	var writes, casOK, casFail, readsWithValue int
	for _, op := range h.Operations() {
		in, out := op.Input.(Input), op.Output.(Output)
		switch {
		case out.Unknown:
		case in.Kind == OpGet && out.Value != "":
			readsWithValue++
		case in.Kind == OpPut && out.OK:
			writes++
		case in.Kind == OpCAS && out.OK:
			casOK++
		case in.Kind == OpCAS:
			casFail++
		}
	}
	if writes < 50 || casOK < 10 || readsWithValue < 50 {
		t.Errorf("too little progress to judge: %d acknowledged puts, %d successful cas (%d lost), %d reads that found a value",
			writes, casOK, casFail, readsWithValue)
	}
}
