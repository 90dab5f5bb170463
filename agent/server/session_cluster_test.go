package server_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/agent/config"
	"conclave/internal/testutil"
)

// TestSessionTTLAcrossLeaderChange stops the leader of a 3-server cluster
// while sessions with TTLs are live. Sessions that keep renewing must all
// survive the election (the new leader starts every timer afresh from the
// stored TTL, with the ×2 grace), and sessions nobody renews must still be
// invalidated (by the new leader's timers: they were created just before
// the stop, well inside the old leader's first timer).
func TestSessionTTLAcrossLeaderChange(t *testing.T) {
	t.Parallel()
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 3, NamePrefix: "sttl-",
		Tweak: func(cfg *config.Config) { cfg.SessionTTLMin = time.Second }})
	leader := c.Leader()
	if leader == nil {
		t.Fatal("no leader")
	}
	follower := c.Followers()[0]
	cl, err := api.NewClient(&api.Config{Address: follower.HTTPAddr()})
	if err != nil {
		t.Fatalf("api.NewClient() = %v", err)
	}
	sessions := cl.Session()
	// Sessions without checks: the stopped leader's serfHealth going
	// critical must not be what ends them.
	create := func(ttl string) string {
		t.Helper()
		var id string
		testutil.Retry(t, 10*time.Second, func() error {
			var err error
			id, _, err = sessions.CreateNoChecks(&api.SessionEntry{Node: follower.Config.NodeName, TTL: ttl}, nil)
			return err
		})
		return id
	}
	const live, expiring = 100, 5
	var liveIDs, expIDs []string
	for range live {
		liveIDs = append(liveIDs, create("5s"))
	}

	// Renew the live sessions every second until the test ends; a renewal
	// that fails during the election is retried on the next round, well
	// inside the 10s grace.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for _, id := range liveIDs {
				_, _, _ = sessions.Renew(id, nil)
			}
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait() })

	for range expiring {
		expIDs = append(expIDs, create("1s"))
	}
	if err := leader.Shutdown(); err != nil {
		t.Fatalf("leader.Shutdown() = %v", err)
	}

	exists := func(id string) (bool, error) {
		s, _, err := sessions.Info(id, nil)
		return s != nil, err
	}
	// Every unrenewed session goes once a new leader has run its timer.
	testutil.Retry(t, 60*time.Second, func() error {
		for _, id := range expIDs {
			if ok, err := exists(id); err != nil {
				return err
			} else if ok {
				return fmt.Errorf("unrenewed session %s still exists", id)
			}
		}
		return nil
	})
	// The new leader's timers for the live sessions (10s) started at
	// least as long ago as the unrenewed ones fired. Watch the session
	// list for two more grace periods with blocking reads: a live session
	// that lapsed would change it.
	_, meta, err := sessions.List(nil)
	if err != nil {
		t.Fatalf("Session().List() = %v", err)
	}
	for end := time.Now().Add(2 * 10 * time.Second); time.Now().Before(end); {
		var all []*api.SessionEntry
		testutil.Retry(t, 30*time.Second, func() error {
			var err error
			all, meta, err = sessions.List(&api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 5 * time.Second})
			return err
		})
		have := map[string]bool{}
		for _, s := range all {
			have[s.ID] = true
		}
		for _, id := range liveIDs {
			if !have[id] {
				t.Fatalf("renewed session %s was invalidated after the leader change", id)
			}
		}
	}
}
