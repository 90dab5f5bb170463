package jepsen

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPartition runs three servers, each in a network namespace of its
// own, and cuts the leader's cluster link (the test still reaches every
// HTTP API over a separate link):
//
//   - the minority side (the old leader) acknowledges no write: each one
//     fails (500 "No cluster leader", or no answer within the timeout);
//   - the majority elects a leader of its own and takes writes;
//   - after healing, every node converges to the same data (read with
//     ?stale from each), every acknowledged write is there, and none of
//     the writes tried on the minority is.
func TestPartition(t *testing.T) {
	needNetNS(t)
	needCluster(t)
	ctx := testContext(t, 3*time.Minute)
	nn, err := NewNetNS(3)
	if err != nil {
		t.Fatal(err)
	}
	c := StartCluster(t, ClusterConfig{Bin: binary, Servers: 3, Network: nn})
	old, err := c.LeaderOf(ctx, c.Nodes...)
	if err != nil {
		t.Fatal(err)
	}
	majority := c.Others(old)

	l := newLedger()
	write := func(ctx context.Context, n *Node, prefix string, count int) {
		t.Helper()
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		cl := c.Client(n, 5*time.Second)
		defer cl.Close()
		target := l.ackedCount() + count
		go writeLoop(wctx, cl, prefix, l)
		if err := l.waitAcked(ctx, target); err != nil {
			t.Fatalf("writes through %s: %v", n.Name, err)
		}
	}
	for _, n := range c.Nodes {
		write(ctx, n, "jepsen-part/before-"+n.Name, 20)
	}

	if err := nn.Isolate(old.Index); err != nil {
		t.Fatal(err)
	}
	t.Logf("cut leader %s off from %s", old.Name, names(majority))

	// The minority is written to the whole time the majority recovers.
	var minority minorityWrites
	mctx, stopMinority := context.WithCancel(ctx)
	var mwg sync.WaitGroup
	mwg.Add(1)
	go func() {
		defer mwg.Done()
		minority.run(mctx, c.Client(old, 5*time.Second))
	}()

	if err := c.WaitHealthy(ctx, majority...); err != nil {
		t.Fatalf("majority %s elected no leader: %v", names(majority), err)
	}
	leader, err := c.LeaderOf(ctx, majority...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("majority leader: %s", leader.Name)
	for _, n := range majority {
		write(ctx, n, "jepsen-part/during-"+n.Name, 20)
	}
	// At least a few minority writes must have been answered or timed out
	// after the majority moved on, or the minority check proved nothing.
	if err := minority.waitAttempts(ctx, 3); err != nil {
		t.Fatal(err)
	}
	stopMinority()
	mwg.Wait()
	t.Logf("minority %s: %s", old.Name, minority.summary())
	if len(minority.acked) > 0 {
		t.Errorf("minority %s acknowledged %d write(s) while cut off, first %v", old.Name, len(minority.acked), first(minority.acked, 5))
	}

	if err := nn.Heal(old.Index); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitHealthy(ctx, c.Nodes...); err != nil {
		t.Fatalf("cluster did not heal: %v", err)
	}
	acked, unknown := l.snapshot()
	// Minority writes must be gone: only an isolated node ever held them.
	err = retry(ctx, func() error {
		var views []map[string]string
		for _, n := range c.Nodes {
			cl := c.Client(n, 5*time.Second)
			got, err := cl.List(ctx, "jepsen-part/", ReadStale)
			cl.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", n.Name, err)
			}
			if err := checkSurvived(got, acked, unknown); err != nil {
				return fmt.Errorf("%s (?stale): %w", n.Name, err)
			}
			views = append(views, got)
		}
		for i := 1; i < len(views); i++ {
			if !reflect.DeepEqual(views[0], views[i]) {
				return fmt.Errorf("%s and %s differ", c.Nodes[0].Name, c.Nodes[i].Name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("nodes did not converge after healing: %v", err)
	}
	t.Logf("converged: %d acknowledged writes on every node", len(acked))
}

// minorityWrites tries writes on the cut-off side and sorts the outcomes.
type minorityWrites struct {
	mu       sync.Mutex
	acked    []string
	noLeader int      // 500 "No cluster leader"
	timeouts int      // no answer within the client timeout
	other    []string // any other refusal
	notify   chan struct{}
}

func (m *minorityWrites) run(ctx context.Context, cl *Client) {
	defer cl.Close()
	for seq := 0; ctx.Err() == nil; seq++ {
		key := fmt.Sprintf("jepsen-part/minority/%05d", seq)
		ok, err := cl.Put(ctx, key, "minority", nil)
		if ctx.Err() != nil {
			return // cancelled mid-request: no verdict
		}
		m.mu.Lock()
		var he *HTTPError
		switch {
		case err == nil && ok:
			m.acked = append(m.acked, key)
		case err == nil:
			m.other = append(m.other, "false")
		case errors.As(err, &he) && he.Status == 500 && strings.Contains(he.Body, "No cluster leader"):
			m.noLeader++
		case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout"):
			m.timeouts++
		default:
			m.other = append(m.other, err.Error())
		}
		if m.notify != nil {
			select {
			case m.notify <- struct{}{}:
			default:
			}
		}
		m.mu.Unlock()
		if err != nil {
			wait(ctx, 50*time.Millisecond) // pacing
		}
	}
}

func (m *minorityWrites) attempts() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.acked) + m.noLeader + m.timeouts + len(m.other)
}

// waitAttempts waits for n more finished attempts from now.
func (m *minorityWrites) waitAttempts(ctx context.Context, n int) error {
	m.mu.Lock()
	m.notify = make(chan struct{}, 1)
	ch := m.notify
	m.mu.Unlock()
	target := m.attempts() + n
	for m.attempts() < target {
		select {
		case <-ctx.Done():
			return fmt.Errorf("minority writes: only %d attempts finished: %w", m.attempts(), ctx.Err())
		case <-ch:
		}
	}
	return nil
}

func (m *minorityWrites) summary() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fmt.Sprintf("%d acknowledged, %d refused with 500 \"No cluster leader\", %d timed out, %d other refusals %v",
		len(m.acked), m.noLeader, m.timeouts, len(m.other), first(m.other, 3))
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
