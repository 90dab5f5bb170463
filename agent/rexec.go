package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	gocmd "github.com/go-cmd/cmd"

	"conclave/agent/structs"
)

// Remote exec, the agent's side, on Consul's _rexec layout so that
// `consul exec` and `conclave exec` drive either agent: the caller writes
// the job to <prefix>/<session>/job and fires a "_rexec" event naming the
// prefix and session; an agent the event's filters select, with remote
// exec enabled, writes <node>/ack, runs the job, writes its output in
// chunks <node>/out/<%05x> and finally <node>/exit, each under the
// caller's session (so they vanish with it).
const (
	remoteExecEvent = "_rexec"
	// rexecChunk is the largest output chunk; rexecIdle is how long
	// output may wait for more before it is written anyway.
	rexecChunk = 4 * 1024
	rexecIdle  = 500 * time.Millisecond
	// rexecCallTimeout bounds each KV call of a job.
	rexecCallTimeout = 15 * time.Second
	// rexecRefusedCode is the exit code of a command exec_allowed_commands
	// refuses (the shell's "cannot execute").
	rexecRefusedCode = 126
)

// rexecEventPayload is the "_rexec" event's payload (Consul's JSON).
type rexecEventPayload struct {
	Prefix  string
	Session string
}

// rexecSpec is the job (Consul's JSON): a shell command, or Args run
// directly, or a script; Wait is the heartbeat interval, in nanoseconds.
type rexecSpec struct {
	Command string
	Args    []string
	Script  []byte
	Wait    time.Duration
}

// startRemoteExec runs the job of a "_rexec" event on its own goroutine,
// unless remote exec is disabled: then the agent writes nothing, so the
// caller sees it never acknowledge, and it needs no KV access at all.
func (a *Agent) startRemoteExec(e *structs.UserEvent) {
	if a.config.DisableRemoteExec {
		a.logger.Info("ignoring remote exec job: remote exec is disabled on this agent (disable_remote_exec)", "event", e.ID)
		return
	}
	var ev rexecEventPayload
	if err := json.Unmarshal(e.Payload, &ev); err != nil || ev.Prefix == "" || ev.Session == "" {
		a.logger.Warn("ignoring remote exec event with a bad payload", "event", e.ID, "error", err)
		return
	}
	a.jobs.run(func() { a.remoteExec(ev) })
}

// remoteExec runs one job to the end, writing its ack, output and exit.
func (a *Agent) remoteExec(ev rexecEventPayload) {
	ctx := a.jobs.ctx
	log := a.logger.With("session", ev.Session)
	spec, err := a.rexecSpec(ctx, ev)
	if err != nil {
		log.Error("remote exec: reading the job failed", "error", err)
		return
	}
	if err := a.rexecWrite(ctx, ev, "ack", nil); err != nil {
		log.Error("remote exec: acknowledging failed", "error", err)
		return
	}
	out := &rexecOutput{a: a, ev: ev, kick: make(chan struct{}, 1)}
	code := 0
	if reason := a.rexecRefusal(spec); reason != "" {
		log.Warn("remote exec: refused", "reason", reason)
		fmt.Fprintln(out, reason)
		code = rexecRefusedCode
		out.flush(ctx)
	} else {
		log.Info("remote exec", "command", spec.describe())
		code = a.rexecRun(ctx, spec, out)
	}
	if out.err != nil {
		log.Error("remote exec: writing output failed", "error", out.err)
		code = 255
	}
	if err := a.rexecWrite(ctx, ev, "exit", []byte(strconv.Itoa(code))); err != nil {
		log.Error("remote exec: writing the exit code failed", "error", err)
	}
}

// describe is the job as a log line and for exec_allowed_commands.
func (s *rexecSpec) describe() string {
	if len(s.Args) > 0 {
		return strings.Join(s.Args, " ")
	}
	return s.Command
}

// rexecRefusal is why exec_allowed_commands refuses spec, or "".
func (a *Agent) rexecRefusal(spec *rexecSpec) string {
	allowed := a.config.ExecAllowedCommands
	if len(allowed) == 0 {
		return ""
	}
	if len(spec.Script) > 0 {
		return fmt.Sprintf("%s: remote exec refused: scripts are not allowed when exec_allowed_commands is set", a.config.NodeName)
	}
	cmd := strings.TrimSpace(spec.describe())
	for _, ok := range allowed {
		if cmd == ok || strings.HasPrefix(cmd, ok+" ") {
			return ""
		}
	}
	return fmt.Sprintf("%s: remote exec refused: %q is not in exec_allowed_commands", a.config.NodeName, cmd)
}

// rexecSpec reads the job: a stale read first (any server answers, which
// spreads the load of a fleet-wide job), then a consistent one if the
// job has not reached that server yet.
func (a *Agent) rexecSpec(ctx context.Context, ev rexecEventPayload) (*rexecSpec, error) {
	key := path.Join(ev.Prefix, ev.Session, "job")
	for _, stale := range []bool{true, false} {
		args := structs.KeyRequest{Datacenter: a.config.Datacenter, Key: key}
		args.AllowStale = stale
		var out structs.IndexedDirEntries
		cctx, cancel := context.WithTimeout(ctx, rexecCallTimeout)
		err := a.RPC(cctx, "KVS.Get", &args, &out)
		cancel()
		if err != nil {
			return nil, err
		}
		if len(out.Entries) == 0 {
			continue
		}
		var spec rexecSpec
		if err := json.Unmarshal(out.Entries[0].Value, &spec); err != nil {
			return nil, fmt.Errorf("decoding job %s: %w", key, err)
		}
		return &spec, nil
	}
	return nil, fmt.Errorf("job %s not found", key)
}

