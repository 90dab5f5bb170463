package commands

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"conclave/internal/leaktest"
)

// TestMain fails the package if a goroutine outlives its tests: agents,
// taps and clients must all be shut down by the tests that start them.
// It also removes the binary built for the lock signal tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if code == 0 {
		if err := goleak.Find(leaktest.Ignored()...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
