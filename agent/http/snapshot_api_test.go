package http_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/internal/testutil"
)

// saveSnapshot saves through the official client and returns the archive.
func saveSnapshot(t *testing.T, c *api.Client, q *api.QueryOptions) ([]byte, uint64) {
	t.Helper()
	rc, meta, err := c.Snapshot().Save(q)
	if err != nil {
		t.Fatalf("Snapshot().Save() = %v", err)
	}
	defer rc.Close()
	buf, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading the saved snapshot: %v", err)
	}
	return buf, meta.LastIndex
}

// TestSnapshotAPI: the official client's Save and Restore work unmodified;
// a restore brings back the saved keys, wakes a blocking read, and a
// corrupt or truncated archive is refused with nothing changed.
func TestSnapshotAPI(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{DataDir: t.TempDir()})
	c := testutil.APIClient(t, a)
	kv := c.KV()
	kvPut(t, kv, "snap/a", "1", 0)
	kvPut(t, kv, "snap/b", "2", 7)

	archive, idx := saveSnapshot(t, c, nil)
	if idx == 0 || len(archive) == 0 {
		t.Fatalf("Save() = %d bytes at index %d, want an archive at a non-zero index", len(archive), idx)
	}
	if _, idx2 := saveSnapshot(t, c, &api.QueryOptions{AllowStale: true}); idx2 < idx {
		t.Errorf("stale Save() index = %d, want >= %d", idx2, idx)
	}

	kvPut(t, kv, "snap/a", "changed", 0)
	if _, err := kv.Delete("snap/b", nil); err != nil {
		t.Fatalf("Delete(snap/b) = %v", err)
	}
	kvPut(t, kv, "snap/c", "new", 0)
	_, cur := kvGet(t, kv, "snap/c")

	for name, bad := range map[string][]byte{
		"truncated": archive[:len(archive)/2],
		"corrupt":   flipByte(archive, len(archive)/2),
		"foreign":   []byte("not a snapshot at all"),
	} {
		if err := c.Snapshot().Restore(nil, bytes.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "nothing was changed") {
			t.Errorf("Restore(%s) = %v, want a refusal saying nothing was changed", name, err)
		}
	}
	if p, _ := kvGet(t, kv, "snap/c"); p == nil || string(p.Value) != "new" {
		t.Fatalf("Get(snap/c) after refused restores = %v, want %q", p, "new")
	}

	// A read blocked on a key the restore removes must wake.
	woke := blockingGet(kv, "snap/c", cur, 5*time.Minute)
	if err := c.Snapshot().Restore(nil, bytes.NewReader(archive)); err != nil {
		t.Fatalf("Restore() = %v", err)
	}
	if res := <-woke; res.err != nil || res.pair != nil {
		t.Errorf("blocked Get(snap/c) across restore = %v, %v, want woken with the key gone", res.pair, res.err)
	}
	for key, want := range map[string]string{"snap/a": "1", "snap/b": "2"} {
		if p, _ := kvGet(t, kv, key); p == nil || string(p.Value) != want {
			t.Errorf("Get(%q) after restore = %v, want %q", key, p, want)
		}
	}
	if p, _ := kvGet(t, kv, "snap/b"); p == nil || p.Flags != 7 {
		t.Errorf("Get(snap/b) after restore = %+v, want flags 7", p)
	}
	// The restored store goes on taking writes.
	kvPut(t, kv, "snap/d", "after", 0)
	if p, _ := kvGet(t, kv, "snap/d"); p == nil || string(p.Value) != "after" {
		t.Errorf("Get(snap/d) after a write past the restore = %v, want %q", p, "after")
	}
}

func flipByte(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0xff
	return out
}
