package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Serf member status numbers, as /v1/agent/members reports them.
const (
	memberAlive  = 1
	memberFailed = 4
)

type member struct {
	Name   string
	Status int
}

// runGossipScenario is -scenario gossip: one server and -agents - 1 client
// agents, each on a loopback IP of its own (127.0.4.x). It prints how long
// after the clients were started every agent saw every other one alive,
// how long after one client's SIGKILL the others marked it failed, and the
// client agents' RSS after they have idled.
func (b *bench) runGossipScenario(ctx context.Context) int {
	fmt.Printf("\nGossip: 1 server + %d client agents on one machine, %d CPUs\n", b.o.agents-1, numCPU())
	res, err := b.gossip(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kv: gossip:", err)
	}
	if res.converge > 0 {
		fmt.Printf("full membership = %s after the %d clients were started (every agent sees %d alive; the last agent answered HTTP at %s; target <= 3s) %s\n",
			fmtDur(res.converge), b.o.agents-1, b.o.agents, fmtDur(res.allUp), verdict(res.converge <= 3*time.Second))
	} else {
		fmt.Println("full membership = n/a (target <= 3s)")
	}
	if res.failedAll > 0 {
		fmt.Printf("SIGKILLed agent marked failed = %s by the server, %s by all %d others (target <= 10s) %s\n",
			fmtDur(res.failedServer), fmtDur(res.failedAll), b.o.agents-2, verdict(res.failedAll <= 10*time.Second))
	} else {
		fmt.Println("SIGKILLed agent marked failed = n/a (target <= 10s)")
	}
	if len(res.rssKB) > 0 {
		med, top := medianInt(res.rssKB), slicesMax(res.rssKB)
		fmt.Printf("client agent RSS = %.1f MiB median, %.1f MiB max of %d (VmRSS after %s idle in a %d-agent cluster; target <= 30 MB = 28.6 MiB) %s\n",
			float64(med)/1024, float64(top)/1024, len(res.rssKB), b.o.idle, b.o.agents, verdict(float64(med)*1024 <= 30e6))
	} else {
		fmt.Println("client agent RSS = n/a (target <= 30 MB)")
	}
	if err != nil {
		return 1
	}
	return 0
}

type gossipResult struct {
	converge, failedServer, failedAll time.Duration
	allUp                             time.Duration // every agent answered HTTP
	rssKB                             []int64
}

