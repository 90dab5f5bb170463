package template

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"conclave/client"
)

// Outcome is what one render of a job produced: its output and the
// dependencies it read (Used) or wanted but had no data for (Missing).
// A job with Missing dependencies is not complete and is not applied.
type Outcome struct {
	Output  []byte
	Used    []Dependency
	Missing []Dependency
}

// recall reads d for a render, noting it as used, and as missing when
// it has no value yet.
func (o *Outcome) recall(rc Recaller, d Dependency) (any, bool) {
	o.Used = append(o.Used, d)
	v, ok := rc.Recall(d)
	if !ok {
		o.Missing = append(o.Missing, d)
	}
	return v, ok
}

// Job is one thing the engine keeps current: a template file, or the
// environment of `conclave env`'s child.
type Job struct {
	// Name identifies the job in logs and errors (the template's source or
	// destination).
	Name string
	// Render produces the job's output from what the engine has fetched.
	// It must not block or fetch: it reports what it missed instead. It is
	// called from the engine's loop only.
	Render func(Recaller) (*Outcome, error)
	// Apply takes a complete output that differs from the last one applied
	// (or the first one) and reports whether anything changed (a file's
	// content, say). An error stops the engine. Called from the engine's
	// loop only.
	Apply func(out []byte) (changed bool, err error)
	// Wait is the quiescence of this job: after a change, it renders once
	// no further change came for Wait.Min, and at the latest Wait.Max
	// after the first. Not applied to the first render. Zero: render at
	// once.
	Wait Wait
	// MissingTimeout, when positive, makes the engine fail when the job has
	// waited this long for a dependency (a key that does not exist, a
	// service with no data) instead of waiting forever.
	MissingTimeout time.Duration
}

// Wait is a quiescence window: Min of calm, at most Max in total.
type Wait struct {
	Min, Max time.Duration
}

// Normalize fills in Max as consul-template does (4 × Min) when only Min
// is given.
func (w Wait) Normalize() Wait {
	if w.Min > 0 && w.Max < w.Min {
		w.Max = 4 * w.Min
	}
	return w
}

// Retry says how a watcher rides out failed reads: Backoff doubles per
// failure up to MaxBackoff, each pause drawn between half and all of it.
type Retry struct {
	// Attempts is how many failures in a row are ridden out before the
	// engine fails; 0 means forever, and a negative number none.
	Attempts int
	// Backoff is the first pause (default 250 ms).
	Backoff time.Duration
	// MaxBackoff caps the pause (default 1 min).
	MaxBackoff time.Duration
}

// Change is reported to EngineConfig.OnChange after the engine applied
// something.
type Change struct {
	// Jobs names the jobs whose Apply reported a change, in order.
	Jobs []string
	// First is true exactly once: when every job has been applied at least
	// once (the moment `-exec` starts its child).
	First bool
	// Reload is true when the change came from Rerender (a SIGHUP): the
	// supervised child is reloaded even if nothing changed.
	Reload bool
}

// EngineConfig configures an Engine.
type EngineConfig struct {
	// Client reads the data. Required.
	Client *client.Client
	// Jobs are kept current. At least one.
	Jobs []*Job
	// Once fetches each dependency once (no blocking queries), applies
	// every job once and returns; the first failed read is an error.
	Once bool
	// MaxStale, when positive, lets any server answer the reads (?stale)
	// whose last contact with its leader is at most this long ago; a
	// staler answer is read again from the leader.
	MaxStale time.Duration
	// Retry is the backoff of failed reads (not used with Once).
	Retry Retry
	// BlockedLogEvery is how often a job that waits for data logs what
	// it waits for. Default 30 s.
	BlockedLogEvery time.Duration
	// Logger receives the engine's messages. Default: none.
	Logger hclog.Logger
	// OnChange, when set, is called from the engine's loop after a pass
	// that applied a change (and once with First set). It must not block
	// for long: the engine does nothing else meanwhile.
	OnChange func(Change)
}

// Engine renders jobs from data it watches: one watcher per distinct
// Dependency.String() across all jobs, started when a render first asks
// for it and stopped when no job's last render used it.
type Engine struct {
	cfg      EngineConfig
	log      hclog.Logger
	jobs     []*jobState
	watchers map[string]*watcher
	wg       sync.WaitGroup // every watcher goroutine, stopped or not

	updates  chan watchEvent
	timers   chan timerEvent
	rerender chan struct{}
	done     chan struct{} // closed when Run returns: timers firing late give up

	applied int  // jobs applied at least once
	first   bool // Change.First was reported
}

