// Command snapshot benchmarks snapshot save and restore (issue 15) against
// the real binary: a durable single server is loaded with -keys KV
// entries of -value-size bytes (through /v1/txn, -batch writes per
// transaction), then
//
//   - save: GET /v1/snapshot, the whole archive streamed to a file;
//   - restore: PUT /v1/snapshot with that file, after the keys were
//     changed, then a check that a sample of keys holds the saved values;
//
// each timed, with the server's peak RSS during it (VmHWM, reset through
// /proc/<pid>/clear_refs before each) beside its live heap after the load
// (HeapAlloc after a forced GC, from /debug/pprof/heap). Targets: save <=
// 10 s, restore <= 20 s, peak RSS <= 2x the live heap. It is a report: it
// exits 0 when a target is missed and non-zero only when something could
// not run. See bench/README.md.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"conclave/bench/internal/benchutil"
)

type options struct {
	conclave    string
	keys        int
	valueSize   int
	batch       int
	concurrency int
	timeout     time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.conclave, "conclave", "bench/.bin/conclave", "conclave binary")
	flag.IntVar(&o.keys, "keys", 1_000_000, "KV entries to load")
	flag.IntVar(&o.valueSize, "value-size", 128, "bytes per value")
	flag.IntVar(&o.batch, "batch", 64, "writes per /v1/txn (64 is the limit)")
	flag.IntVar(&o.concurrency, "concurrency", 8, "concurrent loaders")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "bound on the whole run")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/snapshot:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "==> "+format+"\n", args...) }

func run(o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	root, err := os.MkdirTemp("", "conclave-bench-snapshot-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	cfg := filepath.Join(root, "debug.json")
	// enable_debug: the live heap is read from /debug/pprof/heap.
	if err := os.WriteFile(cfg, []byte(`{"enable_debug": true}`), 0o600); err != nil {
		return err
	}
	ports, err := benchutil.FreePorts(5)
	if err != nil {
		return err
	}
	srv, err := benchutil.Start(o.conclave, filepath.Join(root, "conclave.log"),
		"agent", "-server", "-bootstrap", "-data-dir", filepath.Join(root, "data"), "-config-file", cfg,
		"-node", "bench", "-bind", "127.0.0.1", "-client", "127.0.0.1",
		"-http-port", strconv.Itoa(ports[0]), "-dns-port", strconv.Itoa(ports[1]),
		"-server-port", strconv.Itoa(ports[2]), "-serf-lan-port", strconv.Itoa(ports[3]),
		"-serf-wan-port", strconv.Itoa(ports[4]), "-log-level", "warn")
	if err != nil {
		return err
	}
	defer srv.Stop()
	base := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	hc := &http.Client{}
	if err := waitReady(ctx, hc, base); err != nil {
		return srv.Failure(err)
	}
	pid := srv.Cmd.Process.Pid

	logf("loading %d keys of %d bytes (%d per txn, %d loaders)", o.keys, o.valueSize, o.batch, o.concurrency)
	start := time.Now()
	if err := load(ctx, hc, base, o, "v1"); err != nil {
		return srv.Failure(err)
	}
	logf("loaded in %s", time.Since(start).Round(time.Millisecond))
	live, err := liveHeap(ctx, hc, base)
	if err != nil {
		return srv.Failure(err)
	}

	file := filepath.Join(root, "bench.snap")
	saved, err := measure(pid, func() error { return save(ctx, hc, base, file) })
	if err != nil {
		return srv.Failure(err)
	}
	fi, err := os.Stat(file)
	if err != nil {
		return err
	}

	// Change a sample, so the restore has something to undo.
	logf("changing a sample of keys before the restore")
	if err := load(ctx, hc, base, options{keys: 10_000, valueSize: o.valueSize, batch: o.batch, concurrency: o.concurrency}, "v2"); err != nil {
		return srv.Failure(err)
	}
	restored, err := measure(pid, func() error { return restore(ctx, hc, base, file) })
	if err != nil {
		return srv.Failure(err)
	}
	if err := checkSample(ctx, hc, base, o); err != nil {
		return srv.Failure(err)
	}

	mark := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "MISSED"
	}
	mb := func(b uint64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }
	fmt.Printf("snapshot, %d keys x %d B: archive %s, live heap %s\n", o.keys, o.valueSize, mb(uint64(fi.Size())), mb(live))
	report := func(name string, st step, target time.Duration) {
		fmt.Printf("  %-8s %6.2f s, server CPU %6.2f s (target <= %s: %s), peak RSS %s = %.2fx live heap (target <= 2x: %s)\n",
			name+":", st.took.Seconds(), st.cpu.Seconds(), target, mark(st.took <= target),
			mb(st.peak), float64(st.peak)/float64(live), mark(st.peak <= 2*live))
	}
	report("save", saved, 10*time.Second)
	report("restore", restored, 20*time.Second)
	return nil
}

