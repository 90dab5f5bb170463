package supervise

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"conclave/internal/retry"
)

// recorder is a shell child that appends "start <VALUE>" when it starts
// and the name of each signal it gets (HUP, USR1) to a file, and exits 0
// on TERM unless told to ignore it.
func recorder(t *testing.T, ignoreTerm bool) (script, log string) {
	t.Helper()
	log = filepath.Join(t.TempDir(), "log")
	term := `trap 'echo TERM >> "$LOG"; exit 0' TERM`
	if ignoreTerm {
		term = `trap 'echo TERM >> "$LOG"' TERM`
	}
	// The traps come first: "start" says the child is ready for signals.
	script = fmt.Sprintf(`LOG=%q; trap 'echo HUP >> "$LOG"' HUP; trap 'echo USR1 >> "$LOG"' USR1; %s; echo "start $VALUE" >> "$LOG"; while :; do sleep 0.02; done`, log, term)
	return script, log
}

func waitLog(t *testing.T, path string, want ...string) {
	t.Helper()
	retry.Run(t, 10*time.Second, func() error {
		data, _ := os.ReadFile(path)
		got := strings.Fields(strings.ReplaceAll(string(data), "start ", "start:"))
		if strings.Join(got, " ") != strings.Join(want, " ") {
			return fmt.Errorf("child log = %q, want %q", got, want)
		}
		return nil
	})
}

func newSupervisor(t *testing.T, cfg Config) *Supervisor {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

func TestSupervisorReloadsSignalsAndStops(t *testing.T) {
	t.Parallel()
	script, log := recorder(t, false)
	s := newSupervisor(t, Config{Command: []string{script}, ReloadSignal: syscall.SIGHUP})
	if err := s.Start(append(os.Environ(), "VALUE=a")); err != nil {
		t.Fatalf("Start() = %v", err)
	}
	waitLog(t, log, "start:a")
	if err := s.Reload(nil); err != nil {
		t.Fatalf("Reload() = %v", err)
	}
	waitLog(t, log, "start:a", "HUP")
	s.Signal(syscall.SIGUSR1)
	waitLog(t, log, "start:a", "HUP", "USR1")
	s.Stop()
	waitLog(t, log, "start:a", "HUP", "USR1", "TERM")
	select {
	case code := <-s.Exited():
		t.Errorf("Exited() = %d after Stop, want nothing: the child did not end on its own", code)
	default:
	}
}

func TestSupervisorRestartsWithoutReloadSignal(t *testing.T) {
	t.Parallel()
	script, log := recorder(t, false)
	s := newSupervisor(t, Config{Command: []string{script}})
	if err := s.Start(append(os.Environ(), "VALUE=a")); err != nil {
		t.Fatalf("Start() = %v", err)
	}
	waitLog(t, log, "start:a")
	if err := s.Reload(append(os.Environ(), "VALUE=b")); err != nil {
		t.Fatalf("Reload() = %v", err)
	}
	waitLog(t, log, "start:a", "TERM", "start:b")
}

func TestSupervisorKillsAfterTimeout(t *testing.T) {
	t.Parallel()
	script, log := recorder(t, true)
	s := newSupervisor(t, Config{Command: []string{script}, KillTimeout: 100 * time.Millisecond})
	if err := s.Start(nil); err != nil {
		t.Fatalf("Start() = %v", err)
	}
	waitLog(t, log, "start:")
	s.Stop() // returns only once the child is gone: TERM was ignored, KILL was not
	waitLog(t, log, "start:", "TERM")
}

func TestSupervisorExitStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		command []string
		want    int
	}{
		{[]string{"exit 7"}, 7},
		{[]string{"/bin/sh", "-c", "exit 3"}, 3},
		{[]string{"kill -KILL $$"}, 128 + 9},
		{[]string{"true"}, 0},
	} {
		s := newSupervisor(t, Config{Command: tc.command})
		if err := s.Start(nil); err != nil {
			t.Fatalf("Start(%q) = %v", tc.command, err)
		}
		select {
		case got := <-s.Exited():
			if got != tc.want {
				t.Errorf("Exited() of %q = %d, want %d", tc.command, got, tc.want)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%q did not exit", tc.command)
		}
	}
	s := newSupervisor(t, Config{Command: []string{"/nonexistent/program", "x"}})
	if err := s.Start(nil); err == nil {
		t.Errorf("Start(missing program) = nil, want an error")
	}
}
