package jepsen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"conclave/internal/lockcheck"
)

// exitLockLost is the exit code of `conclave lock` when it fenced its
// child (commands.ExitLockLost; this package sees the binary only).
const exitLockLost = 125

// TestLockSafety is the safety test of `conclave lock`: five lock
// processes (the built binary) loop on one prefix, through the two client
// agents of a 3-server cluster, and five more on a semaphore of 3. Each
// child appends "start <id> <time>" and "stop <id> <time>" to a log of its
// prefix and holds for a random while. Meanwhile the leader is killed (and
// restarted), the leader is paused (SIGSTOP, then SIGCONT), and, in
// network namespaces (root), client agent c1 is cut off from the servers
// while a child started through it holds its lock for longer than the
// fence allows: that child must be stopped by its own `conclave lock`
// before anyone else can take the lock or the slot. lockcheck then reads
// each log: never two children at once on the lock, never more than 3 on
// the semaphore. The pass or fail is the checker's.
func TestLockSafety(t *testing.T) {
	needCluster(t)
	ctx := testContext(t, 5*time.Minute)
	rounds := 1
	if longMode {
		rounds = 4
	}
	var network Network = Loopback{}
	if why := netNSUnavailable(); why != "" {
		t.Logf("SKIP the client-agent partition (kill and pause still run): %s", why)
	} else {
		nn, err := NewNetNS(5)
		if err != nil {
			t.Fatal(err)
		}
		network = nn
	}
	c := StartCluster(t, ClusterConfig{Bin: binary, Servers: 3, Clients: 2, Network: network})
	began := time.Now()
	logf := func(format string, args ...any) {
		t.Helper()
		t.Logf("%5.1fs "+format, append([]any{time.Since(began).Seconds()}, args...)...)
	}

	dir := t.TempDir()
	stop, stopLoops := context.WithCancel(ctx)
	defer stopLoops()
	var wg sync.WaitGroup
	sets := []*lockRunners{
		{c: c, limit: 1, prefix: "locks/safety", log: filepath.Join(dir, "lock.log"), codes: map[int]int{}},
		{c: c, limit: 3, prefix: "locks/safety-sem", log: filepath.Join(dir, "sem.log"), codes: map[int]int{}},
	}
	for _, s := range sets {
		s.start(stop, &wg)
	}
	nem := &nemesis{c: c, rng: rand.New(rand.NewPCG(rand.Uint64(), 0))}
	nem.init()
	for range rounds {
		// The cut first, while the lock changes hands quickly, so that
		// runner 0 soon holds through c1.
		if network.CanPartition() {
			wait(ctx, time.Second)
			partitionHolder(ctx, t, c, sets, logf)
			logf("partition healed")
		}
		for _, f := range []Fault{FaultKillLeader, FaultPauseLeader} {
			wait(ctx, time.Second)
			target, err := nem.pick(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if err := nem.apply(f, target); err != nil {
				t.Fatalf("%s %s: %v", f, target.Name, err)
			}
			logf("%s %s", f, target.Name)
			wait(ctx, 4*time.Second)
			if err := nem.healAll(ctx); err != nil {
				t.Fatal(err)
			}
			if err := c.WaitHealthy(ctx, c.Nodes...); err != nil {
				t.Fatalf("cluster did not recover after %s %s: %v", f, target.Name, err)
			}
			logf("healed %s, cluster healthy again", target.Name)
		}
	}
	wait(ctx, 2*time.Second)
	stopLoops()
	wg.Wait()
	logf("all lock runs ended")

	for _, s := range sets {
		data, err := os.ReadFile(s.log)
		if err != nil {
			t.Fatal(err)
		}
		starts := strings.Count(string(data), "start")
		t.Logf("-n %d: %d children started; exit codes of conclave lock %v", s.limit, starts, s.exitCodes())
		if err := lockcheck.Check(string(data), s.limit); err != nil {
			t.Errorf("-n %d: %v\nlog %s:\n%s", s.limit, err, s.log, data)
		}
		// A run in which (almost) nothing held the lock would prove nothing.
		if starts < 10 {
			t.Errorf("-n %d: only %d children started\n%s", s.limit, starts, data)
		}
	}
}

// netNSUnavailable says why the partition cannot run here, or "".
func netNSUnavailable() string {
	if os.Geteuid() != 0 {
		return "needs root to create network namespaces (ip netns, veth, bridges); run as root, as CI does"
	}
	if err := NetNSAvailable(); err != nil {
		return "network namespaces unavailable: " + err.Error()
	}
	return ""
}

// partitionHolder makes runner 0 of every set (it talks to client agent
// c1) start a child that holds until stopped, waits until those children
// run, cuts c1 off from the servers and waits for the fences: each such
// `conclave lock` must stop its child and exit with exitLockLost.
func partitionHolder(ctx context.Context, t *testing.T, c *Cluster, sets []*lockRunners, logf func(string, ...any)) {
	t.Helper()
	client := c.Clients[0]
	for _, s := range sets {
		s.holdOn()
	}
	for _, s := range sets {
		if err := s.waitHolding(ctx); err != nil {
			t.Fatalf("-n %d: %v", s.limit, err)
		}
	}
	if err := c.Network().Isolate(client.Index); err != nil {
		t.Fatal(err)
	}
	logf("cut client agent %s off while runner 0 of each set holds through it", client.Name)
	for _, s := range sets {
		code, err := s.waitFenced(ctx)
		if err != nil {
			t.Fatalf("-n %d: %v", s.limit, err)
		}
		if code != exitLockLost {
			t.Errorf("-n %d: the cut-off holder's conclave lock exited %d, want %d (fenced)", s.limit, code, exitLockLost)
		}
	}
	logf("both cut-off holders fenced")
	if err := c.Network().Heal(client.Index); err != nil {
		t.Fatal(err)
	}
	if err := c.waitWrites(ctx, client); err != nil {
		t.Fatalf("client agent %s did not come back after healing: %v", client.Name, err)
	}
}

// lockRunners are the five `conclave lock` loops on one prefix; runner r
// talks to client agent r mod 2.
type lockRunners struct {
	c      *Cluster
	limit  int
	prefix string
	log    string

	mu    sync.Mutex
	codes map[int]int // exit code -> count
	// hold makes runner 0's next child hold until it is stopped; held is
	// closed once that child has started, fenced gets its exit code.
	hold   bool
	held   chan struct{}
	fenced chan int
}

const lockRunnerCount = 5

func (s *lockRunners) start(ctx context.Context, wg *sync.WaitGroup) {
	for r := range lockRunnerCount {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(ctx, r)
		}()
	}
}

