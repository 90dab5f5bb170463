// Command metrics measures what conclave's metrics cost (issue 15): KV PUT
// and GET throughput of a server with metrics on, against one with
// metrics off, in the same run. Target: on within 5 % of off.
//
// Both are durable single servers, started side by side from the same
// binary:
//
//   - on: the defaults (the in-memory sink behind /v1/agent/metrics) plus
//     the Prometheus sink (prometheus_retention_time), scraped every
//     -scrape as a Prometheus server would;
//   - off: telemetry { filter_default = false }, which drops every metric
//     at the agent's filter. The instrumented code still runs (a call
//     into go-metrics per metric), so the ratio is what the sinks, the
//     names and the scrapes cost; the calls themselves cost both alike.
//
// As bench/kv does, the measured operations are split into -rounds
// rounds; each round runs a PUT phase against each server, then a GET
// phase against each, and the server that goes first alternates, so that
// the drift of a shared machine hits both alike. The verdict uses the
// median of the per-round ratios; the whole-run ratio and the servers'
// CPU time per operation are printed beside it.
//
// It is a report: it exits 0 when the target is missed, non-zero only
// when something could not run. See bench/README.md.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"conclave/bench/internal/benchutil"
)

type options struct {
	conclave  string
	clients   int
	ops       int
	rounds    int
	warmup    int
	keys      int
	valueSize int
	scrape    time.Duration
	timeout   time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.conclave, "conclave", "bench/.bin/conclave", "path to the conclave binary")
	flag.IntVar(&o.clients, "clients", 32, "concurrent HTTP clients")
	flag.IntVar(&o.ops, "ops", 20000, "measured operations of each kind (PUT, GET) per server")
	flag.IntVar(&o.rounds, "rounds", 10, "interleaved rounds the measured operations are split into")
	flag.IntVar(&o.warmup, "warmup", 1000, "unmeasured operations of each kind per server first")
	flag.IntVar(&o.keys, "keys", 1000, "distinct keys")
	flag.IntVar(&o.valueSize, "value-size", 128, "value size in bytes")
	flag.DurationVar(&o.scrape, "scrape", 2*time.Second, "how often the metrics-on server is scraped (?format=prometheus)")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "upper bound for the whole run")
	flag.Parse()
	if o.clients < 1 || o.ops < 1 || o.rounds < 1 || o.rounds > o.ops || o.keys < 1 || o.valueSize < 1 || o.warmup < 0 || o.scrape <= 0 {
		fmt.Fprintln(os.Stderr, "metrics: -clients, -ops, -keys, -value-size, -scrape must be positive, -rounds between 1 and -ops, -warmup non-negative")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "metrics:", err)
		os.Exit(1)
	}
}

// server is one of the two servers under load.
type server struct {
	name string
	srv  *benchutil.Server
	base string
	// elapsed, cpu and ops add up the measured phases, per kind.
	elapsed map[string]time.Duration
	cpu     map[string]time.Duration
	ops     map[string]int
	// rates are each round's ops/s, per kind.
	rates map[string][]float64
}

