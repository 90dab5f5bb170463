// Command kv is the `make bench` driver: it runs the same KV load against a
// single-member etcd and a single durable conclave server on loopback, prints
// both side by side with the conclave/etcd ratios, and measures how fast a
// `conclave agent -dev` becomes usable and how much memory it holds when idle.
//
// Both systems are started first and then measured interleaved in time: the
// measured operations are split into -rounds rounds, each round runs a PUT
// phase against each system and then a GET phase against each, and the
// system that goes first alternates from round to round. The machines this
// runs on are shared VMs whose speed drifts over tens of seconds (noisy
// neighbours, steal time); measuring one system after the other put that
// drift straight into the ratio (0.75x to 1.24x for the same build a minute
// apart). Interleaved, both systems see the same drift. The idle system
// costs little while the other one is loaded.
//
// It is a report, not a test: missed targets do not change the exit status.
// Exit status 1 means something could not run (a server did not start, too
// many operations failed, the run timed out, ...); 2 means bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type options struct {
	conclaveBin string
	etcdBin     string
	systems     string
	clients     int
	ops         int
	rounds      int
	warmup      int
	keys        int
	valueSize   int
	etcdConns   int
	devRuns     int
	idle        time.Duration
	skipDev     bool
	timeout     time.Duration
	tmpBase     string
	maxErrRate  float64

	// scenario picks the run: kv (the single-node comparison above),
	// cluster, gossip or failover (cluster.go, gossip.go, failover.go).
	scenario     string
	agents       int
	failoverRuns int
	clusterVia   string
	profileDir   string
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.conclaveBin, "conclave", "bench/.bin/conclave", "path to the conclave binary")
	flag.StringVar(&o.etcdBin, "etcd", "/usr/bin/etcd", "path to the etcd binary")
	flag.StringVar(&o.systems, "systems", "etcd,conclave", "comma-separated systems to load: etcd, conclave")
	flag.IntVar(&o.clients, "clients", 64, "concurrent clients")
	flag.IntVar(&o.ops, "ops", 100000, "measured operations of each kind (PUT, GET) per system")
	flag.IntVar(&o.rounds, "rounds", 5, "interleaved rounds the measured operations are split into (see the package comment)")
	flag.IntVar(&o.warmup, "warmup", 1000, "unmeasured warm-up operations of each kind per system, before the first round")
	flag.IntVar(&o.keys, "keys", 1000, "distinct keys (bench/k0000 ...)")
	flag.IntVar(&o.valueSize, "value-size", 128, "value size in bytes")
	flag.IntVar(&o.etcdConns, "etcd-conns", 1, "gRPC connections shared by the etcd clients")
	flag.IntVar(&o.devRuns, "dev-runs", 5, "runs of `conclave agent -dev` for the ready-time median")
	flag.DurationVar(&o.idle, "idle", 3*time.Second, "idle time before reading the dev agent's RSS")
	flag.BoolVar(&o.skipDev, "skip-dev", false, "skip the -dev ready time and idle RSS measurements")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "upper bound for the whole run")
	flag.StringVar(&o.tmpBase, "tmp", "", "parent directory for temporary data dirs (default: $TMPDIR or /tmp)")
	flag.Float64Var(&o.maxErrRate, "max-error-rate", 0.01, "fraction of failed operations above which a phase counts as not run")
	flag.StringVar(&o.scenario, "scenario", "kv", "what to run: kv (single node vs etcd), cluster (3 servers vs 3 etcd members), gossip (50 agents: membership, failure detection, client RSS), failover (leader kill to first write), floor (etcd vs an empty net/http server in conclave's place: the least an HTTP exchange costs)")
	flag.IntVar(&o.agents, "agents", 50, "agents in -scenario gossip (1 server, the rest clients)")
	flag.IntVar(&o.failoverRuns, "failover-runs", 5, "leader kills in -scenario failover")
	flag.StringVar(&o.clusterVia, "cluster-via", "spread", "-scenario cluster: send conclave requests to all servers (spread) or only to the leader (leader, a diagnostic)")
	flag.StringVar(&o.profileDir, "profile-dir", "", "-scenario cluster: start the conclave servers with enable_debug and save a CPU profile of each server per measured phase here (a diagnostic)")
	flag.Parse()
	switch o.scenario {
	case "kv", "cluster", "gossip", "failover", "floor":
	default:
		fmt.Fprintf(os.Stderr, "kv: unknown -scenario %q\n", o.scenario)
		os.Exit(2)
	}
	if o.agents < 3 || o.failoverRuns < 1 {
		fmt.Fprintln(os.Stderr, "kv: -agents must be at least 3 and -failover-runs positive")
		os.Exit(2)
	}
	if o.clients < 1 || o.ops < 1 || o.keys < 1 || o.valueSize < 1 || o.etcdConns < 1 || o.warmup < 0 || o.devRuns < 0 {
		fmt.Fprintln(os.Stderr, "kv: -clients, -ops, -keys, -value-size and -etcd-conns must be positive; -warmup and -dev-runs non-negative")
		os.Exit(2)
	}
	if o.rounds < 1 || o.rounds > o.ops {
		fmt.Fprintln(os.Stderr, "kv: -rounds must be between 1 and -ops")
		os.Exit(2)
	}
	for _, s := range splitSystems(o.systems) {
		if s != "etcd" && s != "conclave" {
			fmt.Fprintf(os.Stderr, "kv: unknown system %q in -systems\n", s)
			os.Exit(2)
		}
	}
	return o
}