func (s *lockRunners) loop(ctx context.Context, r int) {
	agent := s.c.Clients[r%len(s.c.Clients)]
	for i := 0; ctx.Err() == nil; i++ {
		id := fmt.Sprintf("%d.%d", r, i)
		hold := fmt.Sprintf("0.%02d", 5+rand.IntN(25))
		var held chan struct{}
		var fenced chan int
		s.mu.Lock()
		if r == 0 && s.hold {
			// Longer than any fence may take (T + D = 30 s).
			hold, held, fenced = "120", s.held, s.fenced
			s.hold = false
			id += "-long"
		}
		s.mu.Unlock()
		code := s.runOnce(agent, id, hold, held)
		s.mu.Lock()
		s.codes[code]++
		if held != nil && !isDone(held) {
			// It never got to run its child: the next one holds instead.
			s.hold, held = true, nil
		}
		s.mu.Unlock()
		if held != nil {
			fenced <- code
		}
		if code != 0 {
			wait(ctx, 100*time.Millisecond) // e.g. the agent is cut off
		}
	}
}

// runOnce runs one `conclave lock` to its end and returns its exit code.
// The child traps TERM (the fence) to record its stop; it ignores TERM
// while it writes a record, which at most lets it finish its short hold
// (the fence's KILL comes 2 s after TERM).
func (s *lockRunners) runOnce(agent *Node, id, hold string, held chan struct{}) int {
	rec := func(what string) string {
		return fmt.Sprintf("echo %s %s $(date +%%s.%%N) >> %s", what, id, s.log)
	}
	child := fmt.Sprintf("trap '' TERM; %s; trap '%s; exit 143' TERM; sleep %s & wait; trap '' TERM; %s",
		rec("start"), rec("stop"), hold, rec("stop"))
	cmd := exec.Command(s.c.cfg.Bin, "lock", "-http-addr="+agent.HTTPAddr(), fmt.Sprintf("-n=%d", s.limit), s.prefix, child)
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return -1
	}
	exited := make(chan struct{})
	var watched sync.WaitGroup
	if held != nil {
		watched.Add(1)
		go func() {
			defer watched.Done()
			s.watchStart(id, held, exited)
		}()
	}
	err := cmd.Wait()
	close(exited)
	watched.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// watchStart closes held once the log shows id's start, and gives up
// when its `conclave lock` exited without one.
func (s *lockRunners) watchStart(id string, held, exited chan struct{}) {
	for {
		gone := isDone(exited)
		data, _ := os.ReadFile(s.log)
		if strings.Contains(string(data), "start "+id+" ") {
			close(held)
			return
		}
		if gone {
			return
		}
		select {
		case <-exited:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *lockRunners) holdOn() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold, s.held, s.fenced = true, make(chan struct{}), make(chan int, 1)
}

func (s *lockRunners) waitHolding(ctx context.Context) error {
	s.mu.Lock()
	held := s.held
	s.mu.Unlock()
	select {
	case <-held:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("runner 0 never held %s: %w", s.prefix, ctx.Err())
	}
}

func (s *lockRunners) waitFenced(ctx context.Context) (int, error) {
	s.mu.Lock()
	fenced := s.fenced
	s.mu.Unlock()
	select {
	case code := <-fenced:
		return code, nil
	case <-ctx.Done():
		return 0, fmt.Errorf("the cut-off holder of %s was never stopped: %w", s.prefix, ctx.Err())
	}
}

func (s *lockRunners) exitCodes() map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes
}