// jobState is the engine's book-keeping for one job; owned by the loop.
type jobState struct {
	*Job
	index   int
	deps    map[string]bool // dependencies of its last render
	dirty   bool            // data it read changed since its last render
	applied bool
	last    []byte

	missing      []string  // what its last render missed
	waitingSince time.Time // zero when complete
	waitGen      int       // tells stale missing/blocked timers apart

	quiet        *time.Timer // quiescence, see Job.Wait
	quietSince   time.Time
	quietPending bool
}

type timerKind int

const (
	timerQuiet timerKind = iota
	timerMissing
	timerBlockedLog
)

type timerEvent struct {
	job  *jobState
	kind timerKind
	gen  int
}

// NewEngine checks cfg and builds an engine; Run starts it.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if cfg.Client == nil {
		return nil, errors.New("template engine: no client")
	}
	if len(cfg.Jobs) == 0 {
		return nil, errors.New("template engine: no templates")
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.BlockedLogEvery <= 0 {
		cfg.BlockedLogEvery = 30 * time.Second
	}
	if cfg.Retry.Backoff <= 0 {
		cfg.Retry.Backoff = 250 * time.Millisecond
	}
	if cfg.Retry.MaxBackoff < cfg.Retry.Backoff {
		cfg.Retry.MaxBackoff = max(time.Minute, cfg.Retry.Backoff)
	}
	e := &Engine{
		cfg:      cfg,
		log:      cfg.Logger,
		watchers: map[string]*watcher{},
		updates:  make(chan watchEvent, 64),
		timers:   make(chan timerEvent, 16),
		rerender: make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	for i, j := range cfg.Jobs {
		if j.Render == nil || j.Apply == nil {
			return nil, fmt.Errorf("template engine: job %q lacks Render or Apply", j.Name)
		}
		jc := *j
		jc.Wait = j.Wait.Normalize()
		e.jobs = append(e.jobs, &jobState{Job: &jc, index: i, deps: map[string]bool{}, dirty: true})
	}
	return e, nil
}

// Recall is the engine's Recaller: the last value fetched for d.
func (e *Engine) Recall(d Dependency) (any, bool) {
	w := e.watchers[d.String()]
	if w == nil || !w.has {
		return nil, false
	}
	return w.value, true
}

// Rerender asks the loop to render every job again and report a Reload
// change (SIGHUP). Safe from any goroutine; requests made while one is
// pending are merged.
func (e *Engine) Rerender() {
	select {
	case e.rerender <- struct{}{}:
	default:
	}
}

// Watching is the number of running watchers (distinct dependencies).
// Only meaningful after Run returned, or from OnChange.
func (e *Engine) Watching() int { return len(e.watchers) }

// Run keeps the jobs current until ctx ends (then it returns nil) or
// something fails: a render or apply error, a missing timeout, a failed
// read with Once or after Retry.Attempts. With Once it returns nil once
// every job has been applied.
func (e *Engine) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		close(e.done)
		for _, w := range e.watchers {
			w.stop()
		}
		e.wg.Wait()
		for _, j := range e.jobs {
			if j.quiet != nil {
				j.quiet.Stop()
			}
		}
	}()
	for {
		if err := e.pass(ctx, false); err != nil {
			return err
		}
		if e.cfg.Once && e.applied == len(e.jobs) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case ev := <-e.updates:
			if err := e.absorb(ev); err != nil {
				return err
			}
			// Take whatever else has arrived, so that a burst of updates
			// gives one render.
			for more := true; more; {
				select {
				case ev := <-e.updates:
					if err := e.absorb(ev); err != nil {
						return err
					}
				default:
					more = false
				}
			}
		case te := <-e.timers:
			if err := e.timer(te); err != nil {
				return err
			}
		case <-e.rerender:
			for _, j := range e.jobs {
				j.dirty = true
			}
			if err := e.pass(ctx, true); err != nil {
				return err
			}
		}
	}
}

// absorb records a watcher's news and marks the jobs that read it.
func (e *Engine) absorb(ev watchEvent) error {
	w := ev.w
	if w.stopped {
		return nil // a late answer from a watcher no job needs any more
	}
	if ev.err != nil {
		return ev.err // fatal: the watcher gave up
	}
	w.value, w.has = ev.value, true
	for j := range w.jobs {
		j.dirty = true
	}
	return nil
}

func (e *Engine) timer(te timerEvent) error {
	j := te.job
	switch te.kind {
	case timerQuiet:
		j.quietPending = false
		return e.renderApply(j, false)
	case timerMissing:
		if te.gen == j.waitGen && !j.waitingSince.IsZero() {
			return fmt.Errorf("template %s: still missing after %s: %s", j.Name, j.MissingTimeout, strings.Join(j.missing, ", "))
		}
	case timerBlockedLog:
		if te.gen == j.waitGen && !j.waitingSince.IsZero() {
			e.log.Warn("template is waiting for data", "template", j.Name,
				"for", time.Since(j.waitingSince).Round(time.Second).String(), "missing", strings.Join(j.missing, ", "))
			e.after(e.cfg.BlockedLogEvery, timerEvent{job: j, kind: timerBlockedLog, gen: j.waitGen})
		}
	}
	e.report(nil, false)
	return nil
}

