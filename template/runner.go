package template

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"conclave/client"
	"conclave/template/supervise"
)

// DefaultReloadDebounce is how long reload triggers (renders, SIGHUP) are
// gathered before a template's command runs or the child is reloaded.
const DefaultReloadDebounce = 100 * time.Millisecond

// TemplateConfig is one template: consul-template's `template` block.
type TemplateConfig struct {
	// Source is the template file; Contents, when set, is the template
	// itself (one of the two).
	Source, Contents string
	// Destination is the file to write; "-" is standard output.
	Destination string
	// Command runs through /bin/sh -c after a render changed the file, at
	// most CommandTimeout (default 30 s). A failure is logged only.
	Command        string
	CommandTimeout time.Duration
	// File says how Destination is written.
	File FileOptions
	// LeftDelim and RightDelim replace "{{" and "}}".
	LeftDelim, RightDelim string
	// Wait overrides the global quiescence when set.
	Wait *Wait
	// ErrMissingKey makes a missing map key an error.
	ErrMissingKey bool
	// MissingTimeout overrides the global one when positive.
	MissingTimeout time.Duration
	// ExecReloadSignal, when set, is what the exec child gets after a
	// change of this template instead of ExecConfig.ReloadSignal; a
	// pointer to 0 restarts the child.
	ExecReloadSignal *syscall.Signal
}

// Name is how the template is named in logs: source and destination.
func (t *TemplateConfig) Name() string {
	src := t.Source
	if src == "" {
		src = "(contents)"
	}
	return src + ":" + t.Destination
}

// ExecConfig is the child of exec mode.
type ExecConfig struct {
	// Command is the child: one element runs through /bin/sh -c.
	Command []string
	// ReloadSignal goes to the child after a render changed something
	// (default for `template`: SIGHUP); 0 restarts the child instead.
	ReloadSignal syscall.Signal
	// KillSignal and KillTimeout stop it; Splay delays signals randomly.
	KillSignal  syscall.Signal
	KillTimeout time.Duration
	Splay       time.Duration
	// Env is the child's environment; nil is conclave's own.
	Env []string
}

// Config is a whole `conclave template` run.
type Config struct {
	Client    *client.Client
	Templates []*TemplateConfig
	// Once renders every template once and returns (after the child, in
	// exec mode, exits); the first error fails the run.
	Once bool
	// Dry writes every template to Stdout as "> destination" and the
	// content, and runs no commands.
	Dry bool
	// Wait is the default quiescence of every template.
	Wait Wait
	// MissingTimeout is the default of TemplateConfig.MissingTimeout.
	MissingTimeout time.Duration
	MaxStale       time.Duration
	Retry          Retry
	// Exec, when set, supervises a child (exec mode).
	Exec *ExecConfig
	// ReloadSignal re-renders every template and reloads (default SIGHUP);
	// KillSignal ends the run without a child (default SIGINT). Without a
	// child, SIGTERM ends it too; with one, every signal but ReloadSignal
	// is passed on to the child.
	ReloadSignal, KillSignal syscall.Signal
	// Env is what env/mustEnv read and commands run with; nil is
	// conclave's own environment.
	Env []string
	// ReloadDebounce gathers reload triggers (default
	// DefaultReloadDebounce).
	ReloadDebounce time.Duration
	// BlockedLogEvery is EngineConfig.BlockedLogEvery.
	BlockedLogEvery time.Duration

	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Logger         hclog.Logger
}

// Run renders the templates and keeps them current until ctx ends, a
// signal from signals ends the run, or (exec mode) the child exits. It
// returns the exit status: the child's exactly in exec mode, else 0; err
// is set (and the status 1) when the run failed.
func Run(ctx context.Context, cfg Config, signals <-chan os.Signal) (int, error) {
	if len(cfg.Templates) == 0 {
		return 1, errors.New("no templates given")
	}
	r := newRun(ctx, cfg)
	defer r.cancel()
	var jobs []*Job
	for _, t := range cfg.Templates {
		j, err := r.templateJob(t)
		if err != nil {
			return 1, err
		}
		jobs = append(jobs, j)
	}
	return r.run(jobs, signals)
}

