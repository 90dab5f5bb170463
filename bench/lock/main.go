// Command lock benchmarks conclave's sessions and locks (issue 10) against
// the real binary, the way a user meets them:
//
//   - lock hand-off: several `conclave lock` processes contend on one
//     prefix; each child records when it starts and when it exits; the
//     hand-off is the next holder's start minus the previous holder's exit
//     (p50, p99; target p50 <= 50 ms);
//   - semaphore throughput: 10 `conclave lock -n 3` contenders, relaunched
//     as they finish, for a fixed time: acquisitions per second;
//   - session creations (and destroys) per second through the HTTP API,
//     64 concurrent clients.
//
// With -etcd, etcd's lock recipe (concurrency.Mutex) and its lease grants
// and revokes run under the same load, beside ours.
//
// The same binary is also the children's recorder (-record), so that a
// child costs one small exec and nothing else. It is a report: it exits 0
// when a target is missed and non-zero only when something could not run.
// See bench/README.md.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sys/unix"

	"conclave/bench/internal/benchutil"
)

type options struct {
	conclave    string
	etcd        string
	contenders  int
	handoffs    int
	hold        time.Duration
	semN        int
	semRunners  int
	semFor      time.Duration
	semHold     time.Duration
	sessions    int
	concurrency int
	timeout     time.Duration

	// Child mode: append a start record, hold, append a stop record.
	record string
	id     string
}

func main() {
	var o options
	flag.StringVar(&o.conclave, "conclave", "bench/.bin/conclave", "conclave binary")
	flag.StringVar(&o.etcd, "etcd", "", "etcd binary for the comparison (none: conclave alone)")
	flag.IntVar(&o.contenders, "contenders", 5, "`conclave lock` processes contending for the lock")
	flag.IntVar(&o.handoffs, "handoffs", 200, "lock hand-offs to measure")
	flag.DurationVar(&o.hold, "hold", 20*time.Millisecond, "how long each lock child holds before exiting")
	flag.IntVar(&o.semN, "n", 3, "semaphore limit")
	flag.IntVar(&o.semRunners, "sem-contenders", 10, "`conclave lock -n` processes contending for the semaphore")
	flag.DurationVar(&o.semFor, "sem-duration", 10*time.Second, "how long the semaphore run lasts")
	flag.DurationVar(&o.semHold, "sem-hold", 0, "how long each semaphore child holds its slot before exiting")
	flag.IntVar(&o.sessions, "sessions", 5000, "sessions to create (then destroy)")
	flag.IntVar(&o.concurrency, "concurrency", 64, "concurrent clients creating sessions")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "bound on the whole run")
	flag.StringVar(&o.record, "record", "", "child mode: append start/stop records to this `file`")
	flag.StringVar(&o.id, "id", "", "child mode: the contender's id in the records")
	flag.Parse()
	if o.record != "" {
		if err := child(o); err != nil {
			fmt.Fprintln(os.Stderr, "lock bench child:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "lock bench:", err)
		os.Exit(1)
	}
}

// monoNow is CLOCK_MONOTONIC in nanoseconds: one clock for every process
// on the machine, which wall-clock steps cannot disturb.
func monoNow() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic(err)
	}
	return ts.Nano()
}

// child is a lock holder: its records are single O_APPEND writes, so the
// lines of concurrent children never mix.
func child(o options) error {
	f, err := os.OpenFile(o.record, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "start %s %d\n", o.id, monoNow()); err != nil {
		return err
	}
	time.Sleep(o.hold)
	_, err = fmt.Fprintf(f, "stop %s %d\n", o.id, monoNow())
	return err
}

