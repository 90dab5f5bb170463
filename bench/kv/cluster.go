package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// This file holds the multi-process scenarios: -scenario cluster (3-server
// conclave vs 3-member etcd, same KV load as the single-node run) and the
// helpers that start conclave agents on loopback IPs of their own, which
// -scenario gossip and -scenario failover share.

// clusterIP is the loopback address of member i (0-based) of a group;
// groups keep the scenarios' agents apart from each other and from the
// 127.0.0.1 the single-node run uses.
func clusterIP(group, i int) string { return fmt.Sprintf("127.0.%d.%d", group, i+1) }

// freePortsOn picks n ports free for TCP and UDP on ip, none handed out
// before in this run.
func freePortsOn(ip string, n int) ([]int, error) {
	ports.mu.Lock()
	defer ports.mu.Unlock()
	var out []int
	var held []func() error
	defer func() {
		for _, c := range held {
			c()
		}
	}()
	for tries := 0; len(out) < n; tries++ {
		if tries > 50*n {
			return nil, fmt.Errorf("no free ports on %s", ip)
		}
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil || ports.used[port] {
			l.Close()
			if u != nil {
				u.Close()
			}
			continue
		}
		held = append(held, l.Close, u.Close)
		ports.used[port] = true
		out = append(out, port)
	}
	return out, nil
}

// agentSpec is one conclave agent of a multi-agent scenario.
type agentSpec struct {
	name   string
	ip     string
	ports  conclavePorts
	server bool
	dir    string
	argv   []string // of the last start, for a restart
	p      *proc
}

func (a *agentSpec) base() string {
	return "http://" + net.JoinHostPort(a.ip, strconv.Itoa(a.ports.http))
}
func (a *agentSpec) serfAddr() string { return net.JoinHostPort(a.ip, strconv.Itoa(a.ports.serfLAN)) }
func (a *agentSpec) serverAddr() string {
	return net.JoinHostPort(a.ip, strconv.Itoa(a.ports.server))
}

func newAgentSpec(root, name, ip string, server bool) (*agentSpec, error) {
	pp, err := freePortsOn(ip, 5)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return nil, err
	}
	return &agentSpec{
		name: name, ip: ip, server: server, dir: dir,
		ports: conclavePorts{http: pp[0], dns: pp[1], server: pp[2], serfLAN: pp[3], serfWAN: pp[4]},
	}, nil
}

// args is the agent's command line; join lists serf addresses to
// -retry-join; extra goes last.
func (a *agentSpec) args(join []string, extra ...string) []string {
	args := []string{"agent",
		"-data-dir", filepath.Join(a.dir, "data"),
		"-node", a.name,
		"-bind", a.ip,
		"-client", a.ip,
		"-log-level", "warn",
	}
	if a.server {
		args = append(args, "-server")
	}
	args = append(args, a.ports.args()...)
	for _, j := range join {
		args = append(args, "-retry-join", j)
	}
	return append(args, extra...)
}

func (b *bench) startAgent(a *agentSpec, bin string, args []string) error {
	p, err := startProc("conclave "+a.name, a.dir, filepath.Join(a.dir, "agent.log"), bin, args...)
	if err != nil {
		return err
	}
	b.track(p)
	a.p, a.argv = p, args
	return nil
}

// startServers starts n conclave servers with -bootstrap-expect n, each
// joining the others, and waits until they agree on a leader and list n
// raft peers. extra is added to every server's arguments. The servers are
// returned also with an error; those with a process (a.p) are to be stopped.
func (b *bench) startServers(ctx context.Context, bin string, group, n int, extra ...string) ([]*agentSpec, error) {
	var servers []*agentSpec
	for i := 0; i < n; i++ {
		a, err := newAgentSpec(b.root, fmt.Sprintf("server%d-%d", group, i+1), clusterIP(group, i), true)
		if err != nil {
			return nil, err
		}
		servers = append(servers, a)
	}
	for _, a := range servers {
		var join []string
		for _, o := range servers {
			if o != a {
				join = append(join, o.serfAddr())
			}
		}
		args := a.args(join, append([]string{"-bootstrap-expect", strconv.Itoa(n), "-retry-interval", "1s"}, extra...)...)
		if err := b.startAgent(a, bin, args); err != nil {
			return servers, err // those with a.p set were started: stop them
		}
	}
	hc := &http.Client{Transport: newTransport(4), Timeout: 2 * time.Second}
	defer hc.CloseIdleConnections()
	err := waitFor(ctx, servers[0].p, 90*time.Second, 50*time.Millisecond, func(ctx context.Context) error {
		_, err := clusterHealthy(ctx, hc, servers, n)
		return err
	})
	return servers, err
}

