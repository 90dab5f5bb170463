package retry

import (
	"testing"
	"time"
)

// Run calls fn until it returns nil, failing the test with fn's last error
// once timeout has passed. The timeout bounds the wait; it is not a claim
// about speed.
func Run(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %v: %v", timeout, err)
		}
		time.Sleep(delay)
	}
}
