package agent_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"conclave/agent/config"
	"conclave/internal/testutil"
)

// TestPidFile: pid_file holds the agent's process ID while it runs and is
// gone after it stops.
func TestPidFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "conclave.pid")
	a := testutil.NewAgent(t, testutil.AgentOptions{Tweak: func(c *config.Config) { c.Logging.PidFile = path }})
	got, err := os.ReadFile(path)
	if err != nil || string(got) != strconv.Itoa(os.Getpid()) {
		t.Errorf("pid file = %q, %v, want %d", got, err, os.Getpid())
	}
	if err := a.Shutdown(); err != nil {
		t.Fatalf("Shutdown() = %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file after shutdown: Stat() = %v, want it removed", err)
	}
}