// rexecWrite writes <prefix>/<session>/<node>/<suffix> under the job's
// session.
func (a *Agent) rexecWrite(ctx context.Context, ev rexecEventPayload, suffix string, val []byte) error {
	args := structs.KVSRequest{Datacenter: a.config.Datacenter, Op: structs.KVLock, DirEnt: structs.DirEntry{
		Key: path.Join(ev.Prefix, ev.Session, a.config.NodeName, suffix), Value: val, Session: ev.Session,
	}}
	cctx, cancel := context.WithTimeout(ctx, rexecCallTimeout)
	defer cancel()
	var ok bool
	if err := a.RPC(cctx, "KVS.Apply", &args, &ok); err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("writing %s: the session no longer holds it", args.DirEnt.Key)
	}
	return nil
}

// rexecRun runs the job through go-cmd, output streaming to out, and
// returns its exit code (255 when it could not start, 128+N when signal
// N ended it).
func (a *Agent) rexecRun(ctx context.Context, spec *rexecSpec, out *rexecOutput) int {
	name, args := "/bin/sh", []string{"-c", spec.Command}
	switch {
	case len(spec.Script) > 0:
		f, err := os.CreateTemp("", "rexec")
		if err != nil {
			fmt.Fprintf(out, "remote exec: %v\n", err)
			out.flush(ctx)
			return 255
		}
		defer os.Remove(f.Name())
		_, werr := f.Write(spec.Script)
		cerr := f.Close()
		if werr != nil || cerr != nil || os.Chmod(f.Name(), 0o700) != nil {
			fmt.Fprintln(out, "remote exec: cannot write the script")
			out.flush(ctx)
			return 255
		}
		args = []string{"-c", f.Name()}
	case len(spec.Args) > 0:
		name, args = spec.Args[0], spec.Args[1:]
	}
	var ec *exec.Cmd
	child := gocmd.NewCmdOptions(gocmd.Options{BeforeExec: []func(*exec.Cmd){func(c *exec.Cmd) {
		c.Stdout, c.Stderr = out, out
		// A background grandchild holding the output open must not keep
		// the job from finishing.
		c.WaitDelay = 2 * time.Second
		ec = c
	}}}, name, args...)
	child.Start()
	wait := spec.Wait
	if wait <= 0 {
		wait = 2 * time.Second
	}
	out.stream(ctx, child.Done(), wait)
	if ctx.Err() != nil {
		// The agent is stopping: so does the job.
		_ = child.Stop()
	}
	<-child.Done()
	st := child.Status()
	if ec == nil || ec.ProcessState == nil {
		fmt.Fprintf(out, "remote exec: cannot start: %v\n", st.Error)
		out.flush(ctx)
		return 255
	}
	if ws, ok := ec.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ec.ProcessState.ExitCode()
}

// rexecOutput collects a job's output and writes it in chunks.
type rexecOutput struct {
	a  *Agent
	ev rexecEventPayload

	mu   sync.Mutex
	buf  []byte
	kick chan struct{} // a Write happened

	num int   // next chunk number (uploader only)
	err error // first failed write (uploader only)
}

// Write keeps p for the uploader; it never blocks the child.
func (o *rexecOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	o.buf = append(o.buf, p...)
	o.mu.Unlock()
	select {
	case o.kick <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (o *rexecOutput) size() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.buf)
}

// stream writes output until done closes (the child ended): a chunk once rexecChunk bytes are there or
// rexecIdle after output arrived, and an empty chunk after wait without
// output, as a heartbeat the caller's -wait counts on.
func (o *rexecOutput) stream(ctx context.Context, done <-chan struct{}, wait time.Duration) {
	heartbeat := time.NewTimer(wait)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			o.flush(ctx)
			return
		case <-heartbeat.C:
			o.put(ctx, nil)
			heartbeat.Reset(wait)
			continue
		case <-o.kick:
		}
		idle := time.NewTimer(rexecIdle)
	fill:
		for o.size() < rexecChunk {
			select {
			case <-o.kick:
			case <-idle.C:
				break fill
			case <-done:
				break fill
			case <-ctx.Done():
				break fill
			}
		}
		idle.Stop()
		o.flush(ctx)
		heartbeat.Reset(wait)
	}
}

// flush writes everything buffered, in chunks of at most rexecChunk.
func (o *rexecOutput) flush(ctx context.Context) {
	o.mu.Lock()
	buf := o.buf
	o.buf = nil
	o.mu.Unlock()
	for len(buf) > 0 {
		n := min(len(buf), rexecChunk)
		o.put(ctx, buf[:n])
		buf = buf[n:]
	}
}

// put writes one chunk (nil: a heartbeat); after a failure it writes
// nothing more.
func (o *rexecOutput) put(ctx context.Context, chunk []byte) {
	if o.err != nil {
		return
	}
	o.err = o.a.rexecWrite(ctx, o.ev, path.Join("out", fmt.Sprintf("%05x", o.num)), chunk)
	o.num++
}

// jobTracker runs remote exec jobs until the agent stops: stop cancels
// their context and waits for them.
type jobTracker struct {
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func newJobTracker() *jobTracker {
	ctx, cancel := context.WithCancel(context.Background())
	return &jobTracker{ctx: ctx, cancel: cancel}
}

func (t *jobTracker) run(fn func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		fn()
	}()
}

func (t *jobTracker) stop() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.cancel()
	t.wg.Wait()
}
