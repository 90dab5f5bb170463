package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"

	"conclave/bench/internal/benchutil"
)

// startEtcd starts a single-member etcd on loopback with its default
// durability (WAL fsync on every commit), the peer bench/kv also uses.
func startEtcd(ctx context.Context, bin, root string) (*benchutil.Server, *clientv3.Client, error) {
	ports, err := benchutil.FreePorts(2)
	if err != nil {
		return nil, nil, err
	}
	clientURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	e, err := benchutil.Start(bin, filepath.Join(root, "etcd.log"),
		"--name", "bench", "--data-dir", filepath.Join(root, "etcd"),
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "bench="+peerURL, "--initial-cluster-state", "new",
		"--logger", "zap", "--log-level", "warn")
	if err != nil {
		return nil, nil, err
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{clientURL}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		e.Stop()
		return nil, nil, e.Failure(fmt.Errorf("etcd client: %w", err))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := cli.Put(pctx, "bench/ready", "1")
		cancel()
		if err == nil {
			return e, cli, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			cli.Close()
			e.Stop()
			return nil, nil, e.Failure(fmt.Errorf("etcd not ready after 30s: %w", err))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// etcdHandoff is the hand-off run with etcd's lock recipe
// (concurrency.Mutex): each contender takes a new session (lease) per
// acquisition, as a lock tool run once per job would, and runs the same
// child through /bin/sh -c, as `conclave lock` does. Only the lock tool's
// own process start is missing (etcd's Debian package ships no etcdctl),
// and that is not on the hand-off path: the waiter is already running.
func etcdHandoff(ctx context.Context, cli *clientv3.Client, self, root string, o options) ([]time.Duration, error) {
	rec := filepath.Join(root, "etcd-handoff.log")
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil && runCtx.Err() == nil {
			first = err
		}
		stop()
	}
	for r := range o.contenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			line := strings.Join([]string{self, "-record", rec, "-id", strconv.Itoa(r), "-hold", o.hold.String()}, " ")
			for runCtx.Err() == nil {
				s, err := concurrency.NewSession(cli, concurrency.WithTTL(15), concurrency.WithContext(runCtx))
				if err != nil {
					fail(fmt.Errorf("etcd session: %w", err))
					return
				}
				m := concurrency.NewMutex(s, "bench/handoff")
				if err := m.Lock(runCtx); err != nil {
					s.Close()
					if !errors.Is(err, context.Canceled) {
						fail(fmt.Errorf("etcd lock: %w", err))
					}
					return
				}
				if out, err := exec.Command("/bin/sh", "-c", line).CombinedOutput(); err != nil {
					fail(fmt.Errorf("child: %w: %s", err, out))
				}
				uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err = m.Unlock(uctx)
				cancel()
				s.Close()
				if err != nil {
					fail(fmt.Errorf("etcd unlock: %w", err))
					return
				}
			}
		}()
	}
	for countStarts(rec) < o.handoffs+1 && runCtx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	end := monoNow()
	stop()
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return handoffs(rec, end)
}

// etcdLeases creates n leases (etcd's sessions) on c goroutines, then
// revokes them: the rates per second.
func etcdLeases(ctx context.Context, cli *clientv3.Client, o options) (created, revoked float64, err error) {
	ids := make([]clientv3.LeaseID, o.sessions)
	start := time.Now()
	err = benchutil.Parallel(o.sessions, o.concurrency, func(i int) error {
		l, err := cli.Grant(ctx, 60)
		if err != nil {
			return fmt.Errorf("etcd lease grant: %w", err)
		}
		ids[i] = l.ID
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	created = float64(o.sessions) / time.Since(start).Seconds()
	start = time.Now()
	err = benchutil.Parallel(o.sessions, o.concurrency, func(i int) error {
		if _, err := cli.Revoke(ctx, ids[i]); err != nil {
			return fmt.Errorf("etcd lease revoke: %w", err)
		}
		return nil
	})
	return created, float64(o.sessions) / time.Since(start).Seconds(), err
}
