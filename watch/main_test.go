package watch_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives its tests: a
// runner, a handler's child or an agent a test starts must be gone.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
