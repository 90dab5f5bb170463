//go:build !linux

package testutil

import "syscall"

// childSysProcAttr puts a child in its own process group, so a kill
// reaches anything it starts. Only Linux can also tie the child's life to
// the test binary's.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
