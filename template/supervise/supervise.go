package supervise

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	gocmd "github.com/go-cmd/cmd"
	"github.com/hashicorp/go-hclog"
)

// Defaults of Config (consul-template's and envconsul's).
const (
	DefaultKillSignal  = syscall.SIGTERM
	DefaultKillTimeout = 30 * time.Second
)

// Config describes the child and how to treat it.
type Config struct {
	// Command is the child's command line: the program and its
	// arguments, or a single string (consul-template's exec { command =
	// "..." }), see commandLine.
	Command []string
	// Stdin, when set, is handed to the first child (not to restarts: a
	// stream can be read once).
	Stdin io.Reader
	// Stdout and Stderr receive the child's output; nil discards it.
	Stdout, Stderr io.Writer
	// ReloadSignal is sent to the child's group by Reload; 0 makes Reload
	// restart the child instead.
	ReloadSignal syscall.Signal
	// KillSignal stops the child (default SIGTERM); KillTimeout later
	// (default 30 s) its group gets SIGKILL.
	KillSignal  syscall.Signal
	KillTimeout time.Duration
	// Splay, when positive, delays each reload and stop signal by a random
	// time up to Splay, so that many hosts do not reload at once.
	Splay time.Duration
	// Logger receives what the supervisor does. Default: none.
	Logger hclog.Logger
}

// Supervisor runs one child at a time. Its methods are safe for
// concurrent use.
type Supervisor struct {
	cfg    Config
	log    hclog.Logger
	exited chan int

	mu      sync.Mutex
	child   *run // nil before Start and after Stop
	stopped bool
}

// run is one child process.
type run struct {
	cmd *gocmd.Cmd
	ec  *exec.Cmd // set before it starts; ProcessState once done
	// deliberate is set when the supervisor ends the child itself, so its
	// exit is not the child's own.
	deliberate bool
}

