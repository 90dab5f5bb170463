package registrar

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

const haveSyncFS = true

// syncFilesystems runs syncfs once for each filesystem holding one of
// files (in practice one: data_dir's).
func syncFilesystems(files []*os.File) error {
	seen := map[uint64]bool{}
	for _, f := range files {
		var st syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
			return err
		}
		if seen[uint64(st.Dev)] {
			continue
		}
		seen[uint64(st.Dev)] = true
		if err := unix.Syncfs(int(f.Fd())); err != nil {
			return err
		}
	}
	return nil
}