// runner is the state of one run shared by `template` and `env`.
type runner struct {
	// ctx ends the run's goroutines (watchers, command loops, reloads).
	ctx    context.Context
	cancel context.CancelFunc
	cfg    Config
	log    hclog.Logger
	files  *fileWriter
	stdout io.Writer
	stderr io.Writer

	wg       sync.WaitGroup // command loops
	reread   atomic.Bool    // template sources are read again (SIGHUP)
	childEnv func() []string
	sup      *supervise.Supervisor
	reload   *Debouncer
	childUp  bool // the child was started; only the engine's loop reads it

	mu       sync.Mutex
	reloads  map[syscall.Signal]bool // what the next reload sends; 0: restart
	signals  map[string]syscall.Signal
	startErr chan error // the child could not be started
}

func newRun(ctx context.Context, cfg Config) *runner {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	if cfg.ReloadDebounce <= 0 {
		cfg.ReloadDebounce = DefaultReloadDebounce
	}
	if cfg.ReloadSignal == 0 {
		cfg.ReloadSignal = syscall.SIGHUP
	}
	if cfg.KillSignal == 0 {
		cfg.KillSignal = syscall.SIGINT
	}
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	ctx, cancel := context.WithCancel(ctx)
	return &runner{ctx: ctx, cancel: cancel, cfg: cfg, log: cfg.Logger, files: newFileWriter(cfg.Logger), stdout: cfg.Stdout,
		stderr: cfg.Stderr, startErr: make(chan error, 1)}
}

// templateJob turns a template into an engine job: render with the
// template language, write the destination, trigger the command.
func (r *runner) templateJob(t *TemplateConfig) (*Job, error) {
	if (t.Source == "") == (t.Contents == "") {
		return nil, fmt.Errorf("template %s: give exactly one of source and contents", t.Name())
	}
	if t.Destination == "" && !r.cfg.Dry {
		return nil, fmt.Errorf("template %s: no destination", t.Name())
	}
	contents := t.Contents
	read := func() error {
		if t.Source == "" {
			return nil
		}
		data, err := os.ReadFile(t.Source)
		if err != nil {
			return fmt.Errorf("reading template: %w", err)
		}
		contents = string(data)
		return nil
	}
	if err := read(); err != nil {
		return nil, fmt.Errorf("template %s: %w", t.Name(), err)
	}
	seen := r.reread.Load()
	job := &Job{
		Name:           t.Name(),
		Wait:           r.cfg.Wait,
		MissingTimeout: r.cfg.MissingTimeout,
		Render: func(rc Recaller) (*Outcome, error) {
			// A SIGHUP reads the sources again, so an edited template
			// takes effect without a restart.
			if now := r.reread.Load(); now != seen {
				seen = now
				if err := read(); err != nil {
					return nil, err
				}
			}
			res, err := Render(&RenderInput{Name: t.Source, Contents: contents, LeftDelim: t.LeftDelim,
				RightDelim: t.RightDelim, ErrMissingKey: t.ErrMissingKey, Recaller: rc, Env: r.cfg.Env})
			if err != nil {
				return nil, err
			}
			return &Outcome{Output: res.Output, Used: res.Used, Missing: res.Missing}, nil
		},
	}
	if t.Wait != nil {
		job.Wait = *t.Wait
	}
	if t.MissingTimeout > 0 {
		job.MissingTimeout = t.MissingTimeout
	}
	if t.ExecReloadSignal != nil {
		if r.signals == nil {
			r.signals = map[string]syscall.Signal{}
		}
		r.signals[job.Name] = *t.ExecReloadSignal
	}
	command := r.commandRunner(t)
	job.Apply = func(out []byte) (bool, error) {
		switch {
		case r.cfg.Dry:
			_, err := fmt.Fprintf(r.stdout, "> %s\n%s", t.Destination, out)
			return true, err
		case t.Destination == "-":
			_, err := r.stdout.Write(out)
			return true, err
		}
		changed, err := r.files.write(t.Destination, out, t.File)
		if err != nil {
			return false, err
		}
		if changed {
			r.log.Info("rendered", "template", t.Name())
			command()
		}
		return changed, nil
	}
	return job, nil
}

// commandRunner returns what runs t's command after a render: at once
// with Once (the run waits for it), else through a debouncer, so a burst
// of renders runs it once.
func (r *runner) commandRunner(t *TemplateConfig) func() {
	if t.Command == "" || r.cfg.Dry {
		return func() {}
	}
	run := func() {
		r.log.Info("running command", "template", t.Name(), "command", t.Command)
		if err := runShell(r.ctx, t.Command, t.CommandTimeout, r.cfg.Env, r.stdout, r.stderr); err != nil {
			r.log.Error("command after render failed", "template", t.Name(), "error", err)
		}
	}
	if r.cfg.Once {
		return run
	}
	d := NewDebouncer(r.cfg.ReloadDebounce, 0, run)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		d.Loop(r.ctx)
	}()
	return d.Trigger
}

