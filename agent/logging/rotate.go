package logging

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rotatingFile is log_file with Consul's rotation: a new file once the
// current one holds maxBytes (0: no limit) or is older than maxAge, the
// old one renamed to <name>-<unix nanoseconds><ext>, and only the newest
// maxFiles of those kept (0: all; -1: none). lumberjack, the usual
// library, rotates by megabytes only and never by age, so this small
// writer does it.
type rotatingFile struct {
	path     string
	maxBytes int64
	maxAge   time.Duration
	maxFiles int
	now      func() time.Time

	mu      sync.Mutex
	f       *os.File
	size    int64
	created time.Time
}

// openRotating opens (appending) the log file named by logFile: a path
// ending in "/" is a directory, with consul.log in it, as in Consul.
func openRotating(logFile string, maxBytes int, maxAge time.Duration, maxFiles int) (*rotatingFile, error) {
	path := logFile
	if strings.HasSuffix(logFile, "/") || strings.HasSuffix(logFile, string(filepath.Separator)) {
		path = filepath.Join(logFile, "consul.log")
	}
	r := &rotatingFile{path: path, maxBytes: int64(maxBytes), maxAge: maxAge, maxFiles: maxFiles, now: time.Now}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("log file directory: %w", err)
	}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *rotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("log file: %w", err)
	}
	r.f, r.size, r.created = f, st.Size(), r.now()
	return nil
}

// Write writes one log entry, rotating first when the entry would take
// the file past maxBytes or the file is older than maxAge. An entry is
// never split across files.
func (r *rotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return 0, os.ErrClosed
	}
	full := r.maxBytes > 0 && r.size > 0 && r.size+int64(len(p)) > r.maxBytes
	if full || (r.maxAge > 0 && r.now().Sub(r.created) >= r.maxAge) {
		if err := r.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

func (r *rotatingFile) rotate() error {
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	r.f = nil
	ext := filepath.Ext(r.path)
	base := strings.TrimSuffix(r.path, ext)
	old := base + "-" + strconv.FormatInt(r.now().UnixNano(), 10) + ext
	if err := os.Rename(r.path, old); err != nil {
		return fmt.Errorf("rotate log file: %w", err)
	}
	r.prune(base, ext)
	return r.open()
}

// prune deletes the oldest rotated files beyond maxFiles. Their names
// carry the rotation time.
func (r *rotatingFile) prune(base, ext string) {
	if r.maxFiles == 0 {
		return
	}
	paths, err := filepath.Glob(base + "-*" + ext)
	if err != nil {
		return
	}
	type file struct {
		path string
		at   int64
	}
	var old []file
	for _, p := range paths {
		if at, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(p, base+"-"), ext), 10, 64); err == nil {
			old = append(old, file{p, at})
		}
	}
	slices.SortFunc(old, func(a, b file) int { return cmp.Compare(a.at, b.at) })
	for len(old) > max(r.maxFiles, 0) {
		_ = os.Remove(old[0].path)
		old = old[1:]
	}
}

// Close closes the current file.
func (r *rotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
