package template

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"

	gocmd "github.com/go-cmd/cmd"
)

// defaultCommandTimeout bounds a command after render (consul-template's
// command_timeout default).
const defaultCommandTimeout = 30 * time.Second

// runShell runs command through /bin/sh -c in a process group of its own,
// its output on out and errOut, and waits at most timeout (then the group
// is killed). A non-zero exit is an error naming the status.
func runShell(ctx context.Context, command string, timeout time.Duration, env []string, out, errOut io.Writer) error {
	if timeout <= 0 {
		timeout = defaultCommandTimeout
	}
	c := gocmd.NewCmdOptions(gocmd.Options{BeforeExec: []func(*exec.Cmd){func(ec *exec.Cmd) {
		ec.Stdout, ec.Stderr = out, errOut
		// A background grandchild holding the output open must not hold
		// the render loop past the timeout.
		ec.WaitDelay = time.Second
	}}}, "/bin/sh", "-c", command)
	c.Env = env
	done := c.Start()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case st := <-done:
		switch {
		case st.Error != nil:
			return fmt.Errorf("command %q: %w", command, st.Error)
		case st.Exit != 0:
			return fmt.Errorf("command %q exited with status %d", command, st.Exit)
		}
		return nil
	case <-t.C:
		_ = c.Stop()
		<-done
		return fmt.Errorf("command %q timed out after %s", command, timeout)
	case <-ctx.Done():
		if pid := c.Status().PID; pid > 0 {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
		_ = c.Stop()
		<-done
		return fmt.Errorf("command %q: %w", command, ctx.Err())
	}
}
