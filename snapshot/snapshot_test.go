package snapshot

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"conclave/client"
	"conclave/internal/testutil"
)

func newClient(t *testing.T, a *testutil.TestAgent) *client.Client {
	t.Helper()
	c, err := client.New(&client.Config{Address: a.HTTPAddr()})
	if err != nil {
		t.Fatalf("client.New() = %v", err)
	}
	return c
}

// TestBackupsRotate: every save lands under a time-ordered name and only
// the newest Retain stay; files the rotation did not write are left alone.
func TestBackupsRotate(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{DataDir: t.TempDir()})
	dir := t.TempDir()
	other := filepath.Join(dir, "keep-me.snap")
	if err := os.WriteFile(other, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var saved []string
	b := &Backups{
		Client: newClient(t, a), Dir: dir, Interval: time.Hour, Retain: 2,
		Now: func() time.Time { clock = clock.Add(time.Hour); return clock },
		Saved: func(path string, index uint64, err error) {
			if err != nil || index == 0 {
				t.Errorf("Saved(%s) = index %d, %v; want a save", path, index, err)
			}
			saved = append(saved, filepath.Base(path))
		},
	}
	for range 4 {
		b.SaveOnce(context.Background())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := append([]string{"keep-me.snap"}, saved[2:]...)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("backup dir after 4 saves, retain 2 = %q, want %q", got, want)
	}
	if !strings.HasPrefix(saved[0], "conclave-snapshot-20260102T040405.000Z") {
		t.Errorf("first backup name = %q, want it to carry the UTC time", saved[0])
	}
	for _, name := range saved[2:] {
		if _, err := Inspect(filepath.Join(dir, name)); err != nil {
			t.Errorf("Inspect(%s) = %v, want a valid archive", name, err)
		}
	}
}

// TestSaveFailureLeavesNothing: a save that fails leaves no file behind.
func TestSaveFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, err := client.New(&client.Config{Address: testutil.DeadAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Save(context.Background(), c, filepath.Join(dir, "b.snap"), nil); err == nil {
		t.Fatalf("Save() to a dead agent = nil, want an error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("dir after a failed save holds %d files, want none", len(entries))
	}
}
