package commands

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"conclave/internal/lockcheck"
	"conclave/internal/testutil"
)

func TestNewCmdLock(t *testing.T) {
	t.Parallel()
	def := LockOptions{Limit: 1, MonitorRetry: lockMonitorRetries, Shell: true}
	with := func(f func(*LockOptions)) LockOptions { o := def; f(&o); return o }
	tests := []struct {
		args    []string
		want    LockOptions
		wantErr string
	}{
		{args: []string{"locks/job", "ls", "-la"}, want: with(func(o *LockOptions) { o.Prefix, o.Child = "locks/job", []string{"ls", "-la"} })},
		// Flags stop at PREFIX: the child's own flags, even ours by name, pass through.
		{args: []string{"-n", "3", "-try=5s", "-verbose", "/locks/x/", "./job.sh", "-n", "7", "--verbose"},
			want: with(func(o *LockOptions) {
				o.Prefix, o.Child, o.Limit, o.Try, o.Verbose = "locks/x", []string{"./job.sh", "-n", "7", "--verbose"}, 3, 5*time.Second, true
			})},
		{args: []string{"-timeout", "30m", "-shell=false", "-pass-stdin", "-child-exit-code", "-monitor-retry=0", "-name", "backup", "p", "c"},
			want: with(func(o *LockOptions) {
				o.Prefix, o.Child, o.Timeout, o.Shell, o.PassStdin, o.ChildExitCode, o.MonitorRetry, o.Name = "p", []string{"c"}, 30*time.Minute, false, true, true, 0, "backup"
			})},
		{args: nil, wantErr: "Missing PREFIX argument"},
		{args: []string{"locks/job"}, wantErr: `Missing CHILD command after PREFIX "locks/job"`},
		{args: []string{"/", "true"}, wantErr: "PREFIX must name a key prefix"},
		{args: []string{"-n=0", "p", "true"}, wantErr: "-n must be at least 1"},
		{args: []string{"-try=-1s", "p", "true"}, wantErr: "must not be negative"},
		{args: []string{"-monitor-retry=-1", "p", "true"}, wantErr: "-monitor-retry must not be negative"},
	}
	for _, tt := range tests {
		f, _, _ := testFactory()
		var got *LockOptions
		cmd := NewCmdLock(f, func(o *LockOptions) error { got = o; return nil })
		err := parseCmd(t, cmd, tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("lock %q: error = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("lock %q: error = %v", tt.args, err)
			continue
		}
		got.IO, got.HTTPClient, got.HTTP = nil, nil, nil
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("lock %q: options = %+v, want %+v", tt.args, *got, tt.want)
		}
	}
}

// childScript is a child that records its start and stop in log, holding
// the lock for a while in between.
func childScript(log, id string) string {
	return fmt.Sprintf("echo start %s >> %s; sleep 0.1; echo stop %s >> %s", id, log, id, log)
}

func TestLockRunsChildren(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	addr := "-http-addr=" + a.HTTPAddr()
	dir := t.TempDir()
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  result
	}{
		{"output", []string{"lock", addr, "locks/a", "echo", "hi;", "echo", "err", ">&2"}, "", result{"hi\n", "err\n", 0}},
		{"exit code", []string{"lock", addr, "locks/b", "exit 7"}, "", result{"", "", 7}},
		{"no shell", []string{"lock", addr, "-shell=false", "locks/c", "/bin/sh", "-c", "exit 9"}, "", result{"", "", 9}},
		{"consul exit rule, failure", []string{"lock", addr, "-child-exit-code", "locks/d", "exit 7"}, "", result{"", "", 2}},
		{"consul exit rule, success", []string{"lock", addr, "-child-exit-code", "locks/e", "true"}, "", result{"", "", 0}},
		{"killed by a signal", []string{"lock", addr, "locks/f", "kill -KILL $$"}, "", result{"", "", 137}},
		{"pass stdin", []string{"lock", addr, "-pass-stdin", "locks/g", "cat"}, "data\n", result{"data\n", "", 0}},
		{"stdin closed", []string{"lock", addr, "locks/h", "cat"}, "data\n", result{"", "", 0}},
		{"not found", []string{"lock", addr, "-shell=false", "locks/i", filepath.Join(dir, "nonexistent")}, "",
			result{"", "Error! Cannot start the child: fork/exec " + filepath.Join(dir, "nonexistent") + ": no such file or directory\n", 126}},
		{"verbose", []string{"lock", addr, "-verbose", "locks/j", "true"}, "", result{"", "Attempting to acquire lock at locks/j\n", 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, run{args: tt.args, stdin: tt.stdin})
			if tt.name == "verbose" {
				// The session ID in the rest changes from run to run.
				got.stderr, _, _ = strings.Cut(got.stderr, "Lock acquired")
			}
			if got != tt.want {
				t.Errorf("%q = %+v, want %+v", tt.args, got, tt.want)
			}
		})
	}
	// Every run released its lock and destroyed its session.
	api := testutil.APIClient(t, a)
	if list, _, err := api.Session().List(nil); err != nil || len(list) != 0 {
		t.Errorf("sessions after the runs = %v, %v; want none", list, err)
	}
	if keys, _, err := api.KV().Keys("locks/", "", nil); err != nil || len(keys) != 0 {
		t.Errorf("keys after the runs = %v, %v; want none", keys, err)
	}
}

