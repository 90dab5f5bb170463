package template

import (
	"testing"

	"conclave/internal/leaktest"
)

// TestMain fails the package if a goroutine outlives its tests: the
// agents the end-to-end tests start, and any Fetch left waiting, must be
// gone when they end.
func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}