func waitReady(ctx context.Context, hc *http.Client, base string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, code, err := benchutil.Do(ctx, hc, http.MethodGet, base+"/v1/kv/bench-ready", nil, nil)
		if err == nil && (code == http.StatusOK || code == http.StatusNotFound) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after 30s: %v (HTTP %d)", err, code)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func key(i int) string { return fmt.Sprintf("bench/%07d", i) }

// value is key i's value of a generation, exactly size bytes: letters
// drawn from a generator seeded by both, so values differ and compress
// about as well as real text, not as well as a run of one byte.
func value(i, size int, gen string) []byte {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	rng := rand.New(rand.NewPCG(uint64(i), uint64(len(gen))<<32|uint64(gen[len(gen)-1])))
	v := make([]byte, size)
	for j := range v {
		v[j] = letters[rng.IntN(len(letters))]
	}
	return v
}

type txnOp struct {
	KV struct {
		Verb  string
		Key   string
		Value string
	}
}

// load writes keys [0, o.keys) with generation gen's values.
func load(ctx context.Context, hc *http.Client, base string, o options, gen string) error {
	batches := (o.keys + o.batch - 1) / o.batch
	return benchutil.Parallel(batches, o.concurrency, func(b int) error {
		ops := make([]txnOp, 0, o.batch)
		for i := b * o.batch; i < min(o.keys, (b+1)*o.batch); i++ {
			var op txnOp
			op.KV.Verb, op.KV.Key = "set", key(i)
			op.KV.Value = base64.StdEncoding.EncodeToString(value(i, o.valueSize, gen))
			ops = append(ops, op)
		}
		body, err := json.Marshal(ops)
		if err != nil {
			return err
		}
		out, code, err := benchutil.Do(ctx, hc, http.MethodPut, base+"/v1/txn", nil, body)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("txn: HTTP %d: %s", code, out)
		}
		return nil
	})
}

// snapshotCall sends one /v1/snapshot request with body and copies a
// 200 answer's body to out.
func snapshotCall(ctx context.Context, hc *http.Client, method, url string, body io.Reader, out io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s /v1/snapshot: HTTP %d: %s", method, resp.StatusCode, msg)
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		return fmt.Errorf("%s /v1/snapshot: %w", method, err)
	}
	return nil
}

func save(ctx context.Context, hc *http.Client, base, file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := snapshotCall(ctx, hc, http.MethodGet, base+"/v1/snapshot", nil, f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func restore(ctx context.Context, hc *http.Client, base, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	return snapshotCall(ctx, hc, http.MethodPut, base+"/v1/snapshot", f, io.Discard)
}

// checkSample reads a spread of keys, changed ones included, and wants
// the saved generation back.
func checkSample(ctx context.Context, hc *http.Client, base string, o options) error {
	for _, i := range []int{0, 1, 4_999, 9_999, o.keys / 2, o.keys - 1} {
		out, code, err := benchutil.Do(ctx, hc, http.MethodGet, base+"/v1/kv/"+key(i)+"?raw", nil, nil)
		if err != nil {
			return err
		}
		if want := value(i, o.valueSize, "v1"); code != http.StatusOK || !bytes.Equal(out, want) {
			return fmt.Errorf("after restore GET %s = HTTP %d %q, want %q", key(i), code, out, want)
		}
	}
	return nil
}

// liveHeap is the server's HeapAlloc right after a forced GC.
func liveHeap(ctx context.Context, hc *http.Client, base string) (uint64, error) {
	out, code, err := benchutil.Do(ctx, hc, http.MethodGet, base+"/debug/pprof/heap?gc=1&debug=1", nil, nil)
	if err != nil {
		return 0, err
	}
	if code != http.StatusOK {
		return 0, fmt.Errorf("heap profile: HTTP %d", code)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# HeapAlloc = "); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("no HeapAlloc in the heap profile")
}

// step is what measure saw of one step.
type step struct {
	took time.Duration // wall time
	cpu  time.Duration // the server's CPU time (user + system)
	peak uint64        // the server's peak RSS
}

// measure runs fn and reports its wall time and, from the server's
// /proc, the CPU time it used and its peak RSS meanwhile. The CPU time is
// there because the wall time on a shared machine says as much about the
// neighbours as about the server.
func measure(pid int, fn func() error) (step, error) {
	if err := resetPeak(pid); err != nil {
		return step{}, err
	}
	cpu0, err := cpuTime(pid)
	if err != nil {
		return step{}, err
	}
	start := time.Now()
	if err := fn(); err != nil {
		return step{}, err
	}
	st := step{took: time.Since(start)}
	cpu1, err := cpuTime(pid)
	if err != nil {
		return step{}, err
	}
	st.cpu = cpu1 - cpu0
	st.peak, err = peakRSS(pid)
	return st, err
}

// cpuTime is the process's user + system time (/proc/<pid>/stat fields
// 14 and 15, in clock ticks of 1/100 s on Linux).
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; count after its ")".
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// resetPeak resets the process's peak RSS (VmHWM).
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// peakRSS is the process's peak RSS since the last resetPeak.
func peakRSS(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM for pid %d", pid)
}
