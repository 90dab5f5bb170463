package testutil

import (
	"testing"
	"time"

	"conclave/internal/retry"
)

// Retry calls fn until it returns nil, failing the test with fn's last error
// once timeout has passed (see retry.Run).
func Retry(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	retry.Run(t, timeout, fn)
}