// TestLockNeverOverlaps runs several `lock` commands at once on one prefix
// (and a semaphore of 2 on another): their children's records must never
// show more holders than allowed.
func TestLockNeverOverlaps(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	addr := "-http-addr=" + a.HTTPAddr()
	for _, limit := range []int{1, 2} {
		log := filepath.Join(t.TempDir(), "log")
		var wg sync.WaitGroup
		results := make([]result, 5)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = runCLI(t, run{args: []string{"lock", addr, fmt.Sprintf("-n=%d", limit), "locks/once", childScript(log, fmt.Sprint(i))}})
			}()
		}
		wg.Wait()
		for i, r := range results {
			if r != (result{}) {
				t.Errorf("-n %d: run %d = %+v, want exit 0 and no output", limit, i, r)
			}
		}
		data, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		if err := lockcheck.Check(string(data), limit); err != nil {
			t.Errorf("-n %d: %v\n%s", limit, err, data)
		}
		if n := strings.Count(string(data), "stop"); n != len(results) {
			t.Errorf("-n %d: %d children ran to the end, want %d\n%s", limit, n, len(results), data)
		}
	}
}

func TestLockTryTimesOut(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	addr := "-http-addr=" + a.HTTPAddr()
	api := testutil.APIClient(t, a)
	held, err := api.LockKey("locks/t/.lock")
	if err != nil {
		t.Fatal(err)
	}
	if lost, err := held.Lock(nil); lost == nil || err != nil {
		t.Fatalf("api Lock() = %v, %v", lost, err)
	}
	defer held.Unlock()
	sem, err := api.SemaphorePrefix("locks/s", 2)
	if err != nil {
		t.Fatal(err)
	}
	if lost, err := sem.Acquire(nil); lost == nil || err != nil {
		t.Fatalf("api Semaphore Acquire() = %v, %v", lost, err)
	}
	defer sem.Release()

	marker := filepath.Join(t.TempDir(), "ran")
	tests := []struct {
		args []string
		want result
	}{
		{[]string{"lock", addr, "-try=300ms", "locks/t", "touch " + marker}, result{"", "Lock acquisition timed out: locks/t was not acquired\n", ExitLockTimeout}},
		{[]string{"lock", addr, "-timeout=300ms", "locks/t", "touch " + marker}, result{"", "Lock acquisition timed out: locks/t was not acquired\n", ExitLockTimeout}},
		// One slot of two is free; a third holder would have to wait.
		{[]string{"lock", addr, "-n=2", "locks/s", "echo in"}, result{"in\n", "", 0}},
		{[]string{"lock", addr, "-n=3", "-try=300ms", "locks/s", "true"},
			result{"", "Lock acquisition failed: semaphore locks/s: semaphore limit conflict (lock: 2, local: 3)\n", 1}},
		{[]string{"lock", addr, "locks/s", "true"}, result{"", "Lock acquisition failed: lock locks/s/.lock: existing key does not match lock use\n", 1}},
		// A semaphore window is T - M - S = 11 s: 11 retries 1 s apart cannot fit.
		{[]string{"lock", addr, "-n=2", "-monitor-retry=11", "locks/s", "true"},
			result{"", "Error! 11 monitor retries 1s apart (11s) outlast the fence window of 11s (TTL 15s + lock-delay 0s - margin 1s - stop time 3s): another holder could get in while this one still runs\n", 1}},
	}
	for _, tt := range tests {
		if got := runCLI(t, run{args: tt.args}); got != tt.want {
			t.Errorf("%q = %+v, want %+v", tt.args, got, tt.want)
		}
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a child ran without the lock: %s exists (%v)", marker, err)
	}
}

// TestLockFencesChildWhenLost destroys the session of a running `lock`:
// the child's group is stopped and lock exits ExitLockLost.
func TestLockFencesChildWhenLost(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	api := testutil.APIClient(t, a)
	dir := t.TempDir()
	ready, pidFile := filepath.Join(dir, "ready"), filepath.Join(dir, "pid")
	// The grandchild ignores TERM: only the KILL after the grace ends it.
	child := fmt.Sprintf("(trap '' TERM; exec sleep 30) & echo $! > %s; touch %s; wait", pidFile, ready)
	out := make(chan result, 1)
	go func() {
		out <- runCLI(t, run{args: []string{"lock", "-http-addr=" + a.HTTPAddr(), "locks/lost", child}})
	}()
	var session string
	testutil.Retry(t, 10*time.Second, func() error {
		p, _, err := api.KV().Get("locks/lost/.lock", nil)
		if err != nil || p == nil || p.Session == "" {
			return fmt.Errorf("lock not held yet: %v, %v", p, err)
		}
		if _, err := os.Stat(ready); err != nil {
			return err
		}
		session = p.Session
		return nil
	})
	if _, err := api.Session().Destroy(session, nil); err != nil {
		t.Fatal(err)
	}
	got := <-out
	want := result{"", "Lock lost: lock lost: locks/lost/.lock is no longer held by session " + session +
		"; stopping the child (TERM, KILL after 2s)\nChild stopped: the lock was lost\n", ExitLockLost}
	if got != want {
		t.Errorf("lock after its session was destroyed = %+v, want %+v", got, want)
	}
	pid, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	// Killed, it is gone or a zombie waiting for init to reap it. The KILL
	// is queued when conclave exits and the kernel acts on it when the
	// process next runs, so it may still show as running for a moment; a
	// grandchild that escaped the fence stays running for its whole sleep.
	testutil.Retry(t, 5*time.Second, func() error {
		stat, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/stat")
		if err == nil && !strings.Contains(string(stat), ") Z ") {
			return fmt.Errorf("the grandchild (pid %s) outlived the fence: %s", strings.TrimSpace(string(pid)), stat)
		}
		return nil
	})
}