func (b *bench) gossip(ctx context.Context) (gossipResult, error) {
	var res gossipResult
	bin, err := filepath.Abs(b.o.conclaveBin)
	if err != nil {
		return res, err
	}
	const group = 4
	var agents []*agentSpec
	defer func() { stopAgents(agents) }()
	for i := 0; i < b.o.agents; i++ {
		a, err := newAgentSpec(b.root, fmt.Sprintf("agent%02d", i+1), clusterIP(group, i), i == 0)
		if err != nil {
			return res, err
		}
		agents = append(agents, a)
	}
	server, clients := agents[0], agents[1:]

	// The server first, so every client's first join attempt can succeed.
	if err := b.startAgent(server, bin, server.args(nil, "-bootstrap")); err != nil {
		return res, err
	}
	hc := &http.Client{Transport: newTransport(16), Timeout: 2 * time.Second}
	defer hc.CloseIdleConnections()
	if err := waitFor(ctx, server.p, 60*time.Second, 20*time.Millisecond, func(ctx context.Context) error {
		return conclaveReady(ctx, hc, server.base(), "bench/gossip-ready")
	}); err != nil {
		return res, err
	}

	t0 := time.Now()
	for _, a := range clients {
		if err := b.startAgent(a, bin, a.args([]string{server.serfAddr()}, "-retry-interval", "1s")); err != nil {
			return res, err
		}
	}
	// Every agent must see every agent alive. On the way, note when the
	// last agent first answered at all, to tell start-up from gossip.
	var upMu sync.Mutex
	up := map[*agentSpec]bool{}
	err = pollAll(ctx, agents, 60*time.Second, func(ctx context.Context, a *agentSpec) (bool, error) {
		ms, err := members(ctx, hc, a)
		if err != nil {
			return false, err
		}
		upMu.Lock()
		if !up[a] {
			up[a] = true
			if len(up) == len(agents) {
				res.allUp = time.Since(t0)
			}
		}
		upMu.Unlock()
		alive, seen := 0, map[string]int{}
		for _, m := range ms {
			seen[m.Name] = m.Status
			if m.Status == memberAlive {
				alive++
			}
		}
		if alive == len(agents) {
			return true, nil
		}
		var missing []string
		for _, o := range agents {
			if st, ok := seen[o.name]; !ok || st != memberAlive {
				missing = append(missing, fmt.Sprintf("%s(status %d)", o.name, st))
			}
		}
		if len(missing) > 5 {
			missing = append(missing[:5], "...")
		}
		return false, fmt.Errorf("sees %d of %d alive; not alive: %v", alive, len(agents), missing)
	})
	if err != nil {
		return res, fmt.Errorf("full membership: %w", withLog(err))
	}
	res.converge = time.Since(t0)

	// RSS once the cluster has been idle a while.
	select {
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(b.o.idle):
	}
	for _, a := range clients {
		if a.p.exited() {
			return res, a.p.failure(fmt.Errorf("%s exited", a.name))
		}
		kb, err := rssKB(a.p.pid())
		if err != nil {
			return res, err
		}
		res.rssKB = append(res.rssKB, kb)
	}

	// Failure detection: kill the last client.
	victim := clients[len(clients)-1]
	observers := agents[:len(agents)-1]
	t1 := time.Now()
	if err := victim.p.kill(); err != nil { // no graceful leave
		return res, err
	}
	var once sync.Once
	err = pollAll(ctx, observers, 60*time.Second, func(ctx context.Context, a *agentSpec) (bool, error) {
		ms, err := members(ctx, hc, a)
		if err != nil {
			return false, err
		}
		for _, m := range ms {
			if m.Name == victim.name && m.Status == memberFailed {
				if a == server {
					once.Do(func() { res.failedServer = time.Since(t1) })
				}
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return res, fmt.Errorf("failure detection: %w", withLog(err))
	}
	res.failedAll = time.Since(t1)
	return res, nil
}

// pendingError names the first agent a poll gave up on.
type pendingError struct {
	error
	first *agentSpec
}

// withLog adds the log tail of the agent a poll gave up on.
func withLog(err error) error {
	var pe *pendingError
	if errors.As(err, &pe) && pe.first.p != nil {
		return fmt.Errorf("%w\n--- last lines of %s ---\n%s", err, pe.first.name, pe.first.p.logTail(30))
	}
	return err
}

func members(ctx context.Context, hc *http.Client, a *agentSpec) ([]member, error) {
	var ms []member
	err := getJSON(ctx, hc, a.base()+"/v1/agent/members", &ms)
	return ms, err
}

// pollPause separates polling rounds; with the round itself it is the
// resolution of the times measured.
const pollPause = 25 * time.Millisecond

// pollAll checks every agent until check reports true for all of them,
// polling those not yet done, a few at a time, one round every pollPause
// or so (the measurement's resolution).
func pollAll(ctx context.Context, agents []*agentSpec, limit time.Duration, check func(context.Context, *agentSpec) (bool, error)) error {
	deadline := time.Now().Add(limit)
	pending := append([]*agentSpec(nil), agents...)
	var lastErr error
	for len(pending) > 0 {
		if time.Now().After(deadline) {
			return &pendingError{fmt.Errorf("%d agents still pending after %s (first: %s; last error: %v)", len(pending), limit, pending[0].name, lastErr), pending[0]}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		var mu sync.Mutex
		var next []*agentSpec
		sem := make(chan struct{}, 8)
		var wg sync.WaitGroup
		for _, a := range pending {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				cctx, cancel := context.WithTimeout(ctx, time.Second)
				ok, err := check(cctx, a)
				cancel()
				if !ok {
					mu.Lock()
					next = append(next, a)
					if err != nil {
						lastErr = fmt.Errorf("%s: %w", a.name, err)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		sort.Slice(next, func(i, j int) bool { return next[i].name < next[j].name })
		pending = next
		if len(pending) > 0 {
			// A breather between rounds, so that polling 50 agents does
			// not take the CPU the agents need to start and gossip.
			time.Sleep(pollPause)
		}
	}
	return nil
}

// kill sends SIGKILL to the process group and waits for the exit.
func (p *proc) kill() error {
	if err := syscall.Kill(-p.pid(), syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s did not exit after SIGKILL", p.name)
	}
}

func slicesMax(xs []int64) int64 {
	m := xs[0]
	for _, x := range xs[1:] {
		m = max(m, x)
	}
	return m
}
