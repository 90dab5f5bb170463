package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gocmd "github.com/go-cmd/cmd"

	"conclave/internal/testutil"
)

// TestAgentLogFileAndMonitor runs the binary as an operator would:
// `agent -log-file dir/ -log-json -pid-file`, then `conclave monitor`
// against it, which shows a line the agent logs after it connected and
// exits 0 on Ctrl-C.
func TestAgentLogFileAndMonitor(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "conclave.pid")
	p := testutil.StartProcess(t, testutil.ProcessOptions{Bin: conclaveBin,
		Args: []string{"-dev", "-log-file", dir + "/logs/", "-log-json", "-pid-file", pidFile}})

	buf, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	pid, err := strconv.Atoi(string(buf))
	if err != nil || syscall.Kill(pid, 0) != nil {
		t.Fatalf("pid file = %q, want the running agent's process ID", buf)
	}
	logFile := filepath.Join(dir, "logs", "consul.log")
	testutil.Retry(t, 10*time.Second, func() error {
		b, err := os.ReadFile(logFile)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), `"@message":"agent started"`) {
			return os.ErrNotExist
		}
		return nil
	})

	mon := gocmd.NewCmdOptions(gocmd.Options{Streaming: true}, conclaveBin,
		"monitor", "-http-addr", p.HTTPAddr(), "-log-level", "info")
	status := mon.Start()
	t.Cleanup(func() { _ = mon.Stop() })
	// The agent logs this at info on every reload; keep reloading until
	// the monitor, once connected, shows it.
	// go-cmd blocks the child's output when its channels are full: read
	// both to the end (go-cmd closes them when the child exits).
	found := make(chan struct{})
	go func() {
		seen := false
		for line := range mon.Stdout {
			if !seen && strings.Contains(line, "[INFO]  agent: configuration reloaded") {
				seen = true
				close(found)
			}
		}
	}()
	go func() {
		for range mon.Stderr {
		}
	}()
	testutil.Retry(t, 20*time.Second, func() error {
		req, _ := http.NewRequest("PUT", "http://"+p.HTTPAddr()+"/v1/agent/reload", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		select {
		case <-found:
			return nil
		case <-time.After(200 * time.Millisecond):
			return os.ErrDeadlineExceeded
		}
	})
	if err := syscall.Kill(mon.Status().PID, syscall.SIGINT); err != nil {
		t.Fatalf("interrupt monitor: %v", err)
	}
	if s := <-status; s.Exit != 0 {
		t.Errorf("monitor after Ctrl-C exited %d, want 0", s.Exit)
	}

	if code := p.Signal(syscall.SIGTERM, 20*time.Second); code != 0 {
		t.Errorf("agent exit status = %d, want 0", code)
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file after shutdown: Stat() = %v, want it removed", err)
	}
}