func splitSystems(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (o options) has(system string) bool {
	for _, s := range splitSystems(o.systems) {
		if s == system {
			return true
		}
	}
	return false
}

func main() {
	if addr := os.Getenv(floorEnv); addr != "" {
		fmt.Fprintln(os.Stderr, "kv: floor server:", serveFloor(addr))
		os.Exit(1)
	}
	o := parseFlags()
	os.Exit(run(o))
}

func run(o options) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	root, err := os.MkdirTemp(o.tmpBase, "conclave-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "kv:", err)
		return 1
	}
	defer os.RemoveAll(root)

	b := &bench{o: o, root: root, value: makeValue(o.valueSize), keys: makeKeys(o.keys)}
	defer b.stopAll()

	code := b.run(ctx)
	if ctx.Err() != nil && code == 0 {
		code = 1
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		fmt.Fprintf(os.Stderr, "kv: run exceeded -timeout %s\n", o.timeout)
	}
	return code
}

type phaseResult struct {
	kind, system string
	round        int // 1-based; 0 for an aggregate over rounds
	ops          int
	elapsed      time.Duration
	p50, p99     time.Duration
	errors       int64
	driverCPU    time.Duration // this process's user+system CPU during the phase
	serverCPU    time.Duration // the system's processes' CPU during the phase
	firstErr     string
	lat          []time.Duration // sorted
}

// perOp is CPU time per operation in µs. The driver's own share matters on
// a small machine: it is CPU the servers under test do not get.
func perOp(cpu time.Duration, ops int) float64 {
	if ops == 0 {
		return 0
	}
	return float64(cpu.Microseconds()) / float64(ops)
}

func (r phaseResult) opsPerSec() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ops) / r.elapsed.Seconds()
}

type devResult struct {
	ready []time.Duration
	rssKB []int64
}

type bench struct {
	o     options
	root  string
	value []byte
	keys  []string

	mu    sync.Mutex
	procs []*proc

	phases []phaseResult // every measured phase, in the order run
	dev    *devResult
}

func (b *bench) track(p *proc) {
	b.mu.Lock()
	b.procs = append(b.procs, p)
	b.mu.Unlock()
}

// stopAll stops every process this run started that is still alive.
func (b *bench) stopAll() {
	b.mu.Lock()
	ps := b.procs
	b.procs = nil
	b.mu.Unlock()
	for _, p := range ps {
		p.stop(5 * time.Second)
	}
}

func (b *bench) run(ctx context.Context) int {
	switch b.o.scenario {
	case "cluster":
		return b.runClusterScenario(ctx)
	case "gossip":
		return b.runGossipScenario(ctx)
	case "failover":
		return b.runFailoverScenario(ctx)
	case "floor":
		return b.runFloorScenario(ctx)
	}
	fmt.Printf("KV benchmark: %d clients, %d-byte values, %d keys, %d measured ops per kind in %d interleaved rounds (after %d warm-up), %d CPUs\n",
		b.o.clients, b.o.valueSize, b.o.keys, b.o.ops, b.o.rounds, b.o.warmup, numCPU())

	// The -dev measurements go first, before any server is started, while
	// the machine is otherwise quiet.
	devFailed := false
	if b.o.has("conclave") && !b.o.skipDev && b.o.devRuns > 0 {
		if err := b.measureDev(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "kv: dev agent:", err)
			devFailed = true
		}
	}
	if code := b.compare(ctx, "", b.startEtcd, b.startConclave); code != 0 || devFailed {
		return 1
	}
	return 0
}

// loadTarget is one system under load.
type loadTarget interface {
	name() string
	put(ctx context.Context, key string, value []byte) error
	get(ctx context.Context, key string) error
}

