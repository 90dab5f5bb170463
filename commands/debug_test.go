package commands

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"conclave/agent/config"
	"conclave/debug"
	"conclave/internal/testutil"
)

func TestDebugArgs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args    []string
		wantErr string
		check   func(*DebugOptions) bool
	}{
		{args: []string{}, check: func(o *DebugOptions) bool {
			return o.Duration == 2*time.Minute && o.Interval == 30*time.Second && o.Archive &&
				slices.Equal(o.Capture, debug.Targets) && strings.HasPrefix(o.Output, "conclave-debug-")
		}},
		{args: []string{"-duration", "30s", "-interval", "5s", "-capture", "pprof", "-capture", "agent", "-output", "x"},
			check: func(o *DebugOptions) bool {
				return o.Duration == 30*time.Second && slices.Equal(o.Capture, []string{"pprof", "agent"}) && o.Output == "x"
			}},
		{args: []string{"-capture", "disk"}, wantErr: `Invalid capture target "disk"`},
		{args: []string{"-duration", "5s", "-interval", "10s"}, wantErr: "-duration must be longer than -interval"},
		{args: []string{"-interval", "0s"}, wantErr: "must be positive"},
		{args: []string{"extra"}, wantErr: "Too many arguments"},
	}
	for _, c := range cases {
		f, _, _ := testFactory()
		var got *DebugOptions
		err := parseCmd(t, NewCmdDebug(f, func(o *DebugOptions) error { got = o; return nil }), c.args)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("debug %q = %v, want an error with %q", c.args, err, c.wantErr)
			}
			continue
		}
		if err != nil || !c.check(got) {
			t.Errorf("debug %q = %v, options %+v", c.args, err, got)
		}
	}
}

// readBundle lists a debug archive's files (under its top directory) and
// decodes its index.json.
func readBundle(t *testing.T, path string) (map[string]int64, debug.Index) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("gzip %s: %v", path, err)
	}
	tr := tar.NewReader(gz)
	files := map[string]int64{}
	var idx debug.Index
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("tar %s: %v", path, err)
		}
		name := h.Name[strings.Index(h.Name, "/")+1:]
		files[name] = h.Size
		if name == "index.json" {
			if err := json.NewDecoder(tr).Decode(&idx); err != nil {
				t.Fatalf("index.json: %v", err)
			}
		}
	}
	return files, idx
}

// TestDebugCapture runs the command against real agents: with
// enable_debug, profiles are in the bundle; without, pprof is skipped
// with a note and the rest is still captured. Targets this agent has no
// endpoint for are named in index.json as skipped, never missing
// silently.
func TestDebugCapture(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		enableDebug bool
		wantFiles   []string
	}{
		{"enable_debug", true, []string{"agent.json", "members.json", "index.json", "profile.prof", "trace.out", "heap.prof", "goroutine.prof"}},
		{"no enable_debug", false, []string{"agent.json", "members.json", "index.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := testutil.NewAgent(t, testutil.AgentOptions{Tweak: func(c *config.Config) { c.EnableDebug = tc.enableDebug }})
			out := filepath.Join(t.TempDir(), "bundle")
			r := runCLI(t, run{args: []string{"debug", "-http-addr=" + a.HTTPAddr(), "-duration", "2s", "-interval", "1s", "-output", out}})
			if r.code != 0 || r.stdout != "Saved debug archive: "+out+".tar.gz\n" {
				t.Fatalf("debug = %d, %q, %q", r.code, r.stdout, r.stderr)
			}
			files, idx := readBundle(t, out+".tar.gz")
			for _, f := range tc.wantFiles {
				if files[f] == 0 {
					t.Errorf("bundle file %s size %d, want it present and not empty (files %v)", f, files[f], files)
				}
			}
			for _, target := range debug.Targets {
				want := map[string]string{debug.TargetMetrics: "metrics.json", debug.TargetLogs: "consul.log",
					debug.TargetHost: "host.json", debug.TargetPprof: "profile.prof"}[target]
				if want == "" {
					continue
				}
				_, have := files[want]
				_, skipped := idx.Skipped[target]
				if have == skipped {
					t.Errorf("target %s: file %s present %v, skipped %v (%q); want exactly one", target, want, have, skipped, idx.Skipped[target])
				}
				if skipped && !strings.Contains(r.stderr, "Skipped "+target) {
					t.Errorf("target %s skipped without a note on stderr: %q", target, r.stderr)
				}
			}
			if _, skipped := idx.Skipped[debug.TargetPprof]; skipped == tc.enableDebug {
				t.Errorf("pprof skipped = %v with enable_debug %v, want the opposite", skipped, tc.enableDebug)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("Stat(%s) after archiving = %v, want the directory removed", out, err)
			}
		})
	}
}
