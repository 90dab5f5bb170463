package template

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/hashicorp/go-hclog"
)

// defaultPerms are the permissions of a new file when the template names
// none (consul-template's).
const defaultPerms fs.FileMode = 0o644

// FileOptions say how a rendered template reaches its destination.
type FileOptions struct {
	// Perms of the file; 0 keeps the mode of the file it replaces, or
	// 0644 for a new one.
	Perms fs.FileMode
	// Backup copies the old content to <dest>.bak before replacing it.
	Backup bool
	// CreateDestDirs creates missing parent directories (mode 0755).
	CreateDestDirs bool
}

// fileWriter writes destinations. rename is the seam the fallback test
// uses to make a rename fail as it does on a bind-mounted file.
type fileWriter struct {
	log    hclog.Logger
	rename func(oldpath, newpath string) error
}

func newFileWriter(log hclog.Logger) *fileWriter {
	return &fileWriter{log: log, rename: os.Rename}
}

// write puts data at path if it differs from what is there, and reports
// whether it wrote. The write is atomic (a temp file beside it, fsync,
// rename), so a reader sees the old file or the new, never half of one.
// Where rename cannot replace path (EBUSY for a file bind-mounted into a
// container, EXDEV across devices) it writes in place, and logs it.
func (w *fileWriter) write(path string, data []byte, o FileOptions) (bool, error) {
	old, err := os.ReadFile(path)
	exists := err == nil
	switch {
	case exists && bytes.Equal(old, data):
		return false, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	perms := o.Perms
	var st fs.FileInfo
	if exists {
		if st, err = os.Stat(path); err != nil {
			return false, err
		}
		if perms == 0 {
			perms = st.Mode().Perm()
		}
	}
	if perms == 0 {
		perms = defaultPerms
	}
	dir := filepath.Dir(path)
	if o.CreateDestDirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return false, fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	if exists && o.Backup {
		if err := writeSynced(path+".bak", old, perms, os.O_CREATE|os.O_TRUNC|os.O_WRONLY); err != nil {
			return false, fmt.Errorf("backing up %s: %w", path, err)
		}
	}

	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp")
	if err != nil {
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := finishTemp(tmp, data, perms, st); err != nil {
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	err = w.rename(tmp.Name(), path)
	if err == nil {
		return true, syncDir(dir)
	}
	if !errors.Is(err, syscall.EBUSY) && !errors.Is(err, syscall.EXDEV) {
		return false, fmt.Errorf("replacing %s: %w", path, err)
	}
	w.log.Warn("cannot replace the file atomically; writing it in place", "path", path, "reason", err)
	if err := writeSynced(path, data, perms, os.O_CREATE|os.O_TRUNC|os.O_WRONLY); err != nil {
		return false, fmt.Errorf("writing %s in place: %w", path, err)
	}
	return true, nil
}

// finishTemp fills the temp file, gives it the destination's mode (and
// owner, where allowed) and syncs it.
func finishTemp(f *os.File, data []byte, perms fs.FileMode, old fs.FileInfo) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Chmod(perms)
	}
	if err == nil && old != nil {
		if sys, ok := old.Sys().(*syscall.Stat_t); ok {
			// Only root may give a file away; others keep their own files.
			_ = f.Chown(int(sys.Uid), int(sys.Gid))
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func writeSynced(path string, data []byte, perms fs.FileMode, flag int) error {
	f, err := os.OpenFile(path, flag, perms)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes the rename durable: the directory entry is on disk too.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
