package telemetry

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	metrics "github.com/hashicorp/go-metrics/compat"
)

// hub is the process-wide sink behind go-metrics' global functions: it
// hands every metric to the agents that joined it. Emitting reads one
// atomic pointer, so a metric costs nothing more than a loop over the
// agents; joining and leaving copy the list.
type hub struct {
	mu    sync.Mutex // serialises join and leave
	sinks atomic.Pointer[[]metrics.MetricSink]
}

var (
	theHub     hub
	installHub sync.Once
)

// joinHub makes s receive every metric emitted in this process, installing
// the hub as go-metrics' global on first use. The global object adds no
// prefix, hostname or filter: each agent's own object does.
func joinHub(s metrics.MetricSink) {
	installHub.Do(func() {
		conf := &metrics.Config{FilterDefault: true, TimerGranularity: time.Millisecond}
		// New fails only for a bad filter, and this one has none.
		_, _ = metrics.NewGlobal(conf, &theHub)
	})
	theHub.mu.Lock()
	defer theHub.mu.Unlock()
	var next []metrics.MetricSink
	if cur := theHub.sinks.Load(); cur != nil {
		next = slices.Clone(*cur)
	}
	next = append(next, s)
	theHub.sinks.Store(&next)
}

// leaveHub stops s receiving metrics.
func leaveHub(s metrics.MetricSink) {
	theHub.mu.Lock()
	defer theHub.mu.Unlock()
	cur := theHub.sinks.Load()
	if cur == nil {
		return
	}
	next := slices.DeleteFunc(slices.Clone(*cur), func(x metrics.MetricSink) bool { return x == s })
	theHub.sinks.Store(&next)
}

// each calls fn for every agent's sink. The methods below clip key and
// labels first: go-metrics prepends the prefix with append, which would
// write into spare capacity of the caller's slice, and so into what the
// next agent (or the caller's next call) reads.
func (h *hub) each(fn func(metrics.MetricSink)) {
	if p := h.sinks.Load(); p != nil {
		for _, s := range *p {
			fn(s)
		}
	}
}

func (h *hub) SetGauge(key []string, val float32) {
	key = slices.Clip(key)
	h.each(func(s metrics.MetricSink) { s.SetGauge(key, val) })
}

func (h *hub) SetGaugeWithLabels(key []string, val float32, labels []metrics.Label) {
	key = slices.Clip(key)
	labels = slices.Clip(labels)
	h.each(func(s metrics.MetricSink) { s.SetGaugeWithLabels(key, val, labels) })
}

func (h *hub) EmitKey(key []string, val float32) {
	key = slices.Clip(key)
	h.each(func(s metrics.MetricSink) { s.EmitKey(key, val) })
}

func (h *hub) IncrCounter(key []string, val float32) {
	h.IncrCounterWithLabels(key, val, nil)
}

func (h *hub) IncrCounterWithLabels(key []string, val float32, labels []metrics.Label) {
	if c := batched(key, val, labels); c != nil {
		c.Add(1)
		return
	}
	h.deliverCounter(key, val, labels)
}

// deliverCounter hands a counter increment to every agent's sink.
func (h *hub) deliverCounter(key []string, val float32, labels []metrics.Label) {
	key = slices.Clip(key)
	labels = slices.Clip(labels)
	h.each(func(s metrics.MetricSink) { s.IncrCounterWithLabels(key, val, labels) })
}

func (h *hub) AddSample(key []string, val float32) {
	key = slices.Clip(key)
	h.each(func(s metrics.MetricSink) { s.AddSample(key, val) })
}

func (h *hub) AddSampleWithLabels(key []string, val float32, labels []metrics.Label) {
	key = slices.Clip(key)
	labels = slices.Clip(labels)
	h.each(func(s metrics.MetricSink) { s.AddSampleWithLabels(key, val, labels) })
}