// New checks cfg; Start runs the child.
func New(cfg Config) (*Supervisor, error) {
	if len(cfg.Command) == 0 || cfg.Command[0] == "" {
		return nil, errors.New("supervise: no command")
	}
	if cfg.KillSignal == 0 {
		cfg.KillSignal = DefaultKillSignal
	}
	if cfg.KillTimeout <= 0 {
		cfg.KillTimeout = DefaultKillTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	return &Supervisor{cfg: cfg, log: cfg.Logger, exited: make(chan int, 1)}, nil
}

// Exited delivers the child's exit status when it ends on its own (not
// through Stop, Restart or a restarting Reload): its exit code, or 128+N
// when signal N ended it.
func (s *Supervisor) Exited() <-chan int { return s.exited }

// Start runs the child with env (nil: conclave's own environment). It
// fails if the child could not be started.
func (s *Supervisor) Start(env []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startLocked(env, s.cfg.Stdin)
}

func (s *Supervisor) startLocked(env []string, stdin io.Reader) error {
	if s.stopped {
		return errors.New("supervise: stopped")
	}
	argv := commandLine(s.cfg.Command)
	name, args := argv[0], argv[1:]
	r := &run{}
	r.cmd = gocmd.NewCmdOptions(gocmd.Options{BeforeExec: []func(*exec.Cmd){func(ec *exec.Cmd) {
		// Straight through: the child's output is the user's, byte for byte.
		ec.Stdout, ec.Stderr = s.cfg.Stdout, s.cfg.Stderr
		ec.WaitDelay = time.Second
		r.ec = ec
	}}}, name, args...)
	r.cmd.Env = env
	var done <-chan gocmd.Status
	if stdin != nil {
		done = r.cmd.StartWithStdin(stdin)
	} else {
		done = r.cmd.Start()
	}
	// Wait until it runs (or failed to), so a signal sent right after
	// Start reaches it.
	for started := false; !started && r.cmd.Status().PID == 0; {
		select {
		case <-r.cmd.Done(): // ran and ended already, or never ran
			if st := r.cmd.Status(); st.PID == 0 {
				return fmt.Errorf("starting %q: %w", s.cfg.Command, st.Error)
			}
			started = true
		case <-time.After(time.Millisecond):
		}
	}
	s.child = r
	s.log.Info("child started", "pid", r.cmd.Status().PID, "command", s.cfg.Command)
	go s.await(r, done)
	return nil
}

// shellChars make a one-string command need a shell.
const shellChars = "|&;<>()$`\\\"'*?[]#~=%{}\n"

// commandLine is the argv that runs command. A single string is split
// into words and run directly when it is plain words ("nginx -c x.cfg"),
// so that the child itself leads its process group and gets the reload
// signal; with shell syntax it runs by /bin/sh -c, and a signal to the
// group reaches the shell too (use "exec prog" there to keep a reload
// signal from ending the shell).
func commandLine(command []string) []string {
	if len(command) > 1 {
		return command
	}
	if !strings.ContainsAny(command[0], shellChars) {
		// A shell builtin ("exit 3") is no program: the shell runs it.
		if words := strings.Fields(command[0]); len(words) > 0 {
			if _, err := exec.LookPath(words[0]); err == nil {
				return words
			}
		}
	}
	return []string{"/bin/sh", "-c", command[0]}
}

// await reports r's exit unless the supervisor ended it.
func (s *Supervisor) await(r *run, done <-chan gocmd.Status) {
	<-done
	code := exitStatus(r)
	s.mu.Lock()
	own := !r.deliberate
	if s.child == r {
		s.child = nil
	}
	s.mu.Unlock()
	if own {
		s.log.Info("child exited", "status", code)
		select {
		case s.exited <- code:
		default:
		}
	}
}

// exitStatus is the shell's view of how r ended.
func exitStatus(r *run) int {
	if r.ec == nil || r.ec.ProcessState == nil {
		return 127
	}
	if ws, ok := r.ec.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return r.ec.ProcessState.ExitCode()
}

// Signal sends sig to the child's process group (a no-op without child).
func (s *Supervisor) Signal(sig syscall.Signal) {
	s.mu.Lock()
	r := s.child
	s.mu.Unlock()
	if r != nil {
		signalGroup(r, sig)
	}
}

func signalGroup(r *run, sig syscall.Signal) {
	if pid := r.cmd.Status().PID; pid > 0 {
		_ = syscall.Kill(-pid, sig)
	}
}

// Reload tells the child its inputs changed: ReloadSignal after the
// splay, or a restart with env when ReloadSignal is 0.
func (s *Supervisor) Reload(env []string) error {
	return s.ReloadWith(s.cfg.ReloadSignal, env)
}

// ReloadWith is Reload with sig in place of ReloadSignal.
func (s *Supervisor) ReloadWith(sig syscall.Signal, env []string) error {
	if sig == 0 {
		return s.Restart(env)
	}
	s.splay()
	s.log.Debug("reloading child", "signal", sig)
	s.Signal(sig)
	return nil
}

// Restart stops the child (as Stop does) and starts it again with env.
func (s *Supervisor) Restart(env []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.log.Info("restarting child")
	s.stopLocked()
	return s.startLocked(env, nil)
}

// Stop ends the child: KillSignal after the splay, SIGKILL to its group
// KillTimeout later, and waits for it. Later calls do nothing.
func (s *Supervisor) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
	s.stopped = true
}

func (s *Supervisor) stopLocked() {
	r := s.child
	if r == nil {
		return
	}
	r.deliberate = true
	s.splay()
	signalGroup(r, s.cfg.KillSignal)
	t := time.NewTimer(s.cfg.KillTimeout)
	defer t.Stop()
	select {
	case <-r.cmd.Done():
	case <-t.C:
		s.log.Warn("child did not stop in time; killing it", "timeout", s.cfg.KillTimeout)
		signalGroup(r, syscall.SIGKILL)
		<-r.cmd.Done()
	}
	s.child = nil
}

func (s *Supervisor) splay() {
	if s.cfg.Splay > 0 {
		time.Sleep(rand.N(s.cfg.Splay))
	}
}