// sut is one started system under test: its load target and what to
// check and stop when the load is over.
type sut struct {
	name    string // etcd or conclave
	target  loadTarget
	procs   []*proc  // checked after the load, stopped by stop
	closers []func() // run by stop, last first, before procs are stopped
	// onPhase, when set, is called as each measured phase of this system
	// starts (and only then).
	onPhase func(ctx context.Context, kind string, round int)
}

// starter starts a system and waits until it is ready. Whatever it starts
// goes into s at once, so that stop cleans up after a half-way failure.
type starter func(ctx context.Context, s *sut) error

func (s *sut) stop() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
	for _, p := range s.procs {
		p.stop(10 * time.Second)
	}
}

// check reports a process of s that exited during the load.
func (s *sut) check() error {
	for _, p := range s.procs {
		if p.exited() {
			return p.failure(fmt.Errorf("%s exited during the run", p.name))
		}
	}
	return nil
}

// compare is the kv and cluster scenarios: it starts the selected systems,
// loads them (runLoad), stops them and prints the report. what labels error
// messages (" cluster"). It returns the exit status.
func (b *bench) compare(ctx context.Context, what string, startEtcd, startConclave starter) int {
	failed := false
	fail := func(format string, args ...any) {
		failed = true
		fmt.Fprintf(os.Stderr, "kv: "+format+"\n", args...)
	}
	b.startAndLoad(ctx, fail, what, startEtcd, startConclave)
	b.report()
	for _, kind := range []string{"PUT", "GET"} {
		for _, system := range []string{"etcd", "conclave", apiSystem} {
			if r, ok := b.find(kind, system); ok && float64(r.errors) > b.o.maxErrRate*float64(r.ops) {
				fail("%s %s: %d of %d operations failed (first: %s)", r.kind, r.system, r.errors, r.ops, r.firstErr)
			}
		}
	}
	if failed {
		return 1
	}
	return 0
}

// startAndLoad starts every selected system (etcd first) before loading
// any, so that they can be measured interleaved, and stops them all when
// the load is over or fails. A system that does not start is left out.
func (b *bench) startAndLoad(ctx context.Context, fail func(string, ...any), what string, startEtcd, startConclave starter) {
	var suts []*sut
	defer func() {
		for _, s := range suts {
			s.stop()
		}
	}()
	for _, c := range []struct {
		name  string
		start starter
	}{{"etcd", startEtcd}, {"conclave", startConclave}} {
		if !b.o.has(c.name) || ctx.Err() != nil {
			continue
		}
		s := &sut{name: c.name}
		if err := c.start(ctx, s); err != nil {
			s.stop()
			fail("%s%s: %v", c.name, what, err)
			continue
		}
		suts = append(suts, s)
	}
	if len(suts) == 0 || ctx.Err() != nil {
		return
	}
	var err error
	if suts, err = withAPIDriver(suts, b.o.clients); err != nil {
		fail("%v", err)
		return
	}
	if err := b.runLoad(ctx, suts); err != nil {
		fail("%v", err)
	}
	for _, s := range suts {
		if err := s.check(); err != nil {
			fail("%s%s: %v", s.name, what, err)
		}
	}
}

// runLoad measures the systems interleaved in time. After one unmeasured
// warm-up per system and kind, the -ops operations of each kind are split
// into -rounds rounds; each round runs a PUT phase against every system,
// then a GET phase against every system, and the system that goes first
// alternates from round to round (round 1: etcd first, round 2: conclave
// first, ...). On a shared VM the speed drifts over tens of seconds;
// measured one after the other, the systems would see different machines
// and the drift would go straight into their ratio. Interleaved, the drift
// hits both alike.
func (b *bench) runLoad(ctx context.Context, suts []*sut) error {
	kinds := []string{"PUT", "GET"}
	opFor := func(s *sut, kind string) func(context.Context, string) error {
		if kind == "GET" {
			return s.target.get
		}
		return func(ctx context.Context, key string) error { return s.target.put(ctx, key, b.value) }
	}
	if b.o.warmup > 0 {
		for _, kind := range kinds {
			for _, s := range suts {
				if _, err := b.phase(ctx, kind, s.name, b.o.warmup, opFor(s, kind)); err != nil {
					return fmt.Errorf("%s %s warm-up: %w", kind, s.name, err)
				}
			}
		}
	}
	for round := 1; round <= b.o.rounds; round++ {
		n := b.o.ops / b.o.rounds
		if round <= b.o.ops%b.o.rounds {
			n++
		}
		order := slices.Clone(suts)
		if round%2 == 0 {
			slices.Reverse(order)
		}
		for _, kind := range kinds {
			for _, s := range order {
				if s.onPhase != nil {
					s.onPhase(ctx, kind, round)
				}
				cpu0 := s.serverCPU()
				r, err := b.phase(ctx, kind, s.name, n, opFor(s, kind))
				if err != nil {
					return fmt.Errorf("round %d %s %s: %w", round, kind, s.name, err)
				}
				r.serverCPU = s.serverCPU() - cpu0
				r.round = round
				b.phases = append(b.phases, r)
				fmt.Printf("  %s %-12s %9.0f ops/s  p50 %s  p99 %s  errors %d  CPU/op: servers %.0fµs, driver %.0fµs  (round %d/%d)\n",
					r.kind, b.display(r.system), r.opsPerSec(), fmtDur(r.p50), fmtDur(r.p99), r.errors,
					perOp(r.serverCPU, r.ops), perOp(r.driverCPU, r.ops), round, b.o.rounds)
			}
		}
	}
	return nil
}

