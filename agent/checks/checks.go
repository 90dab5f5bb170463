package checks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"

	"conclave/agent/structs"
)

// Defaults Consul documents for its check runners.
const (
	// DefaultTimeout bounds one HTTP, TCP or gRPC probe.
	DefaultTimeout = 10 * time.Second
	// DefaultScriptTimeout bounds one run of a script check.
	DefaultScriptTimeout = 30 * time.Second
	// MinInterval is the shortest interval the agent runs a check at;
	// shorter ones are raised to it (with a warning) as Consul does.
	// Runners themselves take any positive interval, so tests can be fast.
	MinInterval = time.Second
)

// Notifier receives check results. Runners call it from their own
// goroutines, concurrently, and it must not block for long.
type Notifier interface {
	UpdateCheck(checkID, status, output string)
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(checkID, status, output string)

// UpdateCheck calls f.
func (f NotifierFunc) UpdateCheck(checkID, status, output string) { f(checkID, status, output) }

// Runner is a started check. Stop ends it; once Stop returns, the runner
// makes no further Notifier calls.
type Runner interface {
	Stop()
}

// StatusHandler damps flapping between a runner and the Notifier: a check
// turns passing only after SuccessBeforePassing consecutive successes,
// warning after FailuresBeforeWarning consecutive failures and critical
// after FailuresBeforeCritical. Zero thresholds report every result at
// once. Results that do not reach a threshold are dropped, status and
// output alike, as in Consul.
type StatusHandler struct {
	inner  Notifier
	logger hclog.Logger

	successBeforePassing   int
	failuresBeforeWarning  int
	failuresBeforeCritical int

	mu        sync.Mutex
	successes int
	failures  int
}

// NewStatusHandler wraps inner. A zero failuresBeforeWarning means the
// same as failuresBeforeCritical (Consul's default).
func NewStatusHandler(inner Notifier, logger hclog.Logger, successBeforePassing, failuresBeforeWarning, failuresBeforeCritical int) *StatusHandler {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	if failuresBeforeWarning == 0 {
		failuresBeforeWarning = failuresBeforeCritical
	}
	return &StatusHandler{
		inner:                  inner,
		logger:                 logger,
		successBeforePassing:   successBeforePassing,
		failuresBeforeWarning:  failuresBeforeWarning,
		failuresBeforeCritical: failuresBeforeCritical,
	}
}

// UpdateCheck counts the result and passes it on once it reaches its
// threshold.
func (h *StatusHandler) UpdateCheck(checkID, status, output string) {
	h.mu.Lock()
	if status == structs.HealthPassing {
		h.successes++
		h.failures = 0
		if h.successes < h.successBeforePassing {
			n := h.successes
			h.mu.Unlock()
			h.logger.Debug("check passed, but not often enough in a row yet", "check", checkID,
				"successes", n, "success_before_passing", h.successBeforePassing)
			return
		}
		h.mu.Unlock()
		h.inner.UpdateCheck(checkID, status, output)
		return
	}
	h.failures++
	h.successes = 0
	n := h.failures
	h.mu.Unlock()
	switch {
	case n >= h.failuresBeforeCritical:
		h.inner.UpdateCheck(checkID, status, output)
	case n >= h.failuresBeforeWarning:
		h.inner.UpdateCheck(checkID, structs.HealthWarning, output)
	default:
		h.logger.Debug("check failed, but not often enough in a row yet", "check", checkID,
			"failures", n, "failures_before_critical", h.failuresBeforeCritical)
	}
}

// loop runs probe every interval on its own goroutine until stop. The
// first probe waits a random part of the interval, so checks registered
// together (at agent start) do not all fire at once.
type loop struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func startLoop(interval time.Duration, probe func(ctx context.Context)) *loop {
	if interval <= 0 {
		interval = MinInterval // never spin
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &loop{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTimer(rand.N(interval))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			probe(ctx)
			t.Reset(interval)
		}
	}()
	return l
}

// stop cancels a running probe and waits for the goroutine to end.
func (l *loop) stop() {
	l.cancel()
	<-l.done
}

// truncate keeps at most max bytes of output (cut at a rune boundary) and
// says how much was dropped.
func truncate(s string, max int) string {
	if max <= 0 {
		max = structs.DefaultCheckOutputMaxSize
	}
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf(" ... (captured %d of %d bytes)", cut, len(s))
}

// Truncate is truncate for callers outside the package (TTL updates
// through the API keep the same limit).
func Truncate(s string, max int) string { return truncate(s, max) }

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func loggerOr(l hclog.Logger) hclog.Logger {
	if l == nil {
		return hclog.NewNullLogger()
	}
	return l
}