// cpuTime is the server's user+system CPU time so far, from
// /proc/<pid>/stat (in clock ticks of 10 ms).
func (s *server) cpuTime() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.srv.Cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; the fields after it are plain.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	root, err := os.MkdirTemp("", "conclave-bench-metrics-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)

	configs := map[string]string{
		"on":  `{"telemetry": {"prometheus_retention_time": "1m", "disable_hostname": true}}`,
		"off": `{"telemetry": {"filter_default": false}}`,
	}
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.srv.Stop()
		}
	}()
	for _, name := range []string{"on", "off"} {
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		cfg := filepath.Join(dir, "telemetry.json")
		if err := os.WriteFile(cfg, []byte(configs[name]), 0o644); err != nil {
			return err
		}
		srv, addr, err := benchutil.StartConclave(ctx, o.conclave, dir, ready, "-config-file", cfg)
		if err != nil {
			return fmt.Errorf("metrics %s: %w", name, err)
		}
		servers = append(servers, &server{name: name, srv: srv, base: "http://" + addr,
			elapsed: map[string]time.Duration{}, cpu: map[string]time.Duration{}, ops: map[string]int{},
			rates: map[string][]float64{}})
	}
	on, off := servers[0], servers[1]

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.clients}, Timeout: 10 * time.Second}
	value := bytes.Repeat([]byte("v"), o.valueSize)
	phase := func(s *server, kind string, n int) (time.Duration, error) {
		start := time.Now()
		err := benchutil.Parallel(n, o.clients, func(i int) error {
			url := fmt.Sprintf("%s/v1/kv/bench/k%05d", s.base, i%o.keys)
			var (
				code int
				err  error
			)
			if kind == "PUT" {
				_, code, err = benchutil.Do(ctx, hc, "PUT", url, nil, value)
			} else {
				_, code, err = benchutil.Do(ctx, hc, "GET", url, nil, nil)
			}
			if err != nil {
				return fmt.Errorf("%s %s: %w", kind, s.name, err)
			}
			if code != http.StatusOK {
				return fmt.Errorf("%s %s: status %d", kind, s.name, code)
			}
			return nil
		})
		return time.Since(start), err
	}

	// Scrape as Prometheus would, for the whole run.
	scrapeCtx, stopScrape := context.WithCancel(ctx)
	scrapes := make(chan int, 1)
	go func() {
		n := 0
		defer func() { scrapes <- n }()
		t := time.NewTicker(o.scrape)
		defer t.Stop()
		for {
			select {
			case <-scrapeCtx.Done():
				return
			case <-t.C:
				if _, code, err := benchutil.Do(scrapeCtx, hc, "GET", on.base+"/v1/agent/metrics?format=prometheus", nil, nil); err == nil && code == http.StatusOK {
					n++
				}
			}
		}
	}()

	for _, s := range servers {
		for _, kind := range []string{"PUT", "GET"} {
			if _, err := phase(s, kind, o.warmup); err != nil {
				stopScrape()
				return s.srv.Failure(err)
			}
		}
	}
	per := o.ops / o.rounds
	for r := range o.rounds {
		order := []*server{on, off}
		if r%2 == 1 {
			order = []*server{off, on}
		}
		for _, kind := range []string{"PUT", "GET"} {
			for _, s := range order {
				cpu0 := s.cpuTime()
				d, err := phase(s, kind, per)
				if err != nil {
					stopScrape()
					return s.srv.Failure(err)
				}
				s.cpu[kind] += s.cpuTime() - cpu0
				s.elapsed[kind] += d
				s.rates[kind] = append(s.rates[kind], float64(per)/d.Seconds())
				s.ops[kind] += per
			}
		}
	}
	stopScrape()
	nScrapes := <-scrapes

	// The metrics were really on, and really off.
	body, _, err := benchutil.Do(ctx, hc, "GET", on.base+"/v1/agent/metrics?format=prometheus", nil, nil)
	if err != nil || !strings.Contains(string(body), "consul_kvs_apply_count") {
		return fmt.Errorf("the metrics-on server shows no consul_kvs_apply (%v)", err)
	}
	body, _, err = benchutil.Do(ctx, hc, "GET", off.base+"/v1/agent/metrics", nil, nil)
	if err != nil || strings.Contains(string(body), "consul.kvs.apply") {
		return fmt.Errorf("the metrics-off server still records consul.kvs.apply (%v)", err)
	}

	fmt.Printf("metrics overhead: KV throughput with metrics on vs off (same run, %d clients, %d rounds, %d-byte values, %d scrapes of the on server every %s)\n",
		o.clients, o.rounds, o.valueSize, nScrapes, o.scrape)
	fmt.Printf("%-5s %11s %11s %8s %8s  %-7s %13s %13s %8s\n", "op", "on ops/s", "off ops/s", "on/off", "median", "target", "on CPU µs/op", "off CPU µs/op", "on/off")
	for _, kind := range []string{"PUT", "GET"} {
		rOn := float64(on.ops[kind]) / on.elapsed[kind].Seconds()
		rOff := float64(off.ops[kind]) / off.elapsed[kind].Seconds()
		// Each round's two phases run back to back, so their ratio is
		// least touched by the machine's drift; the median drops the
		// rounds a neighbour's burst landed in.
		var ratios []float64
		for i := range on.rates[kind] {
			ratios = append(ratios, on.rates[kind][i]/off.rates[kind][i])
		}
		slices.Sort(ratios)
		median := ratios[len(ratios)/2]
		if len(ratios)%2 == 0 {
			median = (ratios[len(ratios)/2-1] + ratios[len(ratios)/2]) / 2
		}
		verdict := "met"
		if median < 0.95 {
			verdict = "MISSED"
		}
		cOn := float64(on.cpu[kind].Microseconds()) / float64(on.ops[kind])
		cOff := float64(off.cpu[kind].Microseconds()) / float64(off.ops[kind])
		fmt.Printf("%-5s %11.0f %11.0f %8.3f %8.3f  %-7s %13.1f %13.1f %8.3f\n", kind, rOn, rOff, rOn/rOff, median, verdict, cOn, cOff, cOn/cOff)
	}
	fmt.Println("on/off: whole-run throughput ratio; median: of the per-round ratios, judged against the target (on within 5 % of off: >= 0.95);")
	fmt.Println("server CPU per operation is the steadier figure on a shared machine")
	return nil
}

// ready succeeds once the server answers a default-consistency KV read.
func ready(ctx context.Context, hc *http.Client, base string) error {
	_, code, err := benchutil.Do(ctx, hc, "GET", base+"/v1/kv/bench-ready", nil, nil)
	if err != nil {
		return err
	}
	if code != http.StatusNotFound && code != http.StatusOK {
		return fmt.Errorf("status %d", code)
	}
	return nil
}
