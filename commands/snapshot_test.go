package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"conclave/internal/testutil"
)

func TestSnapshotSaveArgs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args    []string
		wantErr string
		want    SnapshotSaveOptions
	}{
		{args: []string{"b.snap"}, want: SnapshotSaveOptions{Path: "b.snap"}},
		{args: []string{"-interval", "1h", "-retain", "24", "-dir", "/backups"},
			want: SnapshotSaveOptions{Interval: time.Hour, Retain: 24, Dir: "/backups"}},
		{args: []string{}, wantErr: "Missing FILE argument"},
		{args: []string{"a", "b"}, wantErr: "Too many arguments"},
		{args: []string{"-interval", "1h"}, wantErr: "-interval (positive) and -dir go together"},
		{args: []string{"-dir", "/b"}, wantErr: "-interval (positive) and -dir go together"},
		{args: []string{"-interval", "1h", "-dir", "/b", "x.snap"}, wantErr: "no FILE is given"},
		{args: []string{"-interval", "1h", "-dir", "/b", "-retain", "-1"}, wantErr: "-retain must not be negative"},
	}
	for _, c := range cases {
		f, _, _ := testFactory()
		var got *SnapshotSaveOptions
		err := parseCmd(t, NewCmdSnapshotSave(f, func(o *SnapshotSaveOptions) error { got = o; return nil }), c.args)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("snapshot save %q = %v, want an error with %q", c.args, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("snapshot save %q = %v", c.args, err)
			continue
		}
		if got.Path != c.want.Path || got.Interval != c.want.Interval || got.Retain != c.want.Retain || got.Dir != c.want.Dir {
			t.Errorf("snapshot save %q options = %+v, want %+v", c.args, *got, c.want)
		}
	}
}

// TestSnapshotCommands runs save, inspect, restore and the rotating save
// against a real agent.
func TestSnapshotCommands(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{DataDir: t.TempDir()})
	addr := "-http-addr=" + a.HTTPAddr()
	seedKV(t, a, kvSeed{"app/a", "1", 0}, kvSeed{"app/b", "2", 0})
	dir := t.TempDir()
	file := filepath.Join(dir, "backup.snap")

	r := runCLI(t, run{args: []string{"snapshot", "save", addr, file}})
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Saved and verified snapshot to index ") {
		t.Fatalf("snapshot save = %d, %q, %q; want 0 and Consul's line", r.code, r.stdout, r.stderr)
	}

	r = runCLI(t, run{args: []string{"snapshot", "inspect", file}})
	for _, want := range []string{"ID ", "Size ", "Index ", "Term ", "Version ", "Type", "KVS", "Total"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("snapshot inspect = %d, %q, %q; want %q in it", r.code, r.stdout, r.stderr, want)
		}
	}
	r = runCLI(t, run{args: []string{"snapshot", "inspect", "-format=json", file}})
	var js snapshotInspectJSON
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || js.Meta.Index == 0 || js.TotalSize == 0 {
		t.Fatalf("snapshot inspect -format=json = %q (%v), want Meta.Index and TotalSize set", r.stdout, err)
	}
	kvs := 0
	for _, s := range js.Stats {
		if s.Name == "KVS" {
			kvs = s.Count
		}
	}
	if kvs != 2 {
		t.Errorf("inspect Stats KVS count = %d, want 2 (%+v)", kvs, js.Stats)
	}

	seedKV(t, a, kvSeed{"app/a", "changed", 0})
	bad := filepath.Join(dir, "bad.snap")
	buf, _ := os.ReadFile(file)
	if err := os.WriteFile(bad, buf[:len(buf)-9], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{{"snapshot", "restore", addr, bad}, {"snapshot", "inspect", bad}} {
		if r := runCLI(t, run{args: cmd}); r.code != 1 || !strings.Contains(r.stderr, "invalid snapshot archive") {
			t.Errorf("%q = %d, %q; want exit 1 naming the invalid archive", cmd, r.code, r.stderr)
		}
	}
	if got := storedKV(t, a, "app/")["app/a"]; got == nil || string(got.Value) != "changed" {
		t.Fatalf("app/a after a refused restore = %v, want %q", got, "changed")
	}

	r = runCLI(t, run{args: []string{"snapshot", "restore", addr, file}})
	if r.code != 0 || r.stdout != "Restored snapshot\n" {
		t.Fatalf("snapshot restore = %d, %q, %q", r.code, r.stdout, r.stderr)
	}
	if got := storedKV(t, a, "app/")["app/a"]; got == nil || string(got.Value) != "1" {
		t.Errorf("app/a after restore = %v, want %q", got, "1")
	}
}

func TestByteSize(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "0B", 344: "344B", 1024: "1KB", 1740: "1.7KB", 5 << 20: "5MB"} {
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%d) = %q, want %q", n, got, want)
		}
	}
}
