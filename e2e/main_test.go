package e2e

import (
	"fmt"
	"os"
	"testing"

	"conclave/internal/leaktest"
	"conclave/internal/testutil"
)

// conclaveBin is the binary built once for the whole test run.
var conclaveBin string

// TestMain builds the binary, runs the tests, and fails the package if a
// goroutine outlives them (the in-process agents, and the child processes'
// watchers, must all be stopped by the tests that start them).
func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(withBinary{m})
}

// withBinary runs the tests with the binary built (goleak's TestingM).
type withBinary struct{ m *testing.M }

func (w withBinary) Run() int { return run(w.m) }

// run builds the binary into a temporary directory that outlives every
// test, and removes it afterwards. The binary is built without -race: the
// tests exercise its behaviour, and the race detector would only slow the
// child agents down.
func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "conclave-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	conclaveBin, err = testutil.BuildBinary(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return m.Run()
}
