package jepsen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// nemesis injects one fault at a time: apply, hold, heal, wait for the
// cluster to recover, stay quiet a while, repeat.
type nemesis struct {
	w   *Workload
	c   *Cluster
	h   *History
	rng *rand.Rand

	// What is broken right now, for healAll.
	killed, paused, isolated map[*Node]bool
}

func (n *nemesis) init() {
	if n.killed == nil {
		n.killed, n.paused, n.isolated = map[*Node]bool{}, map[*Node]bool{}, map[*Node]bool{}
	}
}

// span draws a duration from [d/4, d].
func (n *nemesis) span(d time.Duration) time.Duration {
	return d/4 + time.Duration(n.rng.Int64N(int64(d-d/4)+1))
}

// wait holds for d unless ctx ends; it paces the scenario.
func wait(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func (n *nemesis) loop(ctx context.Context) error {
	n.init()
	if len(n.w.Faults) == 0 {
		<-ctx.Done()
		return nil
	}
	for {
		wait(ctx, n.span(n.w.QuietFor))
		if ctx.Err() != nil {
			return nil
		}
		f := n.w.Faults[n.rng.IntN(len(n.w.Faults))]
		target, err := n.pick(ctx, f)
		if err != nil {
			return err
		}
		start := n.h.Now()
		if err := n.apply(f, target); err != nil {
			return fmt.Errorf("%s %s: %w", f, target.Name, err)
		}
		n.w.Logf("nemesis: %s %s", f, target.Name)
		wait(ctx, n.span(n.w.FaultFor))
		if err := n.healAll(context.WithoutCancel(ctx)); err != nil {
			return err
		}
		n.h.Event(start, n.h.Now(), "%s %s", f, target.Name)
		n.w.Logf("nemesis: healed %s %s", f, target.Name)
		if ctx.Err() != nil {
			return nil
		}
		// Liveness: after every fault the cluster must come back.
		healed := time.Now()
		rctx, cancel := context.WithTimeout(ctx, n.w.RecoverWithin)
		err = n.c.WaitHealthy(rctx, n.c.Nodes...)
		cancel()
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("cluster did not recover within %s after %s %s: %w", n.w.RecoverWithin, f, target.Name, err)
		}
		n.w.Logf("nemesis: healthy again %s after healing", time.Since(healed).Round(time.Millisecond))
	}
}

// pick chooses the fault's target: the leader for *Leader faults, else any
// node.
func (n *nemesis) pick(ctx context.Context, f Fault) (*Node, error) {
	switch f {
	case FaultKillLeader, FaultPauseLeader, FaultPartLeader:
		var leader *Node
		err := retry(ctx, func() error {
			l, err := n.c.LeaderOf(ctx, n.c.Nodes...)
			leader = l
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				// The load ended while looking; any node will do.
				return n.c.Nodes[0], nil
			}
			return nil, fmt.Errorf("find the leader for %s: %w", f, err)
		}
		return leader, nil
	}
	return n.c.Nodes[n.rng.IntN(len(n.c.Nodes))], nil
}

func (n *nemesis) apply(f Fault, target *Node) error {
	switch f {
	case FaultKill, FaultKillLeader:
		n.killed[target] = true
		return target.Kill()
	case FaultPause, FaultPauseLeader:
		n.paused[target] = true
		return target.Pause()
	case FaultPartition, FaultPartLeader:
		n.isolated[target] = true
		return n.c.Network().Isolate(target.Index)
	}
	return fmt.Errorf("unknown fault %q", f)
}

// healAll undoes every fault in place: resumes paused nodes, heals cut
// links and restarts killed nodes (on the same data dir and ports).
func (n *nemesis) healAll(ctx context.Context) error {
	n.init()
	var errs []error
	for node := range n.paused {
		if err := node.Resume(); err != nil && node.Running() {
			errs = append(errs, err)
		}
		delete(n.paused, node)
	}
	for node := range n.isolated {
		if err := n.c.Network().Heal(node.Index); err != nil {
			errs = append(errs, err)
		}
		delete(n.isolated, node)
	}
	for node := range n.killed {
		if err := node.Start(); err != nil {
			errs = append(errs, err)
		}
		delete(n.killed, node)
	}
	return errors.Join(errs...)
}