func run(o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	root, err := os.MkdirTemp("", "conclave-lock-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bin, err := filepath.Abs(o.conclave)
	if err != nil {
		return err
	}
	a, err := startAgent(ctx, bin, root)
	if err != nil {
		return err
	}
	defer a.Stop()
	var peer etcdPeer
	if o.etcd != "" {
		e, cli, err := startEtcd(ctx, o.etcd, root)
		if err != nil {
			return err
		}
		defer e.Stop()
		defer cli.Close()
		peer = etcdPeer{Server: e, cli: cli}
	}

	fmt.Printf("conclave lock benchmark: durable single server, %d CPUs\n", runtime.NumCPU())
	if peer.cli == nil {
		fmt.Println("  (no etcd: no comparison; -etcd names its binary)")
	}
	if o.handoffs > 0 {
		if err := handoffRun(ctx, a, peer, bin, self, root, o); err != nil {
			return fmt.Errorf("lock hand-off: %w", a.Failure(err))
		}
	}
	if o.semFor > 0 {
		if err := semaphoreRun(ctx, a, bin, self, root, o); err != nil {
			return fmt.Errorf("semaphore: %w", a.Failure(err))
		}
	}
	if o.sessions > 0 {
		if err := sessionRun(ctx, a, peer, o); err != nil {
			return fmt.Errorf("sessions: %w", a.Failure(err))
		}
	}
	return nil
}

// contend keeps `runners` `conclave lock` processes on prefix, each
// relaunched when it exits, until stop is closed; the ones still waiting
// for the lock then get TERM. It returns the first failure of a process
// that ran its child.
func contend(ctx context.Context, a *agent, bin, self, recordPath, prefix string, limit, runners int, hold time.Duration, stop <-chan struct{}) error {
	var (
		wg    sync.WaitGroup
		first atomic.Value
	)
	for r := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				default:
				}
				cmd := exec.Command(bin, "lock", "-http-addr", a.addr, "-n", strconv.Itoa(limit), prefix,
					self, "-record", recordPath, "-id", strconv.Itoa(r), "-hold", hold.String())
				var out strings.Builder
				cmd.Stdout, cmd.Stderr = &out, &out
				cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
				if err := cmd.Start(); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				select {
				case err := <-done:
					if err != nil && !closed(stop) {
						first.CompareAndSwap(nil, fmt.Errorf("conclave lock (contender %d): %w: %s", r, err, out.String()))
						return
					}
				case <-stop:
					// Waiting for the lock, or running a child that holds
					// it: TERM ends the wait, or reaches the child, which
					// then exits and releases.
					_ = cmd.Process.Signal(syscall.SIGTERM)
					<-done
					return
				case <-ctx.Done():
					_ = cmd.Process.Kill()
					<-done
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return err
	}
	return ctx.Err()
}

// etcdPeer is etcd for the comparison; cli is nil without one.
type etcdPeer struct {
	*benchutil.Server
	cli *clientv3.Client
}

