package logging

import (
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
)

// monitorBuffer is how many lines a monitor holds for a slow client
// before it drops lines (and says how many) rather than slow the agent:
// logging must never wait for a reader.
const monitorBuffer = 512

// Monitor receives the agent's log lines at its own level and format
// until Stop. It is safe for concurrent use.
type Monitor struct {
	logger  hclog.InterceptLogger
	sink    hclog.SinkAdapter
	lines   chan []byte
	dropped atomic.Int64
	once    sync.Once
}

// NewMonitor starts receiving what logger (and every logger named from
// it) logs at level or above, one formatted line per entry: hclog's text
// form, or a JSON object when json is set.
func NewMonitor(logger hclog.InterceptLogger, level hclog.Level, json bool) *Monitor {
	m := &Monitor{logger: logger, lines: make(chan []byte, monitorBuffer)}
	m.sink = hclog.NewSinkAdapter(&hclog.LoggerOptions{
		Level:      level,
		JSONFormat: json,
		Output:     (*monitorWriter)(m),
	})
	logger.RegisterSink(m.sink)
	return m
}

// Lines are the log lines, each ending in a newline.
func (m *Monitor) Lines() <-chan []byte { return m.lines }

// Dropped returns how many lines were dropped since the last call because
// the reader fell behind.
func (m *Monitor) Dropped() int64 { return m.dropped.Swap(0) }

// Stop stops receiving lines. Safe to call twice.
func (m *Monitor) Stop() {
	m.once.Do(func() { m.logger.DeregisterSink(m.sink) })
}

// monitorWriter is the sink's output. hclog writes each entry with one
// Write, and reuses its buffer afterwards, so the line is copied.
type monitorWriter Monitor

func (w *monitorWriter) Write(p []byte) (int, error) {
	select {
	case w.lines <- append([]byte(nil), p...):
	default:
		w.dropped.Add(1)
	}
	return len(p), nil
}
