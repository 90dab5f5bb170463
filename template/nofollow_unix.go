//go:build unix

package template

import "syscall"

// openNoFollow makes writeToFile's open fail on a symlink placed after
// its check.
const openNoFollow = syscall.O_NOFOLLOW
