package telemetry

import (
	"slices"
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
	// viaHub marks a counter that stands in for a library's own
	// (libraryCounters): its sum goes straight to the hub's sinks, since
	// passing it through go-metrics' functions would batch it again.
	viaHub bool
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
		v := c.n.Swap(0)
		switch {
		case v == 0:
		case c.viaHub:
			theHub.deliverCounter(c.key, float32(v), nil)
		default:
			metrics.IncrCounter(c.key, float32(v))
		}
	}
}

// libraryCounters are counters a library bumps by one per request through
// go-metrics' functions, which the hub batches as Counter does. raft's
// raft.apply counts every Apply: under KV writes it was one of the two
// metrics each PUT paid for in full (the in-memory sink building its name
// and taking its lock, per agent).
var libraryCounters = []*Counter{newLibraryCounter("raft", "apply")}

func newLibraryCounter(key ...string) *Counter {
	c := NewCounter(key...)
	c.viaHub = true
	return c
}

// batched returns the library counter named key when an increment of val
// with labels can be batched: unlabelled and whole.
func batched(key []string, val float32, labels []metrics.Label) *Counter {
	if len(labels) != 0 || val != 1 {
		return nil
	}
	for _, c := range libraryCounters {
		if slices.Equal(c.key, key) {
			return c
		}
	}
	return nil
}
