package jepsen

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// ledger remembers every write made to unique keys: the acknowledged ones
// must survive, the ones with a lost answer may or may not.
type ledger struct {
	mu      sync.Mutex
	acked   map[string]string
	unknown map[string]string
	ackCh   chan struct{} // receives (without blocking) on every ack
}

func newLedger() *ledger {
	return &ledger{acked: map[string]string{}, unknown: map[string]string{}, ackCh: make(chan struct{}, 1)}
}

func (l *ledger) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

func (l *ledger) snapshot() (acked, unknown map[string]string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.acked), maps.Clone(l.unknown)
}

// waitAcked blocks until n writes are acknowledged or ctx ends.
func (l *ledger) waitAcked(ctx context.Context, n int) error {
	for l.ackedCount() < n {
		select {
		case <-ctx.Done():
			return fmt.Errorf("only %d of %d writes acknowledged: %w", l.ackedCount(), n, ctx.Err())
		case <-l.ackCh:
		}
	}
	return nil
}

// writeLoop writes prefix/<seq> = <seq>@<addr> through cl until ctx ends,
// one key per write, and records each outcome in l.
func writeLoop(ctx context.Context, cl *Client, prefix string, l *ledger) {
	for seq := 0; ctx.Err() == nil; seq++ {
		key := fmt.Sprintf("%s/%05d", prefix, seq)
		val := fmt.Sprintf("%d@%s", seq, cl.Addr())
		ok, err := cl.Put(ctx, key, val, nil)
		l.mu.Lock()
		switch {
		case err == nil && ok:
			l.acked[key] = val
		case err != nil && !NotSent(err):
			l.unknown[key] = val
		}
		l.mu.Unlock()
		if err == nil && ok {
			select {
			case l.ackCh <- struct{}{}:
			default:
			}
		} else {
			// Pacing while there is no leader, not synchronisation.
			wait(ctx, 50*time.Millisecond)
		}
	}
}

// checkSurvived compares what a node holds under prefix with the ledger:
// every acknowledged write with its value, and nothing that was never
// written. A write with a lost answer may be there or not.
func checkSurvived(got, acked, unknown map[string]string) error {
	var problems []string
	for k, v := range acked {
		if g, ok := got[k]; !ok {
			problems = append(problems, fmt.Sprintf("acknowledged %s=%q is missing", k, v))
		} else if g != v {
			problems = append(problems, fmt.Sprintf("acknowledged %s=%q reads %q", k, v, g))
		}
	}
	for k, g := range got {
		if _, ok := acked[k]; ok {
			continue
		}
		if v, ok := unknown[k]; !ok || v != g {
			problems = append(problems, fmt.Sprintf("%s=%q was never written", k, g))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	if len(problems) > 10 {
		problems = append(problems[:10], fmt.Sprintf("... and %d more", len(problems)-10))
	}
	return fmt.Errorf("%d problem(s):\n  %s", len(problems), strings.Join(problems, "\n  "))
}

// testContext is a context that ends a little before the test's deadline,
// so failures are reported instead of the test binary being killed.
func testContext(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	dl := time.Now().Add(limit)
	if tdl, ok := t.Deadline(); ok && tdl.Add(-20*time.Second).Before(dl) {
		dl = tdl.Add(-20 * time.Second)
	}
	ctx, cancel := context.WithDeadline(context.Background(), dl)
	t.Cleanup(cancel)
	return ctx
}
