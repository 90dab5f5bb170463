package template

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"conclave/internal/retry"
)

// TestDebouncerMergesABurst: 50 triggers in a row give one call; a later
// trigger gives another.
func TestDebouncerMergesABurst(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	d := NewDebouncer(200*time.Millisecond, time.Minute, func() { calls.Add(1) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Loop(ctx) }()
	defer func() { cancel(); <-done }()

	for range 50 {
		d.Trigger()
	}
	waitCalls := func(want int32) {
		t.Helper()
		retry.Run(t, 10*time.Second, func() error {
			if got := calls.Load(); got != want {
				return fmt.Errorf("calls = %d, want %d", got, want)
			}
			return nil
		})
	}
	waitCalls(1)
	d.Trigger()
	waitCalls(2)
}
