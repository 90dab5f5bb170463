package commands

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives its tests: agents,
// taps and clients must all be shut down by the tests that start them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
