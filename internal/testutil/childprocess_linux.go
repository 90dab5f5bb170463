package testutil

import "syscall"

// childSysProcAttr puts a child in its own process group (so a kill
// reaches anything it starts) and has the kernel kill it if the test
// binary dies first, say on a `go test -timeout` panic, when no Cleanup
// runs: an orphaned agent would hold its ports and a CPU for ever.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
