package jepsen

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// TestCheckerCatchesAckBeforeCommit proves the linearizability test can
// fail. A binary built with -tags jepsen_broken answers every KV write
// "true" the moment it is handed to raft (agent/server/ackearly_broken.go):
// before it is durable, before it is applied, whatever a CAS would have
// decided. The same workload that passes against the real binary must then
// make porcupine report a violation; if it does not, the checker has lost
// its teeth and this test fails.
func TestCheckerCatchesAckBeforeCommit(t *testing.T) {
	bin := brokenBinary(t)
	servers := clusterSize(t)
	c := StartCluster(t, ClusterConfig{Bin: bin, Servers: servers})
	d := 8 * time.Second
	if longMode {
		d = 30 * time.Second
	}
	w := Workload{
		Clients: 8, Keys: 4, ConsistentEvery: 2, Duration: d,
		Faults: []Fault{FaultKill, FaultKillLeader}, FaultFor: 2 * time.Second, QuietFor: 2 * time.Second,
		Seed: envSeed(t), Logf: t.Logf,
	}
	h, runErr := w.Run(context.Background(), c)
	t.Log(h.Summary())
	if runErr != nil {
		// The broken build may well not recover cleanly; the history up to
		// here is what matters.
		t.Logf("run (broken build): %v", runErr)
	}
	res, err := h.Check(2 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	switch res.Result {
	case porcupine.Illegal:
		t.Logf("as required, porcupine found a violation in the broken build's history (checked in %s); visualization: %s",
			res.Elapsed.Round(time.Millisecond), res.Visualization)
		if !longMode {
			// `make test` keeps no litter; `make jepsen` keeps it to look at.
			t.Cleanup(func() { os.Remove(res.Visualization) })
		}
	case porcupine.Ok:
		t.Fatalf("porcupine accepted the history of a build that acknowledges writes before commit: the check cannot fail")
	default:
		t.Fatalf("check of the broken build's history timed out (no verdict); visualization: %s", res.Visualization)
	}
}
