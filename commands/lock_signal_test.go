package commands

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"conclave/internal/testutil"
)

var (
	binOnce sync.Once
	binDir  string // removed by TestMain
	binPath string
	binErr  error
)

// conclaveBinary builds the binary once for the tests that must signal a
// real `conclave lock` process.
func conclaveBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "conclave-lock-test")
		if binErr == nil {
			binPath, binErr = testutil.BuildBinary(binDir)
		}
	})
	if binErr != nil {
		t.Fatalf("building conclave: %v", binErr)
	}
	return binPath
}

// startLock starts `conclave lock args...` as a process of its own.
func startLock(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	return startConclave(t, append([]string{"lock"}, args...)...)
}

// startConclave starts `conclave args...` as a process of its own, in
// its own process group, killed with the test. Read its output only once
// it has exited.
func startConclave(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(conclaveBinary(t), args...)
	cmd.Env = testutil.CleanEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A child that outlives conclave keeps the output pipes open.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	return cmd, &stdout, &stderr
}

func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	timer := time.AfterFunc(time.Minute, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("waiting for conclave: %v", err)
	}
	return 0
}

// TestLockForwardsSignals sends INT, TERM and HUP to conclave alone: the
// child's group gets it, and conclave exits with the child's status.
func TestLockForwardsSignals(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		ready := filepath.Join(t.TempDir(), "ready")
		child := fmt.Sprintf("trap 'echo got %d; exit 42' %d; touch %s; while :; do sleep 0.1; done", sig, sig, ready)
		cmd, stdout, stderr := startLock(t, "-http-addr="+a.HTTPAddr(), fmt.Sprintf("locks/sig%d", sig), child)
		testutil.Retry(t, 30*time.Second, func() error { _, err := os.Stat(ready); return err })
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		if code := exitCode(t, cmd); code != 42 || stdout.String() != fmt.Sprintf("got %d\n", sig) {
			t.Errorf("conclave lock after %v: exit %d, stdout %q, stderr %q; want 42, %q", sig, code, stdout, stderr, fmt.Sprintf("got %d\n", sig))
		}
	}
	if list, _, err := testutil.APIClient(t, a).Session().List(nil); err != nil || len(list) != 0 {
		t.Errorf("sessions after the runs = %v, %v; want none", list, err)
	}
}

// TestLockSignalWhileWaiting interrupts a conclave lock still waiting for
// the lock: it exits 128+2 and the child never runs.
func TestLockSignalWhileWaiting(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	api := testutil.APIClient(t, a)
	held, err := api.LockKey("locks/wait/.lock")
	if err != nil {
		t.Fatal(err)
	}
	if lost, err := held.Lock(nil); lost == nil || err != nil {
		t.Fatalf("api Lock() = %v, %v", lost, err)
	}
	defer held.Unlock()
	marker := filepath.Join(t.TempDir(), "ran")
	cmd, _, stderr := startLock(t, "-http-addr="+a.HTTPAddr(), "locks/wait", "touch "+marker)
	// Its session exists once it is waiting.
	testutil.Retry(t, 30*time.Second, func() error {
		list, _, err := api.Session().List(nil)
		if err != nil || len(list) < 2 {
			return fmt.Errorf("%d sessions, %v", len(list), err)
		}
		return nil
	})
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != 130 || stderr.String() != "Lock acquisition interrupted by interrupt\n" {
		t.Errorf("conclave lock interrupted while waiting: exit %d, stderr %q; want 130", code, stderr)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the child ran: %s exists (%v)", marker, err)
	}
	if list, _, err := api.Session().List(nil); err != nil || len(list) != 1 {
		t.Errorf("sessions after the interrupted wait = %d, %v; want only the holder's", len(list), err)
	}
}

// TestLockChildDiesWithConclave SIGKILLs conclave alone: no fence runs,
// so the kernel must KILL the child.
func TestLockChildDiesWithConclave(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	cmd, _, _ := startLock(t, "-http-addr="+a.HTTPAddr(), "locks/crash", "echo $$ > "+pidFile+"; exec sleep 30")
	var pid string
	testutil.Retry(t, 30*time.Second, func() error {
		b, err := os.ReadFile(pidFile)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return fmt.Errorf("no pid yet: %v", err)
		}
		pid = strings.TrimSpace(string(b))
		return nil
	})
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	testutil.Retry(t, 10*time.Second, func() error {
		// Gone, or a zombie waiting for init to reap it.
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err == nil && !strings.Contains(string(stat), ") Z ") {
			return fmt.Errorf("child %s still running: %s", pid, stat)
		}
		return nil
	})
}