// pass renders every dirty job: at once, or after its quiescence.
func (e *Engine) pass(ctx context.Context, reload bool) error {
	var changed []string
	for _, j := range e.jobs {
		if !j.dirty || ctx.Err() != nil {
			continue
		}
		if j.applied && j.Wait.Min > 0 && !reload {
			j.dirty = false
			e.quiesce(j)
			continue
		}
		did, err := e.render(j)
		if err != nil {
			return err
		}
		if did {
			changed = append(changed, j.Name)
		}
	}
	e.report(changed, reload)
	return nil
}

// renderApply renders one job (a quiescence timer ran out) and reports.
func (e *Engine) renderApply(j *jobState, reload bool) error {
	did, err := e.render(j)
	if err != nil {
		return err
	}
	if did {
		e.report([]string{j.Name}, reload)
	}
	return nil
}

// report tells OnChange what changed, and once that all jobs are there.
func (e *Engine) report(changed []string, reload bool) {
	first := !e.first && e.applied == len(e.jobs)
	if first {
		e.first = true
	}
	if (len(changed) > 0 || first || reload) && e.cfg.OnChange != nil {
		e.cfg.OnChange(Change{Jobs: changed, First: first, Reload: reload})
	}
}

// quiesce (re)arms j's quiescence timer: Min after this change, but no
// later than Max after the first change it is holding back.
func (e *Engine) quiesce(j *jobState) {
	now := time.Now()
	if !j.quietPending {
		j.quietPending, j.quietSince = true, now
	}
	d := min(j.Wait.Min, time.Until(j.quietSince.Add(j.Wait.Max)))
	if j.quiet != nil {
		j.quiet.Stop()
	}
	j.quiet = e.after(max(d, 0), timerEvent{job: j, kind: timerQuiet})
}

func (e *Engine) after(d time.Duration, te timerEvent) *time.Timer {
	return time.AfterFunc(d, func() {
		select {
		case e.timers <- te:
		case <-e.done:
		}
	})
}

// render renders j, moves its watchers to what it read, and applies a
// complete output that differs from the last. It reports whether Apply
// changed something.
func (e *Engine) render(j *jobState) (bool, error) {
	j.dirty = false
	out, err := j.Render(e)
	if err != nil {
		return false, fmt.Errorf("template %s: %w", j.Name, err)
	}
	e.retarget(j, out)
	if len(out.Missing) > 0 {
		j.missing = depNames(out.Missing)
		if j.waitingSince.IsZero() {
			j.waitingSince = time.Now()
			j.waitGen++
			e.after(e.cfg.BlockedLogEvery, timerEvent{job: j, kind: timerBlockedLog, gen: j.waitGen})
			if j.MissingTimeout > 0 {
				e.after(j.MissingTimeout, timerEvent{job: j, kind: timerMissing, gen: j.waitGen})
			}
		}
		e.log.Debug("template is missing data", "template", j.Name, "missing", strings.Join(j.missing, ", "))
		return false, nil
	}
	if !j.waitingSince.IsZero() {
		j.waitingSince, j.missing = time.Time{}, nil
		j.waitGen++
	}
	if j.applied && bytes.Equal(out.Output, j.last) {
		return false, nil
	}
	changed, err := j.Apply(out.Output)
	if err != nil {
		return false, fmt.Errorf("template %s: %w", j.Name, err)
	}
	j.last = out.Output
	if !j.applied {
		j.applied = true
		e.applied++
	}
	return changed, nil
}

// retarget points j at the dependencies of its last render: watchers are
// shared by String and stopped when the last job lets go of them.
func (e *Engine) retarget(j *jobState, out *Outcome) {
	want := make(map[string]Dependency, len(out.Used)+len(out.Missing))
	for _, ds := range [][]Dependency{out.Used, out.Missing} {
		for _, d := range ds {
			want[d.String()] = d
		}
	}
	for key, d := range want {
		if j.deps[key] {
			continue
		}
		w := e.watchers[key]
		if w == nil {
			w = e.startWatcher(d)
			e.watchers[key] = w
		}
		w.jobs[j] = struct{}{}
		j.deps[key] = true
	}
	for key := range j.deps {
		if _, ok := want[key]; ok {
			continue
		}
		delete(j.deps, key)
		w := e.watchers[key]
		delete(w.jobs, j)
		if len(w.jobs) == 0 {
			w.stop()
			delete(e.watchers, key)
			e.log.Debug("stopped watching", "dependency", key)
		}
	}
}

func depNames(ds []Dependency) []string {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.String()
	}
	sort.Strings(names)
	return names
}