// clusterHealthy checks that the given servers agree on a leader among
// them, each lists want raft peers, and each takes a write; it returns the
// leader.
func clusterHealthy(ctx context.Context, hc *http.Client, servers []*agentSpec, want int) (*agentSpec, error) {
	var leader string
	for _, a := range servers {
		if a.p.exited() {
			return nil, a.p.failure(fmt.Errorf("%s exited", a.name))
		}
		var l string
		if err := getJSON(ctx, hc, a.base()+"/v1/status/leader", &l); err != nil {
			return nil, fmt.Errorf("%s: %w", a.name, err)
		}
		if l == "" || (leader != "" && l != leader) {
			return nil, fmt.Errorf("%s: leader %q (others: %q)", a.name, l, leader)
		}
		leader = l
		var peers []string
		if err := getJSON(ctx, hc, a.base()+"/v1/status/peers", &peers); err != nil {
			return nil, fmt.Errorf("%s: %w", a.name, err)
		}
		if len(peers) != want {
			return nil, fmt.Errorf("%s: %d raft peers, want %d", a.name, len(peers), want)
		}
		body, status, err := doHTTP(ctx, hc, http.MethodPut, a.base()+"/v1/kv/bench/ready-"+a.name, []byte("1"))
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK || string(bytes.TrimSpace(body)) != "true" {
			return nil, fmt.Errorf("%s: PUT: HTTP %d: %s", a.name, status, trim(body))
		}
	}
	for _, a := range servers {
		if a.serverAddr() == leader {
			return a, nil
		}
	}
	return nil, fmt.Errorf("leader %q is none of the servers", leader)
}

func getJSON(ctx context.Context, hc *http.Client, url string, v any) error {
	body, status, err := doHTTP(ctx, hc, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d: %s", url, status, trim(body))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w: %s", url, err, trim(body))
	}
	return nil
}

// runClusterScenario is -scenario cluster: the same load as the default
// run, interleaved the same way, against a 3-server conclave cluster and a
// 3-member etcd cluster, both running for the whole measurement.
func (b *bench) runClusterScenario(ctx context.Context) int {
	fmt.Printf("\nKV benchmark, 3-server clusters: %d clients, %d-byte values, %d keys, %d measured ops per kind in %d interleaved rounds (after %d warm-up), %d CPUs\n",
		b.o.clients, b.o.valueSize, b.o.keys, b.o.ops, b.o.rounds, b.o.warmup, numCPU())
	b.o.skipDev = true // the -dev figures belong to the single-node run
	return b.compare(ctx, " cluster", b.startEtcdCluster, b.startConclaveCluster)
}

// startConclaveCluster starts three durable servers on 127.0.2.1-3; the
// clients spread over the three (a follower forwards to the leader, as for
// any Consul client talking to its local server).
func (b *bench) startConclaveCluster(ctx context.Context, s *sut) error {
	bin, err := filepath.Abs(b.o.conclaveBin)
	if err != nil {
		return err
	}
	t0 := time.Now()
	var extra []string
	if b.o.profileDir != "" {
		cfg := filepath.Join(b.root, "debug.json")
		if err := os.WriteFile(cfg, []byte(`{"enable_debug": true}`), 0o600); err != nil {
			return err
		}
		extra = []string{"-config-file", cfg}
	}
	servers, err := b.startServers(ctx, bin, 2, 3, extra...)
	for _, a := range servers {
		if a.p != nil {
			s.procs = append(s.procs, a.p)
		}
	}
	if err != nil {
		return err
	}
	fmt.Printf("conclave 3-server cluster ready in %s\n", fmtDur(time.Since(t0)))

	t := &httpTarget{hc: &http.Client{Transport: newTransport(b.o.clients), Timeout: 10 * time.Second}, urls: map[string]string{}}
	s.closers = append(s.closers, t.hc.CloseIdleConnections)
	via := servers
	if b.o.clusterVia == "leader" {
		// Diagnostic: no follower forwarding at all.
		hc := &http.Client{Transport: newTransport(4), Timeout: 2 * time.Second}
		leader, err := clusterHealthy(ctx, hc, servers, len(servers))
		hc.CloseIdleConnections()
		if err != nil {
			return err
		}
		via = []*agentSpec{leader}
		fmt.Printf("conclave: every request goes to the leader, %s (-cluster-via leader)\n", leader.name)
	}
	for i, k := range b.keys {
		t.urls[k] = via[i%len(via)].base() + "/v1/kv/" + k
	}
	if b.o.profileDir != "" {
		// One 2 s CPU profile per server as each measured conclave phase
		// starts. A server runs one CPU profile at a time, so the previous
		// phase's profiles are awaited first (before the phase's clock
		// starts); the servers are stopped only after the last ones.
		var wg sync.WaitGroup
		s.closers = append(s.closers, wg.Wait)
		s.onPhase = func(ctx context.Context, kind string, round int) {
			wg.Wait()
			for _, a := range servers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					saveProfile(ctx, a.base()+"/debug/pprof/profile?seconds=2",
						filepath.Join(b.o.profileDir, fmt.Sprintf("%s-r%d-%s.pprof", kind, round, a.name)))
				}()
			}
		}
	}
	s.target = t
	return nil
}