// run drives the engine, the child and the signals until the end.
func (r *runner) run(jobs []*Job, signals <-chan os.Signal) (int, error) {
	ctx := r.ctx
	defer func() {
		r.cancel()
		r.wg.Wait()
		if r.sup != nil {
			r.sup.Stop()
		}
	}()
	if x := r.cfg.Exec; x != nil {
		sup, err := supervise.New(supervise.Config{Command: x.Command, Stdin: r.cfg.Stdin, Stdout: r.stdout,
			Stderr: r.stderr, ReloadSignal: x.ReloadSignal, KillSignal: x.KillSignal,
			KillTimeout: x.KillTimeout, Splay: x.Splay, Logger: r.log.Named("exec")})
		if err != nil {
			return 1, err
		}
		r.sup = sup
		if r.childEnv == nil {
			r.childEnv = func() []string { return x.Env }
		}
		r.reload = NewDebouncer(r.cfg.ReloadDebounce, 0, r.reloadChild)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.reload.Loop(ctx)
		}()
	}
	engine, err := NewEngine(EngineConfig{Client: r.cfg.Client, Jobs: jobs, Once: r.cfg.Once,
		MaxStale: r.cfg.MaxStale, Retry: r.cfg.Retry, BlockedLogEvery: r.cfg.BlockedLogEvery,
		Logger: r.log, OnChange: r.onChange})
	if err != nil {
		return 1, err
	}
	engineDone := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		engineDone <- engine.Run(ctx)
	}()
	defer func() {
		r.cancel()
		<-finished
	}()

	var exited <-chan int
	if r.sup != nil {
		exited = r.sup.Exited()
	}
	for {
		select {
		case <-ctx.Done():
			return 0, nil
		case err := <-engineDone:
			engineDone = nil
			if err != nil {
				return 1, err
			}
			if r.sup == nil || ctx.Err() != nil {
				return 0, nil
			}
			// Once in exec mode: everything rendered; the child runs on
			// and its exit ends the run.
		case code := <-exited:
			return code, nil
		case err := <-r.startErr:
			return 1, err
		case sig := <-signals:
			s, _ := sig.(syscall.Signal)
			switch {
			case s == r.cfg.ReloadSignal:
				r.log.Info("re-rendering", "signal", sig)
				r.reread.Store(!r.reread.Load())
				engine.Rerender()
			case r.sup != nil:
				r.log.Debug("passing signal to the child", "signal", sig)
				r.sup.Signal(s)
			case s == r.cfg.KillSignal || s == syscall.SIGTERM || s == syscall.SIGINT:
				r.log.Info("stopping", "signal", sig)
				return 0, nil
			}
		}
	}
}

// onChange starts the child after the first complete render and reloads
// it after later ones. Called from the engine's loop.
func (r *runner) onChange(c Change) {
	if r.sup == nil {
		return
	}
	if c.First {
		r.childUp = true
		if err := r.sup.Start(r.childEnv()); err != nil {
			r.startErr <- err
		}
		return
	}
	// Renders before the first complete one are in what the child starts
	// with: nothing to reload.
	if !r.childUp || r.cfg.Once || (len(c.Jobs) == 0 && !c.Reload) {
		return
	}
	def := r.cfg.Exec.ReloadSignal
	r.mu.Lock()
	if r.reloads == nil {
		r.reloads = map[syscall.Signal]bool{}
	}
	if c.Reload {
		r.reloads[def] = true
	}
	for _, name := range c.Jobs {
		sig, ok := r.signals[name]
		if !ok {
			sig = def
		}
		r.reloads[sig] = true
	}
	r.mu.Unlock()
	r.reload.Trigger()
}

// reloadChild tells the child what changed since the last reload: a
// restart if one of the changed templates asks for it, else each
// distinct reload signal once.
func (r *runner) reloadChild() {
	r.mu.Lock()
	sigs := r.reloads
	r.reloads = nil
	r.mu.Unlock()
	if sigs[0] {
		if err := r.sup.Restart(r.childEnv()); err != nil {
			r.log.Error("restarting the child failed", "error", err)
		}
		return
	}
	for sig := range sigs {
		if err := r.sup.ReloadWith(sig, r.childEnv()); err != nil {
			r.log.Error("reloading the child failed", "error", err)
		}
	}
}
