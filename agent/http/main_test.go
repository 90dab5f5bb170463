package http

import (
	"testing"

	"conclave/internal/leaktest"
)

// TestMain fails the package if a goroutine outlives its tests: every
// agent, server and listener a test starts must be shut down by it.
func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}
