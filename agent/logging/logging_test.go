package logging

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"conclave/agent/config"
)

// clock is a settable time for rotation by age.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// rotated lists the rotated files beside path, oldest first.
func rotated(t *testing.T, path string) []string {
	t.Helper()
	ext := filepath.Ext(path)
	old, err := filepath.Glob(strings.TrimSuffix(path, ext) + "-*" + ext)
	if err != nil {
		t.Fatal(err)
	}
	// Rotation times: order by number, the length of the names varies
	// with the test clock.
	slices.SortFunc(old, func(a, b string) int { return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b)) })
	return old
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRotateBySize(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &clock{t: time.Unix(1000, 0)}
	r, err := openRotating(dir+"/", 10, 0, 0)
	if err != nil {
		t.Fatalf("openRotating() = %v", err)
	}
	defer r.Close()
	r.now = c.now
	path := filepath.Join(dir, "consul.log")
	for i, line := range []string{"aaaa\n", "bbbb\n", "cccc\n", "dd\n"} {
		c.t = c.t.Add(time.Second) // distinct rotation names
		if _, err := r.Write([]byte(line)); err != nil {
			t.Fatalf("Write(%d) = %v", i, err)
		}
	}
	// 10 bytes hold two lines; the third starts a new file.
	if got := read(t, path); got != "cccc\ndd\n" {
		t.Errorf("current file = %q, want the lines after the rotation", got)
	}
	old := rotated(t, path)
	if len(old) != 1 || read(t, old[0]) != "aaaa\nbbbb\n" {
		t.Errorf("rotated files = %q, want one holding the first two lines", old)
	}
}

func TestRotateByAgeAndPrune(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.log")
	c := &clock{t: time.Unix(1000, 0)}
	r, err := openRotating(path, 0, time.Hour, 2)
	if err != nil {
		t.Fatalf("openRotating() = %v", err)
	}
	defer r.Close()
	r.now = c.now
	r.created = c.t
	for i := range 5 {
		if _, err := r.Write([]byte{byte('a' + i), '\n'}); err != nil {
			t.Fatalf("Write(%d) = %v", i, err)
		}
		c.t = c.t.Add(time.Hour)
	}
	if got := read(t, path); got != "e\n" {
		t.Errorf("current file = %q, want the last line", got)
	}
	old := rotated(t, path)
	var got []string
	for _, p := range old {
		got = append(got, read(t, p))
	}
	if want := []string{"c\n", "d\n"}; !slices.Equal(got, want) {
		t.Errorf("rotated files hold %q, want the newest two %q (log_rotate_max_files = 2)", got, want)
	}
}

func TestRotateKeepNone(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "a.log")
	r, err := openRotating(path, 4, 0, -1)
	if err != nil {
		t.Fatalf("openRotating() = %v", err)
	}
	defer r.Close()
	for _, line := range []string{"one\n", "two\n", "six\n"} {
		if _, err := r.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if old := rotated(t, path); len(old) != 0 {
		t.Errorf("rotated files = %q, want none (log_rotate_max_files = -1)", old)
	}
	if got := read(t, path); got != "six\n" {
		t.Errorf("current file = %q, want the last line", got)
	}
}

// TestNewLogFileAndJSON: log_file receives what stderr does, in the
// configured format, and the level filters both.
func TestNewLogFileAndJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.LogLevel = "info"
	cfg.Logging.LogJSON = true
	cfg.Logging.LogFile = filepath.Join(dir, "conclave.log")
	var stderr strings.Builder
	l, err := New(cfg, &stderr)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	l.Named("raft").Info("hello file", "k", 1)
	l.Debug("too detailed")
	if err := l.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	file := read(t, cfg.Logging.LogFile)
	if file != stderr.String() {
		t.Errorf("log file = %q, stderr = %q, want the same lines", file, stderr.String())
	}
	if !strings.Contains(file, `"@message":"hello file"`) || !strings.Contains(file, `"@module":"agent.raft"`) || strings.Contains(file, "too detailed") {
		t.Errorf("log file = %q, want the info line as JSON and no debug line", file)
	}
}

func TestMonitorLevelsAndDrops(t *testing.T) {
	t.Parallel()
	logger := hclog.NewInterceptLogger(&hclog.LoggerOptions{Level: hclog.Off})
	m := NewMonitor(logger, hclog.Warn, false)
	logger.Info("not for this monitor")
	logger.Warn("first")
	if got := string(<-m.Lines()); !strings.Contains(got, "[WARN]  first") {
		t.Errorf("line = %q, want the warning", got)
	}
	for range monitorBuffer + 3 {
		logger.Error("flood")
	}
	if got := m.Dropped(); got != 3 {
		t.Errorf("Dropped() = %d, want 3 (the lines beyond the buffer)", got)
	}
	if got := m.Dropped(); got != 0 {
		t.Errorf("Dropped() again = %d, want 0: the count restarts", got)
	}
	m.Stop()
	m.Stop()
	for range monitorBuffer {
		<-m.Lines()
	}
	logger.Error("after stop")
	select {
	case l := <-m.Lines():
		t.Errorf("line after Stop = %q, want none", l)
	default:
	}
}
