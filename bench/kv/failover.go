package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// runFailoverScenario is -scenario failover: three durable servers with
// raft_multiplier = 1 (127.0.5.1-3). Each trial SIGKILLs the leader and
// times how long until a write through a survivor is acknowledged, then
// restarts the killed server and waits for a healthy cluster again.
func (b *bench) runFailoverScenario(ctx context.Context) int {
	fmt.Printf("\nLeader failover: 3 servers, raft_multiplier = 1, %d trials, %d CPUs\n", b.o.failoverRuns, numCPU())
	times, err := b.failover(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kv: failover:", err)
	}
	if len(times) > 0 {
		var runs []string
		worst := times[0]
		for _, d := range times {
			runs = append(runs, fmtDur(d))
			worst = max(worst, d)
		}
		fmt.Printf("leader SIGKILL -> first acknowledged write = %s median, %s max of %d (target <= 3s) %s  [runs: %s]\n",
			fmtDur(medianDur(times)), fmtDur(worst), len(times), verdict(worst <= 3*time.Second), strings.Join(runs, " "))
	} else {
		fmt.Println("leader SIGKILL -> first acknowledged write = n/a (target <= 3s)")
	}
	if err != nil {
		return 1
	}
	return 0
}

func (b *bench) failover(ctx context.Context) ([]time.Duration, error) {
	bin, err := filepath.Abs(b.o.conclaveBin)
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(b.root, "failover.json")
	if err := os.WriteFile(cfg, []byte(`{"performance": {"raft_multiplier": 1}}`+"\n"), 0o600); err != nil {
		return nil, err
	}
	servers, err := b.startServers(ctx, bin, 5, 3, "-config-file", cfg)
	defer func() { stopAgents(servers) }()
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Transport: newTransport(4), Timeout: 2 * time.Second}
	defer hc.CloseIdleConnections()
	// Writes during the election give up after a second and try again, so
	// one stuck on a dead connection does not hide the moment it works.
	wc := &http.Client{Transport: newTransport(4), Timeout: time.Second}
	defer wc.CloseIdleConnections()

	var times []time.Duration
	for trial := 1; trial <= b.o.failoverRuns; trial++ {
		var leader *agentSpec
		err := waitFor(ctx, nil, 90*time.Second, 50*time.Millisecond, func(ctx context.Context) error {
			l, err := clusterHealthy(ctx, hc, servers, 3)
			leader = l
			return err
		})
		if err != nil {
			return times, fmt.Errorf("trial %d: cluster not healthy: %w", trial, err)
		}
		var survivors []*agentSpec
		for _, a := range servers {
			if a != leader {
				survivors = append(survivors, a)
			}
		}
		t0 := time.Now()
		if err := leader.p.kill(); err != nil {
			return times, err
		}
		var d time.Duration
		for i := 0; ; i++ {
			if err := ctx.Err(); err != nil {
				return times, err
			}
			if time.Since(t0) > 60*time.Second {
				return times, fmt.Errorf("trial %d: no write acknowledged within 60s of killing %s", trial, leader.name)
			}
			a := survivors[i%len(survivors)]
			body, status, err := doHTTP(ctx, wc, http.MethodPut, a.base()+"/v1/kv/bench/failover", []byte(fmt.Sprint(trial)))
			if err == nil && status == http.StatusOK && string(bytes.TrimSpace(body)) == "true" {
				d = time.Since(t0)
				break
			}
			if err != nil || status != http.StatusOK {
				// Pacing while there is no leader; 10 ms is the resolution.
				time.Sleep(10 * time.Millisecond)
			}
		}
		times = append(times, d)
		fmt.Printf("failover trial %d: killed leader %s, write acknowledged after %s\n", trial, leader.name, fmtDur(d))
		if err := b.startAgent(leader, bin, leader.argv); err != nil {
			return times, err
		}
	}
	return times, nil
}
