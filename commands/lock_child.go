package commands

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	gocmd "github.com/go-cmd/cmd"

	"conclave/lock"
)

// runLockedChild runs the child while hold is good and returns its exit
// status. Signals from sigs go to the child's process group; if the hold
// is lost, the group gets TERM, then KILL lockKillGrace later, and the
// error is ExitLockLost.
func runLockedChild(opts *LockOptions, hold *lock.Hold, sigs <-chan os.Signal) (int, error) {
	name, args := opts.Child[0], opts.Child[1:]
	if opts.Shell {
		name, args = "/bin/sh", []string{"-c", strings.Join(opts.Child, " ")}
	}
	var ec *exec.Cmd
	child := gocmd.NewCmdOptions(gocmd.Options{BeforeExec: []func(*exec.Cmd){func(c *exec.Cmd) {
		// Straight through, not line by line: the child's output is the
		// user's, byte for byte.
		c.Stdout, c.Stderr = opts.IO.Out, opts.IO.ErrOut
		// A grandchild keeping the output open must not keep the lock.
		c.WaitDelay = lockKillGrace
		dieWithParent(c)
		ec = c
	}}}, name, args...)
	var done <-chan gocmd.Status
	if opts.PassStdin {
		done = child.StartWithStdin(opts.IO.In)
	} else {
		done = child.Start()
	}

	for {
		select {
		case st := <-done:
			return childExit(st, ec)
		case s := <-sigs:
			lockVerbose(opts, "Passing %v on to the child", s)
			signalGroup(child, s.(syscall.Signal))
		case <-hold.Lost():
			fmt.Fprintf(opts.IO.ErrOut, "Lock lost: %v; stopping the child (TERM, KILL after %s)\n", hold.Err(), lockKillGrace)
			fence(child)
			return 0, &ExitError{Code: ExitLockLost, Msg: "Child stopped: the lock was lost"}
		}
	}
}

// fence stops the child's whole group: TERM, then KILL after the grace
// (or as soon as the leader is gone, for anything left in its group).
func fence(child *gocmd.Cmd) {
	pid := signalGroup(child, syscall.SIGTERM)
	t := time.NewTimer(lockKillGrace)
	defer t.Stop()
	select {
	case <-child.Done():
	case <-t.C:
	}
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	<-child.Done()
}

// signalGroup sends sig to the child's process group once it has a pid,
// and returns the pid (0 if the child ended without starting).
func signalGroup(child *gocmd.Cmd, sig syscall.Signal) int {
	for {
		st := child.Status()
		if st.PID > 0 {
			_ = syscall.Kill(-st.PID, sig)
			return st.PID
		}
		select {
		case <-child.Done():
			return 0
		case <-time.After(10 * time.Millisecond): // between fork and exec only
		}
	}
}

// childExit is the child's exit status, the shell's way: 128+N when a
// signal N killed it.
func childExit(st gocmd.Status, ec *exec.Cmd) (int, error) {
	if ec == nil || ec.ProcessState == nil {
		return 0, &ExitError{Code: ExitChildExec, Msg: fmt.Sprintf("Error! Cannot start the child: %v", st.Error)}
	}
	if ws, ok := ec.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ec.ProcessState.ExitCode(), nil
}

// syncWriter serialises writes to w: the child's output and conclave's
// own messages share stderr.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// childStreams gives the child and conclave's messages safe shares of
// ios. Files are passed as they are (the child gets the real descriptor,
// so it can tell a terminal, and the kernel orders the writes); anything
// else is written through one lock per stream.
func childStreams(ios *IOStreams) *IOStreams {
	share := func(w io.Writer) io.Writer {
		if _, ok := w.(*os.File); ok {
			return w
		}
		return &syncWriter{w: w}
	}
	return &IOStreams{In: ios.In, Out: share(ios.Out), ErrOut: share(ios.ErrOut)}
}
