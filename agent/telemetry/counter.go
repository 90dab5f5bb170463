package telemetry

import (
	"sync"
	"sync/atomic"

	metrics "github.com/hashicorp/go-metrics/compat"
)

// Counter is a go-metrics counter for a hot path. Passing every increment
// through the sinks cost a server about 7 % of its CPU under KV reads (one
// counter per read: the in-memory sink and the Prometheus sink each build
// the metric's name and take a lock); Add is one atomic add instead, and
// the running agents hand the sum to go-metrics once a second. Totals are
// the same; a count may show up to a second late. Timers stay per call:
// their quantiles need each sample.
type Counter struct {
	key []string
	n   atomic.Uint64
}

var counters struct {
	mu  sync.Mutex
	all []*Counter
}

// NewCounter makes a batched counter named key (without the
// metrics_prefix, as go-metrics' functions take it). Counters live as long
// as the process: make them once, in package variables.
func NewCounter(key ...string) *Counter {
	c := &Counter{key: key}
	counters.mu.Lock()
	counters.all = append(counters.all, c)
	counters.mu.Unlock()
	return c
}

// Add counts n more.
func (c *Counter) Add(n uint64) { c.n.Add(n) }

// flushCounters hands every counter's sum since the last flush to
// go-metrics. Any running agent's loop may call it: the sums go to the
// process-wide hub, which every agent receives from.
func flushCounters() {
	counters.mu.Lock()
	all := counters.all
	counters.mu.Unlock()
	for _, c := range all {
		if v := c.n.Swap(0); v > 0 {
			metrics.IncrCounter(c.key, float32(v))
		}
	}
}
