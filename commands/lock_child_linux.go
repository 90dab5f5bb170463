package commands

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel KILL the child if conclave dies without
// fencing it (SIGKILL, a crash): the lock is then freed by the session's
// TTL, and the child must not run on past it. Only the child itself gets
// the signal, not what it started.
func dieWithParent(c *exec.Cmd) {
	if c.SysProcAttr == nil {
		c.SysProcAttr = &syscall.SysProcAttr{}
	}
	c.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
