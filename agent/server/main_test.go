package server

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives its tests: every
// agent, server and listener a test starts must be shut down by it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
