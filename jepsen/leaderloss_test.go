package jepsen

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestLeaderLoss kills the leader of a 3-server cluster with SIGKILL while
// clients write through every server. A new leader must appear among the
// survivors, and every write acknowledged before (and after) the kill must
// be there: read with ?consistent from each survivor, and, once the old
// leader is back, with ?stale from it.
func TestLeaderLoss(t *testing.T) {
	needCluster(t)
	ctx := testContext(t, 3*time.Minute)
	c := StartCluster(t, ClusterConfig{Bin: binary, Servers: 3})
	old, err := c.LeaderOf(ctx, c.Nodes...)
	if err != nil {
		t.Fatal(err)
	}
	survivors := c.Others(old)

	// Two writers per server, each on keys of its own.
	l := newLedger()
	wctx, stopWriters := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		n := c.Nodes[i%3]
		cl := c.Client(n, 5*time.Second)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cl.Close()
			writeLoop(wctx, cl, fmt.Sprintf("jepsen-ll/w%d", i), l)
		}()
	}
	defer func() { stopWriters(); wg.Wait() }()

	if err := l.waitAcked(ctx, 200); err != nil {
		t.Fatalf("before the kill: %v", err)
	}
	before, _ := l.snapshot()
	if err := old.Kill(); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed leader %s after %d acknowledged writes", old.Name, len(before))

	// A new leader, one of the survivors, that takes writes through both.
	if err := c.WaitHealthy(ctx, survivors...); err != nil {
		t.Fatalf("no new leader among %s: %v", names(survivors), err)
	}
	leader, err := c.LeaderOf(ctx, survivors...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("new leader: %s", leader.Name)
	// Some writes acknowledged under the new leader too.
	if err := l.waitAcked(ctx, l.ackedCount()+100); err != nil {
		t.Fatalf("after the kill: %v", err)
	}
	stopWriters()
	wg.Wait()

	acked, unknown := l.snapshot()
	t.Logf("%d acknowledged writes in all (%d before the kill), %d with a lost answer", len(acked), len(before), len(unknown))
	for _, n := range survivors {
		cl := c.Client(n, 10*time.Second)
		got, err := cl.List(ctx, "jepsen-ll/", ReadConsistent)
		cl.Close()
		if err != nil {
			t.Fatalf("%s: consistent list: %v", n.Name, err)
		}
		if err := checkSurvived(got, acked, unknown); err != nil {
			t.Errorf("%s (?consistent): %v", n.Name, err)
		}
	}

	// The old leader comes back as a follower and catches up.
	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitHealthy(ctx, c.Nodes...); err != nil {
		t.Fatalf("cluster did not recover after restarting %s: %v", old.Name, err)
	}
	cl := c.Client(old, 10*time.Second)
	defer cl.Close()
	err = retry(ctx, func() error {
		got, err := cl.List(ctx, "jepsen-ll/", ReadStale)
		if err != nil {
			return err
		}
		return checkSurvived(got, acked, unknown)
	})
	if err != nil {
		t.Errorf("restarted %s (?stale) never caught up: %v", old.Name, err)
	}
}
