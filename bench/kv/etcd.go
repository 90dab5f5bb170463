package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// startEtcd starts a single-member etcd on loopback (default durability: WAL
// fsync on every commit) and waits until it takes a write.
func (b *bench) startEtcd(ctx context.Context, s *sut) error {
	if _, err := os.Stat(b.o.etcdBin); err != nil {
		return fmt.Errorf("etcd binary: %w", err)
	}
	dir := filepath.Join(b.root, "etcd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	pp, err := ports.getN(2)
	if err != nil {
		return err
	}
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", pp[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", pp[1])
	p, err := startProc("etcd", dir, filepath.Join(b.root, "etcd.log"), b.o.etcdBin,
		"--name", "bench",
		"--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", clientURL,
		"--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL,
		"--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "bench="+peerURL,
		"--initial-cluster-state", "new",
		"--initial-cluster-token", "conclave-bench",
		"--logger", "zap",
		"--log-level", "warn",
	)
	if err != nil {
		return err
	}
	b.track(p)
	s.procs = append(s.procs, p)

	clients := make([]*clientv3.Client, b.o.etcdConns)
	for i := range clients {
		c, err := clientv3.New(clientv3.Config{
			Endpoints:   []string{clientURL},
			DialTimeout: 5 * time.Second,
			Logger:      zap.NewNop(),
		})
		if err != nil {
			return p.failure(fmt.Errorf("etcd client: %w", err))
		}
		s.closers = append(s.closers, func() { c.Close() })
		clients[i] = c
	}

	t0 := time.Now()
	err = waitFor(ctx, p, 30*time.Second, 50*time.Millisecond, func(ctx context.Context) error {
		_, err := clients[0].Put(ctx, "bench/ready", "1")
		return err
	})
	if err != nil {
		return err
	}
	fmt.Printf("etcd %s ready in %s (client %s)\n", etcdVersion(b.o.etcdBin), fmtDur(time.Since(t0)), clientURL)
	s.target = &etcdTarget{clients: clients}
	return nil
}

type etcdTarget struct {
	clients []*clientv3.Client
}

func (t *etcdTarget) name() string { return "etcd" }

// client picks a connection by key so load spreads over -etcd-conns.
func (t *etcdTarget) client(key string) *clientv3.Client {
	if len(t.clients) == 1 {
		return t.clients[0]
	}
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h = (h ^ uint32(key[i])) * 16777619
	}
	return t.clients[int(h%uint32(len(t.clients)))]
}

func (t *etcdTarget) put(ctx context.Context, key string, value []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := t.client(key).Put(ctx, key, string(value))
	return err
}

// get is a linearizable read (clientv3's default).
func (t *etcdTarget) get(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := t.client(key).Get(ctx, key)
	if err != nil {
		return err
	}
	if len(resp.Kvs) != 1 {
		return fmt.Errorf("get %s: %d keys", key, len(resp.Kvs))
	}
	return nil
}
