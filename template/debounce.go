package template

import (
	"context"
	"time"
)

// Debouncer turns bursts of triggers into one call: run is called once no
// trigger came for Quiet, or Max after the first trigger of a burst if
// they keep coming. Calls never overlap; triggers during a call give one
// more call after it.
type Debouncer struct {
	quiet, max time.Duration
	run        func()
	kick       chan struct{}
}

// NewDebouncer builds a debouncer of run; Loop drives it. A zero quiet
// still merges triggers that arrive while run is running.
func NewDebouncer(quiet, maxDelay time.Duration, run func()) *Debouncer {
	if maxDelay < quiet {
		maxDelay = 4 * quiet
	}
	return &Debouncer{quiet: quiet, max: maxDelay, run: run, kick: make(chan struct{}, 1)}
}

// Trigger asks for a call. It never blocks.
func (d *Debouncer) Trigger() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Loop calls run as triggered until ctx ends; a burst pending then is
// dropped.
func (d *Debouncer) Loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.kick:
		}
		if d.quiet > 0 && !d.settle(ctx) {
			return
		}
		d.run()
	}
}

// settle waits for the burst to end; false if ctx ended first.
func (d *Debouncer) settle(ctx context.Context) bool {
	deadline := time.Now().Add(d.max)
	t := time.NewTimer(d.quiet)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-d.kick:
			t.Reset(min(d.quiet, max(time.Until(deadline), 0)))
		}
	}
}
