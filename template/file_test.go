package template

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("ReadFile(%q) = %v", path, err)
	}
	return string(data)
}

func TestWriteFileAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dest := filepath.Join(dir, "sub", "nginx.cfg")
	w := newFileWriter(hclog.NewNullLogger())

	if _, err := w.write(dest, []byte("v1"), FileOptions{}); err == nil {
		t.Fatalf("write() into a missing dir without CreateDestDirs = nil, want an error")
	}
	changed, err := w.write(dest, []byte("v1"), FileOptions{CreateDestDirs: true, Perms: 0o600})
	if err != nil || !changed {
		t.Fatalf("write(new) = %v, %v; want true, nil", changed, err)
	}
	st, _ := os.Stat(dest)
	if got := st.Mode().Perm(); got != 0o600 {
		t.Errorf("mode of new file = %v, want 0600", got)
	}
	before, _ := os.Stat(dest)

	changed, err = w.write(dest, []byte("v1"), FileOptions{})
	if err != nil || changed {
		t.Fatalf("write(same content) = %v, %v; want false, nil", changed, err)
	}
	if after, _ := os.Stat(dest); !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("write(same content) touched the file")
	}

	changed, err = w.write(dest, []byte("v2"), FileOptions{Backup: true})
	if err != nil || !changed {
		t.Fatalf("write(v2) = %v, %v; want true, nil", changed, err)
	}
	if got := readFile(t, dest); got != "v2" {
		t.Errorf("content = %q, want v2", got)
	}
	if got := readFile(t, dest+".bak"); got != "v1" {
		t.Errorf("backup = %q, want v1", got)
	}
	after, _ := os.Stat(dest)
	if os.SameFile(before, after) {
		t.Errorf("write(v2) reused the inode: not a rename")
	}
	if got := after.Mode().Perm(); got != 0o600 {
		t.Errorf("mode after rewrite = %v, want the old 0600 kept", got)
	}
	entries, _ := os.ReadDir(filepath.Dir(dest))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temp file %s left behind", e.Name())
		}
	}
}

// TestWriteFileFallsBackInPlace: where rename fails as it does on a
// bind-mounted file (EBUSY) or across devices (EXDEV), the file is
// written in place (same inode) and that is logged; other rename errors
// are errors.
func TestWriteFileFallsBackInPlace(t *testing.T) {
	t.Parallel()
	for _, errno := range []syscall.Errno{syscall.EBUSY, syscall.EXDEV} {
		t.Run(errno.Error(), func(t *testing.T) {
			t.Parallel()
			dest := filepath.Join(t.TempDir(), "bound.cfg")
			if err := os.WriteFile(dest, []byte("old"), 0o640); err != nil {
				t.Fatal(err)
			}
			before, _ := os.Stat(dest)
			var log syncBuffer
			w := newFileWriter(hclog.New(&hclog.LoggerOptions{Output: &log}))
			w.rename = func(o, n string) error { return &os.LinkError{Op: "rename", Old: o, New: n, Err: errno} }
			changed, err := w.write(dest, []byte("new"), FileOptions{})
			if err != nil || !changed {
				t.Fatalf("write() = %v, %v; want true, nil", changed, err)
			}
			if got := readFile(t, dest); got != "new" {
				t.Errorf("content = %q, want new", got)
			}
			after, _ := os.Stat(dest)
			if !os.SameFile(before, after) {
				t.Errorf("fallback replaced the file; want it written in place")
			}
			if after.Mode().Perm() != fs.FileMode(0o640) {
				t.Errorf("mode = %v, want 0640 kept", after.Mode().Perm())
			}
			if !strings.Contains(log.String(), "writing it in place") {
				t.Errorf("log = %q, want the fallback logged", log.String())
			}
			entries, _ := os.ReadDir(filepath.Dir(dest))
			if len(entries) != 1 {
				t.Errorf("dir holds %d entries, want only the destination (temp file removed)", len(entries))
			}
		})
	}
	dest := filepath.Join(t.TempDir(), "x")
	w := newFileWriter(hclog.NewNullLogger())
	w.rename = func(string, string) error { return fmt.Errorf("rename: %w", syscall.EACCES) }
	if _, err := w.write(dest, []byte("x"), FileOptions{}); err == nil {
		t.Errorf("write() with rename failing EACCES = nil, want an error")
	}
}