// phase runs n operations spread over the configured clients. Operation i
// uses key i mod len(keys), so every key is touched and concurrent clients
// mostly hit different keys.
func (b *bench) phase(ctx context.Context, kind, system string, n int, op func(context.Context, string) error) (phaseResult, error) {
	lat := make([]time.Duration, n)
	var next, errCount atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	cpu0 := selfCPU()
	start := time.Now()
	for c := 0; c < b.o.clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				key := b.keys[int(i)%len(b.keys)]
				t0 := time.Now()
				err := op(ctx, key)
				lat[i] = time.Since(t0)
				if err != nil {
					if errCount.Add(1) == 1 {
						firstErr.Store(err.Error())
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := selfCPU() - cpu0
	if err := ctx.Err(); err != nil {
		return phaseResult{}, err
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := phaseResult{
		kind: kind, system: system, ops: n, elapsed: elapsed,
		p50: percentile(lat, 0.50), p99: percentile(lat, 0.99),
		errors: errCount.Load(), lat: lat, driverCPU: cpu,
	}
	if s, ok := firstErr.Load().(string); ok {
		r.firstErr = s
	}
	return r, nil
}

// percentile returns the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p*float64(len(sorted))+0.999999) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

// find aggregates the measured phases of kind and system over the rounds:
// ops/s is total operations over total time, p50 and p99 are over every
// latency of every round, errors are summed and the first one kept.
func (b *bench) find(kind, system string) (phaseResult, bool) {
	agg := phaseResult{kind: kind, system: system}
	var lat []time.Duration
	for _, r := range b.phases {
		if r.kind != kind || r.system != system {
			continue
		}
		agg.ops += r.ops
		agg.elapsed += r.elapsed
		agg.errors += r.errors
		agg.serverCPU += r.serverCPU
		agg.driverCPU += r.driverCPU
		if agg.firstErr == "" {
			agg.firstErr = r.firstErr
		}
		lat = append(lat, r.lat...)
	}
	if agg.ops == 0 {
		return phaseResult{}, false
	}
	slices.Sort(lat)
	agg.p50, agg.p99 = percentile(lat, 0.50), percentile(lat, 0.99)
	return agg, true
}

// roundRatios returns system/etcd ops/s of kind for each round in which
// both were measured, in round order.
func (b *bench) roundRatios(kind, system string) []float64 {
	etcd := map[int]float64{}
	for _, r := range b.phases {
		if r.kind == kind && r.system == "etcd" {
			etcd[r.round] = r.opsPerSec()
		}
	}
	var out []float64
	for _, r := range b.phases {
		if e := etcd[r.round]; r.kind == kind && r.system == system && e > 0 {
			out = append(out, r.opsPerSec()/e)
		}
	}
	return out
}

func (b *bench) report() {
	fmt.Println()
	// The CPU columns are per operation: the system's own processes, and
	// this driver's share of the same two cores (CPU the servers lacked).
	const row = "%-4s  %-22s  %10s  %9s  %9s  %6s  %11s  %10s\n"
	fmt.Printf(row, "kind", "system", "ops/s", "p50", "p99", "errors", "server CPU", "driver CPU")
	for _, kind := range []string{"PUT", "GET"} {
		for _, system := range []string{"etcd", "conclave", apiSystem} {
			label := b.display(system)
			if kind == "GET" {
				label += map[string]string{"etcd": " (linearizable)", "conclave": " (default)", apiSystem: " (default)"}[system]
			}
			r, ok := b.find(kind, system)
			if !ok {
				if b.o.has(strings.TrimSuffix(system, "-api")) {
					fmt.Printf(row, kind, label, "-", "-", "-", "-", "-", "-")
				}
				continue
			}
			fmt.Printf(row, kind, label, fmt.Sprintf("%.0f", r.opsPerSec()), fmtDur(r.p50), fmtDur(r.p99), fmt.Sprint(r.errors),
				fmt.Sprintf("%.0fµs", perOp(r.serverCPU, r.ops)), fmt.Sprintf("%.0fµs", perOp(r.driverCPU, r.ops)))
		}
	}
	fmt.Println()

	// One ratio per conclave driver; the verdict is the worse one's, so
	// that the cheaper driver cannot decide it.
	ratio := func(kind, label string, target float64) {
		worst, measured := 0.0, false
		for _, system := range []string{"conclave", apiSystem} {
			c, ok1 := b.find(kind, system)
			e, ok2 := b.find(kind, "etcd")
			if !ok1 || !ok2 || e.opsPerSec() == 0 {
				continue
			}
			v := c.opsPerSec() / e.opsPerSec()
			if !measured || v < worst {
				worst = v
			}
			measured = true
			// The spread over rounds shows how much to trust the ratio.
			var ss []string
			rs := b.roundRatios(kind, system)
			for _, r := range rs {
				ss = append(ss, fmt.Sprintf("%.2f", r))
			}
			med := 0.0
			if len(rs) > 0 {
				med = medianFloat(rs)
			}
			fmt.Printf("  %s %s/etcd = %.2fx pooled, median of rounds %.2fx [rounds: %s]; p99 %s vs etcd %s\n",
				kind, b.display(system), v, med, strings.Join(ss, " "), fmtDur(c.p99), fmtDur(e.p99))
		}
		switch {
		case b.o.scenario == "floor":
			// A measurement without a target: no verdict.
		case !measured:
			fmt.Printf("%s = n/a (target >= %.1fx)\n", label, target)
		default:
			fmt.Printf("%s = %.2fx, worse driver (target >= %.1fx) %s\n", label, worst, target, verdict(worst >= target))
		}
	}
	ratio("PUT", "PUT conclave/etcd", 1.0)
	ratio("GET", "GET conclave(default)/etcd(linearizable)", 2.0)
	b.reportCPU()

	if d := b.dev; d != nil && len(d.ready) > 0 {
		med := medianDur(d.ready)
		var runs []string
		for _, r := range d.ready {
			runs = append(runs, fmtDur(r))
		}
		fmt.Printf("-dev agent ready = %s median of %d (target <= 1s) %s  [runs: %s]\n",
			fmtDur(med), len(d.ready), verdict(med <= time.Second), strings.Join(runs, " "))
		if len(d.rssKB) > 0 {
			kb := medianInt(d.rssKB)
			mib := float64(kb) / 1024
			fmt.Printf("idle agent RSS = %.1f MiB (VmRSS %d kB, median of %d, after %s idle; target <= 40 MiB) %s\n",
				mib, kb, len(d.rssKB), b.o.idle, verdict(mib <= 40))
		}
	} else if b.o.has("conclave") && !b.o.skipDev {
		fmt.Println("-dev agent ready = n/a (target <= 1s)")
		fmt.Println("idle agent RSS = n/a (target <= 40 MiB)")
	}
}

// reportCPU prints each system's whole CPU per operation, its servers'
// and this driver's together: on a machine the driver shares, that sum is
// what throughput is inversely proportional to, so it shows where a ratio
// comes from (a costlier client library lowers it as surely as a costlier
// server).
func (b *bench) reportCPU() {
	for _, kind := range []string{"PUT", "GET"} {
		var parts []string
		for _, system := range []string{"etcd", "conclave", apiSystem} {
			if r, ok := b.find(kind, system); ok {
				srv, drv := perOp(r.serverCPU, r.ops), perOp(r.driverCPU, r.ops)
				parts = append(parts, fmt.Sprintf("%s %.0f+%.0f = %.0fµs", b.display(system), srv, drv, srv+drv))
			}
		}
		if len(parts) > 0 {
			fmt.Printf("  %s CPU per op, servers + driver: %s\n", kind, strings.Join(parts, ", "))
		}
	}
}

// display is the name a system is reported under: in the floor scenario
// the conclave slot holds the empty server.
func (b *bench) display(system string) string {
	if b.o.scenario == "floor" {
		return strings.Replace(system, "conclave", "floor", 1)
	}
	return system
}

func verdict(ok bool) string {
	if ok {
		return "[met]"
	}
	return "[MISSED]"
}

func medianDur(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianFloat(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianInt(xs []int64) int64 {
	s := append([]int64(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	}
}

func makeValue(n int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	v := make([]byte, n)
	for i := range v {
		v[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return v
}

func makeKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench/k%04d", i)
	}
	return keys
}
