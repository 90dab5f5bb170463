package watch_test

import (
	"testing"

	"conclave/internal/leaktest"
)

// TestMain fails the package if a goroutine outlives its tests: a
// runner, a handler's child or an agent a test starts must be gone.
func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}