type event struct {
	start bool
	id    string
	at    int64
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// readRecords parses the children's log, sorted by time, up to until: a
// child started after that may be stopped by the TERM that ends the run
// before it writes its stop record.
func readRecords(path string, until int64) ([]event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var evs []event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 3 || (fs[0] != "start" && fs[0] != "stop") {
			return nil, fmt.Errorf("bad record %q", sc.Text())
		}
		at, err := strconv.ParseInt(fs[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad record %q: %w", sc.Text(), err)
		}
		if at < until {
			evs = append(evs, event{start: fs[0] == "start", id: fs[1], at: at})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at < evs[j].at })
	return evs, sc.Err()
}

// countStarts counts the start records in the log so far.
func countStarts(path string) int {
	data, _ := os.ReadFile(path)
	return strings.Count(string(data), "start ")
}

// maxConcurrent is the largest number of children running at once.
func maxConcurrent(evs []event) int {
	n, most := 0, 0
	for _, e := range evs {
		if e.start {
			n++
		} else {
			n--
		}
		most = max(most, n)
	}
	return most
}

func handoffRun(ctx context.Context, a *agent, peer etcdPeer, bin, self, root string, o options) error {
	rec := filepath.Join(root, "handoff.log")
	stop := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- contend(ctx, a, bin, self, rec, "bench/handoff", 1, o.contenders, o.hold, stop)
	}()
	for countStarts(rec) < o.handoffs+1 {
		select {
		case err := <-errc:
			return fmt.Errorf("contenders stopped early: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	end := monoNow()
	close(stop)
	if err := <-errc; err != nil {
		return err
	}
	lat, err := handoffs(rec, end)
	if err != nil {
		return err
	}
	p := func(q float64) time.Duration { return benchutil.Percentile(lat, q) }
	verdict := "met"
	if p(0.50) > 50*time.Millisecond {
		verdict = "MISSED"
	}
	fmt.Printf("lock hand-off: %d hand-offs among %d `conclave lock` processes: p50 %s p99 %s max %s (target p50 <= 50ms) [%s]\n",
		len(lat), o.contenders, p(0.50), p(0.99), p(1), verdict)
	if peer.cli == nil {
		return nil
	}
	elat, err := etcdHandoff(ctx, peer.cli, self, root, o)
	if err != nil {
		return fmt.Errorf("etcd: %w", peer.Failure(err))
	}
	ep := func(q float64) time.Duration { return benchutil.Percentile(elat, q) }
	fmt.Printf("  etcd concurrency.Mutex: %d hand-offs among %d contenders: p50 %s p99 %s max %s; p50 conclave/etcd = %.2fx (lower is faster)\n",
		len(elat), o.contenders, ep(0.50), ep(0.99), ep(1), p(0.50).Seconds()/ep(0.50).Seconds())
	return nil
}

// handoffs reads a lock run's records up to end: the time from each
// child's exit to the next child's start. Two children running at once is
// an error.
func handoffs(rec string, end int64) ([]time.Duration, error) {
	evs, err := readRecords(rec, end)
	if err != nil {
		return nil, err
	}
	if m := maxConcurrent(evs); m > 1 {
		return nil, fmt.Errorf("%d children held the lock at once", m)
	}
	var lat []time.Duration
	for i := 1; i+1 < len(evs); i++ {
		if !evs[i].start && evs[i+1].start {
			lat = append(lat, time.Duration(evs[i+1].at-evs[i].at))
		}
	}
	if len(lat) == 0 {
		return nil, fmt.Errorf("no hand-off recorded")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat, nil
}

func semaphoreRun(ctx context.Context, a *agent, bin, self, root string, o options) error {
	rec := filepath.Join(root, "semaphore.log")
	stop := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- contend(ctx, a, bin, self, rec, "bench/semaphore", o.semN, o.semRunners, o.semHold, stop)
	}()
	// The window opens at the first start, so the contenders' launch does
	// not count against the rate.
	for countStarts(rec) == 0 {
		select {
		case err := <-errc:
			return fmt.Errorf("contenders stopped early: %w", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t0 := monoNow()
	select {
	case err := <-errc:
		return fmt.Errorf("contenders stopped early: %w", err)
	case <-time.After(o.semFor):
	}
	t1 := monoNow()
	close(stop)
	if err := <-errc; err != nil {
		return err
	}
	evs, err := readRecords(rec, t1)
	if err != nil {
		return err
	}
	if m := maxConcurrent(evs); m > o.semN {
		return fmt.Errorf("%d children held the semaphore at once, limit %d", m, o.semN)
	}
	n := 0
	for _, e := range evs {
		if e.start && e.at >= t0 {
			n++
		}
	}
	secs := time.Duration(t1 - t0).Seconds()
	fmt.Printf("semaphore: %d `conclave lock -n %d` contenders, children hold %s, %s: %d acquisitions, %.1f acquisitions/s; most holders at once %d, limit %d (no target in the issue)\n",
		o.semRunners, o.semN, o.semHold, time.Duration(t1-t0).Round(time.Millisecond), n, float64(n)/secs, maxConcurrent(evs), o.semN)
	return nil
}

func sessionRun(ctx context.Context, a *agent, peer etcdPeer, o options) error {
	hc := a.client(o.concurrency)
	ids := make([]string, o.sessions)
	start := time.Now()
	err := benchutil.Parallel(o.sessions, o.concurrency, func(i int) error {
		body, code, err := benchutil.Do(ctx, hc, "PUT", a.base+"/v1/session/create", nil,
			[]byte(fmt.Sprintf(`{"Name":"bench-%d","TTL":"60s","LockDelay":"0s"}`, i)))
		if err != nil || code != 200 {
			return fmt.Errorf("create %d: %v %d %s", i, err, code, body)
		}
		var out struct{ ID string }
		if err := json.Unmarshal(body, &out); err != nil || out.ID == "" {
			return fmt.Errorf("create %d: reply %s: %v", i, body, err)
		}
		ids[i] = out.ID
		return nil
	})
	if err != nil {
		return err
	}
	created := time.Since(start)
	start = time.Now()
	err = benchutil.Parallel(o.sessions, o.concurrency, func(i int) error {
		body, code, err := benchutil.Do(ctx, hc, "PUT", a.base+"/v1/session/destroy/"+ids[i], nil, nil)
		if err != nil || code != 200 {
			return fmt.Errorf("destroy %s: %v %d %s", ids[i], err, code, body)
		}
		return nil
	})
	if err != nil {
		return err
	}
	destroyed := time.Since(start)
	createRate, destroyRate := float64(o.sessions)/created.Seconds(), float64(o.sessions)/destroyed.Seconds()
	fmt.Printf("sessions: %d created by %d clients in %s: %.0f creations/s; destroyed in %s: %.0f destroys/s (no target in the issue)\n",
		o.sessions, o.concurrency, created.Round(time.Millisecond), createRate, destroyed.Round(time.Millisecond), destroyRate)
	if peer.cli == nil {
		return nil
	}
	eCreate, eRevoke, err := etcdLeases(ctx, peer.cli, o)
	if err != nil {
		return fmt.Errorf("etcd: %w", peer.Failure(err))
	}
	fmt.Printf("  etcd leases, same load: %.0f grants/s, %.0f revokes/s; creations conclave/etcd = %.2fx, destroys %.2fx (higher is faster)\n",
		eCreate, eRevoke, createRate/eCreate, destroyRate/eRevoke)
	return nil
}
