package template

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"conclave/client"
)

// watcher is the one blocking-query loop for one distinct dependency. Its
// goroutine only fetches and sends; the engine's loop owns everything
// else (jobs, has, value, stopped).
type watcher struct {
	dep    Dependency
	cancel context.CancelFunc

	jobs    map[*jobState]struct{}
	has     bool
	value   any
	stopped bool
}

// watchEvent is a watcher's news: a new value, or (err set) that it gave up.
type watchEvent struct {
	w     *watcher
	value any
	err   error
}

func (e *Engine) startWatcher(d Dependency) *watcher {
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{dep: d, cancel: cancel, jobs: map[*jobState]struct{}{}}
	e.log.Debug("watching", "dependency", d.String())
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.watch(ctx, w)
	}()
	return w
}

func (w *watcher) stop() {
	w.stopped = true
	w.cancel()
}

// watch fetches w's data, then (unless Once) waits for it to change with
// blocking queries, forever: failures are retried with backoff.
func (e *Engine) watch(ctx context.Context, w *watcher) {
	var index uint64
	failures := 0
	for {
		opts := &client.QueryOptions{WaitIndex: index, AllowStale: e.cfg.MaxStale > 0, MaxStale: e.cfg.MaxStale}
		value, next, err := w.dep.Fetch(ctx, e.cfg.Client, opts)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			if e.cfg.Once || (e.cfg.Retry.Attempts != 0 && failures > max(e.cfg.Retry.Attempts, 0)) {
				e.send(ctx, watchEvent{w: w, err: fmt.Errorf("reading %s: %w", w.dep, err)})
				return
			}
			pause := backoff(e.cfg.Retry, failures)
			e.log.Warn("read failed; retrying", "dependency", w.dep.String(), "error", err,
				"failures", failures, "retry_in", pause.Round(time.Millisecond).String())
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
			continue
		}
		failures = 0
		// An index that did not move is a blocking query that ran out
		// with nothing new; one that went backwards (a restored snapshot)
		// starts over, as Consul's blocking-query rules ask.
		if index > 0 && next == index {
			continue
		}
		if next < index {
			next = 0
		}
		index = max(next, 1)
		if !e.send(ctx, watchEvent{w: w, value: value}) || e.cfg.Once {
			return
		}
	}
}

func (e *Engine) send(ctx context.Context, ev watchEvent) bool {
	select {
	case e.updates <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// backoff is the pause after the n-th failure in a row: Backoff doubled
// per failure up to MaxBackoff, drawn between half and all of it so that
// watchers that failed together do not come back together.
func backoff(r Retry, n int) time.Duration {
	d := r.Backoff
	for i := 1; i < n && d < r.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, r.MaxBackoff)
	half := d / 2
	return half + rand.N(d-half+1)
}
