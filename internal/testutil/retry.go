package testutil

import (
	"testing"
	"time"
)

// Retry calls fn until it returns nil, failing the test with fn's last error
// once timeout has passed. The timeout bounds the wait; it is not a claim
// about speed.
func Retry(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	delay := 5 * time.Millisecond
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %v: %v", timeout, err)
		}
		time.Sleep(delay)
		if delay < 200*time.Millisecond {
			delay *= 2
		}
	}
}