// startEtcdCluster starts a 3-member etcd cluster on 127.0.3.1-3 (default
// durability), loaded through a client that knows all three members.
func (b *bench) startEtcdCluster(ctx context.Context, s *sut) error {
	if _, err := os.Stat(b.o.etcdBin); err != nil {
		return fmt.Errorf("etcd binary: %w", err)
	}
	type member struct {
		name, dir, client, peer string
		p                       *proc
	}
	var ms []*member
	var initial []string
	for i := 0; i < 3; i++ {
		ip := clusterIP(3, i)
		pp, err := freePortsOn(ip, 2)
		if err != nil {
			return err
		}
		m := &member{
			name:   fmt.Sprintf("etcd%d", i+1),
			dir:    filepath.Join(b.root, fmt.Sprintf("etcd%d", i+1)),
			client: fmt.Sprintf("http://%s:%d", ip, pp[0]),
			peer:   fmt.Sprintf("http://%s:%d", ip, pp[1]),
		}
		if err := os.MkdirAll(m.dir, 0o700); err != nil {
			return err
		}
		ms = append(ms, m)
		initial = append(initial, m.name+"="+m.peer)
	}
	var endpoints []string
	for _, m := range ms {
		p, err := startProc(m.name, m.dir, filepath.Join(m.dir, "etcd.log"), b.o.etcdBin,
			"--name", m.name,
			"--data-dir", filepath.Join(m.dir, "data"),
			"--listen-client-urls", m.client,
			"--advertise-client-urls", m.client,
			"--listen-peer-urls", m.peer,
			"--initial-advertise-peer-urls", m.peer,
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-state", "new",
			"--initial-cluster-token", "conclave-bench-cluster",
			"--logger", "zap",
			"--log-level", "warn",
		)
		if err != nil {
			return err
		}
		b.track(p)
		s.procs = append(s.procs, p)
		m.p = p
		endpoints = append(endpoints, m.client)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return fmt.Errorf("etcd client: %w", err)
	}
	s.closers = append(s.closers, func() { cli.Close() })
	t0 := time.Now()
	err = waitFor(ctx, ms[0].p, 60*time.Second, 50*time.Millisecond, func(ctx context.Context) error {
		for _, m := range ms {
			if m.p.exited() {
				return m.p.failure(fmt.Errorf("%s exited", m.name))
			}
		}
		_, err := cli.Put(ctx, "bench/ready", "1")
		return err
	})
	if err != nil {
		return err
	}
	fmt.Printf("etcd %s 3-member cluster ready in %s\n", etcdVersion(b.o.etcdBin), fmtDur(time.Since(t0)))
	s.target = &etcdTarget{clients: []*clientv3.Client{cli}}
	return nil
}

// stopAgents stops agents concurrently (50 one after another would take a
// while when some ignore SIGTERM).
func stopAgents(as []*agentSpec) {
	var wg sync.WaitGroup
	for _, a := range as {
		if a.p == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.p.stop(5 * time.Second)
		}()
	}
	wg.Wait()
}

// saveProfile fetches one profile into path, reporting a failure on stderr
// only: profiles are a diagnostic.
func saveProfile(ctx context.Context, url, path string) {
	body, status, err := doHTTP(ctx, &http.Client{Timeout: time.Minute}, http.MethodGet, url, nil)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("HTTP %d: %s", status, trim(body))
	}
	if err == nil {
		err = os.WriteFile(path, body, 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kv: profile %s: %v\n", url, err)
	}
}
