package jepsen

import (
	"context"
	"fmt"
	"math"
	"os"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// History records operations and fault events as they happen. It is safe
// for concurrent use.
type History struct {
	start time.Time

	mu     sync.Mutex
	ops    []porcupine.Operation
	events []porcupine.Annotation
	counts struct{ ok, unknown, failed int }
}

// NewHistory starts the clock every timestamp is measured on.
func NewHistory() *History { return &History{start: time.Now()} }

// Now is the time since the history started, in nanoseconds, from the
// monotonic clock.
func (h *History) Now() int64 { return int64(time.Since(h.start)) }

// Add records a completed operation. An operation whose outcome is unknown
// is given a return time after every other operation, as porcupine expects
// for calls that may take effect at any point after they were made.
func (h *History) Add(client int, in Input, out Output, call, ret int64, note string) {
	if out.Unknown {
		ret = math.MaxInt64
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if out.Unknown {
		h.counts.unknown++
	} else {
		h.counts.ok++
	}
	h.ops = append(h.ops, porcupine.Operation{
		ClientId: client, Input: in, Output: out, Call: call, Return: ret, Metadata: note,
	})
}

// Failed counts an operation that certainly did not take effect (a read
// that failed, or a write that never reached a server); it is left out of
// the history.
func (h *History) Failed() {
	h.mu.Lock()
	h.counts.failed++
	h.mu.Unlock()
}

// Event records a fault or other happening of the run for the
// visualization.
func (h *History) Event(start, end int64, format string, args ...any) {
	h.mu.Lock()
	h.events = append(h.events, porcupine.Annotation{
		Tag: "nemesis", Start: start, End: end, Description: fmt.Sprintf(format, args...),
		BackgroundColor: "#fde2c8",
	})
	h.mu.Unlock()
}

// Operations returns a copy of the recorded operations.
func (h *History) Operations() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]porcupine.Operation(nil), h.ops...)
}

// Summary is one line of counts for the test log.
func (h *History) Summary() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	kinds := map[OpKind]int{}
	casOK := 0
	for _, op := range h.ops {
		in, out := op.Input.(Input), op.Output.(Output)
		kinds[in.Kind]++
		if in.Kind == OpCAS && out.OK && !out.Unknown {
			casOK++
		}
	}
	return fmt.Sprintf("%d ops recorded (%d get, %d put, %d cas of which %d succeeded), %d with unknown outcome, %d failed and left out, %d fault events",
		len(h.ops), kinds[OpGet], kinds[OpPut], kinds[OpCAS], casOK, h.counts.unknown, h.counts.failed, len(h.events))
}

// CheckResult is the verdict on a history.
type CheckResult struct {
	// Result is porcupine's verdict: Ok, Illegal, or Unknown when the check
	// ran out of time.
	Result porcupine.CheckResult
	// Visualization is the path of porcupine's HTML rendering of the
	// history, written when the result is not Ok.
	Visualization string
	// Elapsed is how long the check took.
	Elapsed time.Duration
}

// Check runs porcupine over the history with the KV model. When the
// history is not linearizable (or the check timed out) it writes the
// visualization to a temporary file and returns its path.
func (h *History) Check(timeout time.Duration) (CheckResult, error) {
	ops := h.Operations()
	t0 := time.Now()
	res, info := porcupine.CheckOperationsVerbose(kvModel, ops, timeout)
	cr := CheckResult{Result: res, Elapsed: time.Since(t0)}
	if res == porcupine.Ok {
		return cr, nil
	}
	h.mu.Lock()
	info.AddAnnotations(h.events)
	h.mu.Unlock()
	f, err := os.CreateTemp("", "conclave-jepsen-*.html")
	if err != nil {
		return cr, fmt.Errorf("visualization: %w", err)
	}
	defer f.Close()
	if err := porcupine.Visualize(kvModel, info, f); err != nil {
		return cr, fmt.Errorf("visualization: %w", err)
	}
	cr.Visualization = f.Name()
	return cr, nil
}

// checkTimeout bounds the checker by limit and by ctx's deadline, keeping
// a little time to report.
func checkTimeout(ctx context.Context, limit time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl) - 10*time.Second; left < limit {
			return max(left, time.Second)
		}
	}
	return limit
}
