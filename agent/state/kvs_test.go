package state

import (
	"reflect"
	"slices"
	"testing"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/structs"
)

// applyKV applies one KV write at idx through KVSApplyBatch, the path the
// FSM takes for every KV write, and returns its result: true, or false for
// a CAS that lost. A store error fails the test.
func applyKV(t *testing.T, s *Store, idx uint64, op structs.KVOp, e structs.DirEntry) bool {
	t.Helper()
	res := s.KVSApplyBatch([]KVSWrite{{Index: idx, Req: &structs.KVSRequest{Op: op, DirEnt: e}}})[0]
	ok, isBool := res.(bool)
	if !isBool {
		t.Fatalf("KVSApplyBatch(%s %q at %d) = %v, want true or false", op, e.Key, idx, res)
	}
	return ok
}

// testStore returns a store with the given keys set, the i-th at index i+1,
// each holding its own name as value.
func testStore(t *testing.T, keys ...string) *Store {
	t.Helper()
	s := New()
	for i, k := range keys {
		applyKV(t, s, uint64(i+1), structs.KVSet, structs.DirEntry{Key: k, Value: []byte(k)})
	}
	return s
}

// get reads key and fails the test on a store error.
func get(t *testing.T, s *Store, key string) (uint64, *structs.DirEntry) {
	t.Helper()
	idx, e, err := s.KVSGet(nil, key)
	if err != nil {
		t.Fatalf("KVSGet(%q) error = %v", key, err)
	}
	return idx, e
}

// list reads a prefix and fails the test on a store error.
func list(t *testing.T, s *Store, prefix string) (uint64, structs.DirEntries) {
	t.Helper()
	idx, ents, err := s.KVSList(nil, prefix)
	if err != nil {
		t.Fatalf("KVSList(%q) error = %v", prefix, err)
	}
	return idx, ents
}

// keysOf lists the keys of entries, for messages that stay readable.
func keysOf(ents structs.DirEntries) []string {
	out := []string{}
	for _, e := range ents {
		out = append(out, e.Key)
	}
	return out
}

// mustFire fails unless a channel in ws has fired. memdb closes watch
// channels inside Commit, so when a write has returned they are already
// closed: the timeout only bounds a failing test.
func mustFire(t *testing.T, ws memdb.WatchSet, what string) {
	t.Helper()
	if timedOut := ws.Watch(time.After(10 * time.Second)); timedOut {
		t.Fatalf("%s: watch did not fire, want it to", what)
	}
}

// mustNotFire fails if any channel in ws has fired.
func mustNotFire(t *testing.T, ws memdb.WatchSet, what string) {
	t.Helper()
	if fired(ws) {
		t.Fatalf("%s: watch fired, want it quiet", what)
	}
}

// fired tells whether any channel in ws has fired. Because memdb notifies
// synchronously in Commit, checking each channel without blocking is exact.
func fired(ws memdb.WatchSet) bool {
	for ch := range ws {
		select {
		case <-ch:
			return true
		default:
		}
	}
	return false
}

func TestKVSSetGet(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		writes  []*structs.DirEntry // the i-th is written at index i+1
		key     string
		wantIdx uint64
		want    *structs.DirEntry
	}{
		{
			name:    "empty store",
			key:     "foo",
			wantIdx: 0,
		},
		{
			name:    "create",
			writes:  []*structs.DirEntry{{Key: "foo", Value: []byte("bar"), Flags: 7}},
			key:     "foo",
			wantIdx: 1,
			want:    &structs.DirEntry{Key: "foo", Value: []byte("bar"), Flags: 7, CreateIndex: 1, ModifyIndex: 1},
		},
		{
			name: "update keeps CreateIndex and moves ModifyIndex",
			writes: []*structs.DirEntry{
				{Key: "foo", Value: []byte("bar")},
				{Key: "other", Value: []byte("x")},
				{Key: "foo", Value: []byte("baz"), Flags: 3},
			},
			key:     "foo",
			wantIdx: 3,
			want:    &structs.DirEntry{Key: "foo", Value: []byte("baz"), Flags: 3, CreateIndex: 1, ModifyIndex: 3},
		},
		{
			name: "caller's indexes are ignored",
			writes: []*structs.DirEntry{
				{Key: "foo", Value: []byte("bar"), CreateIndex: 90, ModifyIndex: 91, LockIndex: 92},
			},
			key:     "foo",
			wantIdx: 1,
			want:    &structs.DirEntry{Key: "foo", Value: []byte("bar"), CreateIndex: 1, ModifyIndex: 1},
		},
		{
			name:    "empty value is stored as nil",
			writes:  []*structs.DirEntry{{Key: "foo", Value: []byte{}}},
			key:     "foo",
			wantIdx: 1,
			want:    &structs.DirEntry{Key: "foo", Value: nil, CreateIndex: 1, ModifyIndex: 1},
		},
		{
			// Not the table index, which every write to a or b moves.
			name: "missing key ignores writes to other keys",
			writes: []*structs.DirEntry{
				{Key: "a", Value: []byte("1")},
				{Key: "b", Value: []byte("2")},
			},
			key:     "c",
			wantIdx: 0,
		},
		{
			name:    "key is exact, not a prefix",
			writes:  []*structs.DirEntry{{Key: "foo/bar", Value: []byte("1")}},
			key:     "foo",
			wantIdx: 0,
		},
		{
			name:    "unicode and odd bytes in keys",
			writes:  []*structs.DirEntry{{Key: "ключ/ 日本//x", Value: []byte("\x00\xff")}},
			key:     "ключ/ 日本//x",
			wantIdx: 1,
			want:    &structs.DirEntry{Key: "ключ/ 日本//x", Value: []byte("\x00\xff"), CreateIndex: 1, ModifyIndex: 1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := New()
			for i, w := range tc.writes {
				applyKV(t, s, uint64(i+1), structs.KVSet, *w)
			}
			idx, got := get(t, s, tc.key)
			if idx != tc.wantIdx {
				t.Errorf("KVSGet(%q) index = %d, want %d", tc.key, idx, tc.wantIdx)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("KVSGet(%q) = %+v, want %+v", tc.key, got, tc.want)
			}
		})
	}
}

func TestKVSSetKeepsLockFields(t *testing.T) {
	t.Parallel()
	// Only a restore can put a held lock into the store until sessions exist.
	s := New()
	r := s.Restore()
	if err := r.KV(&structs.DirEntry{Key: "l", Value: []byte("v"), Session: "sess", LockIndex: 4, CreateIndex: 2, ModifyIndex: 5}); err != nil {
		t.Fatalf("Restore.KV() = %v", err)
	}
	r.Commit()
	// Putting the same value back keeps the lock fields, so it is a no-op.
	ws := memdb.NewWatchSet()
	if _, _, err := s.KVSGet(ws, "l"); err != nil {
		t.Fatalf("KVSGet(l) error = %v", err)
	}
	applyKV(t, s, 7, structs.KVSet, structs.DirEntry{Key: "l", Value: []byte("v")})
	if idx, e := get(t, s, "l"); idx != 5 || e == nil || e.Session != "sess" || e.LockIndex != 4 {
		t.Errorf("KVSGet(l) after a same-value set = %d, %+v, want index 5, session sess, lock index 4", idx, e)
	}
	mustNotFire(t, ws, "get of l after a same-value set")
	applyKV(t, s, 9, structs.KVSet, structs.DirEntry{Key: "l", Value: []byte("w")})
	_, got := get(t, s, "l")
	want := &structs.DirEntry{Key: "l", Value: []byte("w"), Session: "sess", LockIndex: 4, CreateIndex: 2, ModifyIndex: 9}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("KVSGet(%q) = %+v, want %+v", "l", got, want)
	}
}

func TestKVSSetCAS(t *testing.T) {
	t.Parallel()
	// Every case starts from "foo" set at index 1 and "bar" at 2; the CAS
	// runs at index 10.
	cases := []struct {
		name   string
		key    string
		cas    uint64
		wantOK bool
		want   *structs.DirEntry // the key afterwards
	}{
		{
			name:   "index 0 creates a missing key",
			key:    "new",
			cas:    0,
			wantOK: true,
			want:   &structs.DirEntry{Key: "new", Value: []byte("v"), CreateIndex: 10, ModifyIndex: 10},
		},
		{
			name:   "index 0 refuses an existing key",
			key:    "foo",
			cas:    0,
			wantOK: false,
			want:   &structs.DirEntry{Key: "foo", Value: []byte("foo"), CreateIndex: 1, ModifyIndex: 1},
		},
		{
			name:   "matching index writes",
			key:    "foo",
			cas:    1,
			wantOK: true,
			want:   &structs.DirEntry{Key: "foo", Value: []byte("v"), CreateIndex: 1, ModifyIndex: 10},
		},
		{
			name:   "stale index fails",
			key:    "bar",
			cas:    1,
			wantOK: false,
			want:   &structs.DirEntry{Key: "bar", Value: []byte("bar"), CreateIndex: 2, ModifyIndex: 2},
		},
		{
			name:   "future index fails",
			key:    "bar",
			cas:    3,
			wantOK: false,
			want:   &structs.DirEntry{Key: "bar", Value: []byte("bar"), CreateIndex: 2, ModifyIndex: 2},
		},
		{
			name:   "non-zero index on a missing key fails",
			key:    "new",
			cas:    1,
			wantOK: false,
			want:   nil,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := testStore(t, "foo", "bar")
			ok := applyKV(t, s, 10, structs.KVCAS, structs.DirEntry{Key: tc.key, Value: []byte("v"), ModifyIndex: tc.cas})
			if ok != tc.wantOK {
				t.Errorf("CAS(%q, cas=%d) = %v, want %v", tc.key, tc.cas, ok, tc.wantOK)
			}
			_, got := get(t, s, tc.key)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("after CAS, KVSGet(%q) = %+v, want %+v", tc.key, got, tc.want)
			}
			wantLatest := uint64(2)
			if tc.wantOK {
				wantLatest = 10
			}
			if got := s.LatestIndex(); got != wantLatest {
				t.Errorf("LatestIndex() = %d, want %d (a failed CAS must not move it)", got, wantLatest)
			}
		})
	}
}

func TestKVSDelete(t *testing.T) {
	t.Parallel()
	t.Run("existing key leaves a tombstone that moves the prefix index", func(t *testing.T) {
		t.Parallel()
		s := testStore(t, "a/b", "z")
		applyKV(t, s, 5, structs.KVDelete, structs.DirEntry{Key: "a/b"})
		if idx, e := get(t, s, "a/b"); e != nil || idx != 5 {
			t.Errorf("KVSGet(%q) = %d, %+v, want 5, nil", "a/b", idx, e)
		}
		// Nothing is left under a/, yet the index must be the delete's, or
		// a blocking query on a/ would never see the delete.
		if idx, ents := list(t, s, "a/"); idx != 5 || len(ents) != 0 {
			t.Errorf("KVSList(%q) = %d, %v, want 5, []", "a/", idx, keysOf(ents))
		}
		if idx, ents := list(t, s, "z"); idx != 2 || !slices.Equal(keysOf(ents), []string{"z"}) {
			t.Errorf("KVSList(%q) = %d, %v, want 2, [z]", "z", idx, keysOf(ents))
		}
	})
	t.Run("prefix index is the larger of entries and tombstones", func(t *testing.T) {
		t.Parallel()
		s := testStore(t, "a/1", "a/2", "a/3")
		applyKV(t, s, 4, structs.KVDelete, structs.DirEntry{Key: "a/1"})
		if idx, ents := list(t, s, "a/"); idx != 4 || !slices.Equal(keysOf(ents), []string{"a/2", "a/3"}) {
			t.Errorf("KVSList(%q) = %d, %v, want 4, [a/2 a/3]", "a/", idx, keysOf(ents))
		}
		applyKV(t, s, 5, structs.KVSet, structs.DirEntry{Key: "a/2", Value: []byte("x")})
		if idx, _ := list(t, s, "a/"); idx != 5 {
			t.Errorf("KVSList(%q) index = %d, want 5", "a/", idx)
		}
	})
	t.Run("missing key is not an error and changes nothing", func(t *testing.T) {
		t.Parallel()
		s := testStore(t, "a")
		applyKV(t, s, 7, structs.KVDelete, structs.DirEntry{Key: "nope"})
		if got := s.LatestIndex(); got != 1 {
			t.Errorf("LatestIndex() = %d, want 1", got)
		}
		if got := tombstones(t, s); len(got) != 0 {
			t.Errorf("tombstones = %v, want none", got)
		}
	})
	t.Run("recreate after delete starts a new CreateIndex", func(t *testing.T) {
		t.Parallel()
		s := testStore(t, "k")
		applyKV(t, s, 2, structs.KVDelete, structs.DirEntry{Key: "k"})
		applyKV(t, s, 3, structs.KVSet, structs.DirEntry{Key: "k", Value: []byte("again")})
		_, got := get(t, s, "k")
		want := &structs.DirEntry{Key: "k", Value: []byte("again"), CreateIndex: 3, ModifyIndex: 3}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("KVSGet(%q) = %+v, want %+v", "k", got, want)
		}
	})
}

func TestKVSDeleteCAS(t *testing.T) {
	t.Parallel()
	// "k" is set at 1 and rewritten at 2, so its ModifyIndex is 2.
	cases := []struct {
		name      string
		key       string
		cas       uint64
		wantOK    bool
		wantGone  bool
		wantIndex uint64 // LatestIndex afterwards
	}{
		{name: "matching index deletes", key: "k", cas: 2, wantOK: true, wantGone: true, wantIndex: 9},
		{name: "stale index fails", key: "k", cas: 1, wantOK: false, wantIndex: 2},
		{name: "index 0 on an existing key fails", key: "k", cas: 0, wantOK: false, wantIndex: 2},
		{name: "missing key counts as deleted", key: "missing", cas: 5, wantOK: true, wantGone: true, wantIndex: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := testStore(t, "k")
			applyKV(t, s, 2, structs.KVSet, structs.DirEntry{Key: "k", Value: []byte("changed")})
			ok := applyKV(t, s, 9, structs.KVDeleteCAS, structs.DirEntry{Key: tc.key, ModifyIndex: tc.cas})
			if ok != tc.wantOK {
				t.Errorf("DeleteCAS(%q, cas=%d) = %v, want %v", tc.key, tc.cas, ok, tc.wantOK)
			}
			if _, e := get(t, s, tc.key); (e == nil) != tc.wantGone {
				t.Errorf("after delete-cas, KVSGet(%q) = %+v, want gone=%v", tc.key, e, tc.wantGone)
			}
			if got := s.LatestIndex(); got != tc.wantIndex {
				t.Errorf("LatestIndex() = %d, want %d", got, tc.wantIndex)
			}
		})
	}
}

func TestKVSDeleteTree(t *testing.T) {
	t.Parallel()
	keys := []string{"a/b", "a/c/d", "ab", "b"}
	cases := []struct {
		name     string
		prefix   string
		wantLeft []string
		wantIdx  uint64 // LatestIndex afterwards
	}{
		{name: "prefix", prefix: "a/", wantLeft: []string{"ab", "b"}, wantIdx: 9},
		{name: "prefix without separator", prefix: "a", wantLeft: []string{"b"}, wantIdx: 9},
		{name: "empty prefix deletes everything", prefix: "", wantLeft: []string{}, wantIdx: 9},
		{name: "exact key", prefix: "a/c/d", wantLeft: []string{"a/b", "ab", "b"}, wantIdx: 9},
		{name: "nothing under prefix", prefix: "zzz", wantLeft: keys, wantIdx: 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := testStore(t, keys...)
			applyKV(t, s, 9, structs.KVDeleteTree, structs.DirEntry{Key: tc.prefix})
			if _, ents := list(t, s, ""); !slices.Equal(keysOf(ents), tc.wantLeft) {
				t.Errorf("after KVSDeleteTree(%q), keys = %v, want %v", tc.prefix, keysOf(ents), tc.wantLeft)
			}
			if got := s.LatestIndex(); got != tc.wantIdx {
				t.Errorf("LatestIndex() = %d, want %d", got, tc.wantIdx)
			}
			if idx, _ := list(t, s, tc.prefix); tc.wantIdx == 9 && idx != 9 {
				t.Errorf("KVSList(%q) index = %d, want 9", tc.prefix, idx)
			}
		})
	}
}

func TestKVSList(t *testing.T) {
	t.Parallel()
	// Index i+1 for the i-th key.
	s := testStore(t, "a/c", "a/b", "z", "a")
	cases := []struct {
		prefix   string
		wantIdx  uint64
		wantKeys []string
	}{
		{prefix: "a/", wantIdx: 2, wantKeys: []string{"a/b", "a/c"}},
		{prefix: "a", wantIdx: 4, wantKeys: []string{"a", "a/b", "a/c"}},
		{prefix: "", wantIdx: 4, wantKeys: []string{"a", "a/b", "a/c", "z"}},
		{prefix: "a/c", wantIdx: 1, wantKeys: []string{"a/c"}},
		// Nothing ever lived here: no write elsewhere moves the index.
		{prefix: "q/", wantIdx: 0, wantKeys: []string{}},
	}
	for _, tc := range cases {
		idx, ents := list(t, s, tc.prefix)
		if idx != tc.wantIdx || !slices.Equal(keysOf(ents), tc.wantKeys) {
			t.Errorf("KVSList(%q) = %d, %v, want %d, %v", tc.prefix, idx, keysOf(ents), tc.wantIdx, tc.wantKeys)
		}
	}
	_, ents := list(t, s, "a/b")
	want := structs.DirEntries{{Key: "a/b", Value: []byte("a/b"), CreateIndex: 2, ModifyIndex: 2}}
	if !reflect.DeepEqual(ents, want) {
		t.Errorf("KVSList(%q) = %+v, want %+v", "a/b", ents, want)
	}
}

func TestKVSListKeys(t *testing.T) {
	t.Parallel()
	// Index i+1 for the i-th key.
	s := testStore(t, "a/b", "a/c/d", "a/c/e", "ab", "b", "a/c/f/g")
	cases := []struct {
		prefix, sep string
		wantIdx     uint64
		want        []string
	}{
		{prefix: "a/", sep: "/", wantIdx: 6, want: []string{"a/b", "a/c/"}},
		{prefix: "a/", sep: "", wantIdx: 6, want: []string{"a/b", "a/c/d", "a/c/e", "a/c/f/g"}},
		{prefix: "", sep: "/", wantIdx: 6, want: []string{"a/", "ab", "b"}},
		{prefix: "a", sep: "/", wantIdx: 6, want: []string{"a/", "ab"}},
		{prefix: "a/c/", sep: "/", wantIdx: 6, want: []string{"a/c/d", "a/c/e", "a/c/f/"}},
		{prefix: "a/c", sep: "/", wantIdx: 6, want: []string{"a/c/"}},
		{prefix: "b", sep: "/", wantIdx: 5, want: []string{"b"}},
		// A separator longer than one byte folds at its end.
		{prefix: "", sep: "/c/", wantIdx: 6, want: []string{"a/b", "a/c/", "ab", "b"}},
		{prefix: "a/", sep: "c", wantIdx: 6, want: []string{"a/b", "a/c"}},
		{prefix: "zzz", sep: "/", wantIdx: 0, want: []string{}},
	}
	for _, tc := range cases {
		idx, got, err := s.KVSListKeys(nil, tc.prefix, tc.sep)
		if err != nil {
			t.Fatalf("KVSListKeys(%q, %q) error = %v", tc.prefix, tc.sep, err)
		}
		if idx != tc.wantIdx || !slices.Equal(got, tc.want) {
			t.Errorf("KVSListKeys(%q, %q) = %d, %q, want %d, %q", tc.prefix, tc.sep, idx, got, tc.wantIdx, tc.want)
		}
	}
}

func TestReapTombstones(t *testing.T) {
	t.Parallel()
	s := testStore(t, "a/x", "b/y", "c")
	applyKV(t, s, 4, structs.KVDelete, structs.DirEntry{Key: "a/x"})
	applyKV(t, s, 6, structs.KVDelete, structs.DirEntry{Key: "b/y"})
	want := []Tombstone{{Key: "a/x", Index: 4}, {Key: "b/y", Index: 6}}
	if got := tombstones(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("tombstones = %v, want %v", got, want)
	}
	if idx, _ := list(t, s, "a/"); idx != 4 {
		t.Errorf("KVSList(%q) index = %d, want 4", "a/", idx)
	}

	for _, step := range []struct {
		reap uint64
		want []Tombstone
	}{
		{reap: 3, want: []Tombstone{{Key: "a/x", Index: 4}, {Key: "b/y", Index: 6}}},
		{reap: 4, want: []Tombstone{{Key: "b/y", Index: 6}}},
		{reap: 100, want: nil},
	} {
		if err := s.ReapTombstones(step.reap); err != nil {
			t.Fatalf("ReapTombstones(%d) = %v", step.reap, err)
		}
		if got := tombstones(t, s); !reflect.DeepEqual(got, step.want) {
			t.Errorf("after ReapTombstones(%d), tombstones = %v, want %v", step.reap, got, step.want)
		}
	}
	// With its marker gone, an empty prefix or a missing key reports the
	// highest reaped index (b/y's 6): never below the deletion a client may
	// have seen, and not moved by later writes elsewhere (c at 7).
	applyKV(t, s, 7, structs.KVSet, structs.DirEntry{Key: "c", Value: []byte("changed")})
	if idx, _ := list(t, s, "a/"); idx != 6 {
		t.Errorf("KVSList(%q) index after reap = %d, want 6", "a/", idx)
	}
	for _, key := range []string{"a/x", "never"} {
		if idx, e := get(t, s, key); idx != 6 || e != nil {
			t.Errorf("KVSGet(%q) after reap = %d, %+v, want 6, nil", key, idx, e)
		}
	}
	if got := s.LatestIndex(); got != 7 {
		t.Errorf("LatestIndex() = %d, want 7", got)
	}
}

// tombstones reads every deletion marker through a snapshot.
func tombstones(t *testing.T, s *Store) []Tombstone {
	t.Helper()
	sn := s.Snapshot()
	defer sn.Close()
	var out []Tombstone
	if err := sn.Tombstones(func(ts Tombstone) error { out = append(out, ts); return nil }); err != nil {
		t.Fatalf("Snapshot.Tombstones() = %v", err)
	}
	return out
}

func TestKVSWatches(t *testing.T) {
	t.Parallel()
	// Each case reads with a fresh WatchSet over the same seed data, then
	// writes, then checks whether the watch fired.
	type read func(s *Store, ws memdb.WatchSet) error
	getKey := func(key string) read {
		return func(s *Store, ws memdb.WatchSet) error { _, _, err := s.KVSGet(ws, key); return err }
	}
	listPrefix := func(prefix string) read {
		return func(s *Store, ws memdb.WatchSet) error { _, _, err := s.KVSList(ws, prefix); return err }
	}
	listKeys := func(prefix, sep string) read {
		return func(s *Store, ws memdb.WatchSet) error { _, _, err := s.KVSListKeys(ws, prefix, sep); return err }
	}
	write := func(op structs.KVOp, key string) func(*testing.T, *Store) {
		return func(t *testing.T, s *Store) {
			applyKV(t, s, 100, op, structs.DirEntry{Key: key, Value: []byte("new")})
		}
	}
	set := func(key string) func(*testing.T, *Store) { return write(structs.KVSet, key) }
	del := func(key string) func(*testing.T, *Store) { return write(structs.KVDelete, key) }
	delTree := func(prefix string) func(*testing.T, *Store) { return write(structs.KVDeleteTree, prefix) }
	// rewrite puts back the value testStore gave the key: a no-op.
	rewrite := func(key string) func(*testing.T, *Store) {
		return func(t *testing.T, s *Store) {
			applyKV(t, s, 100, structs.KVSet, structs.DirEntry{Key: key, Value: []byte(key)})
		}
	}
	seed := []string{"app/config/db", "app/config/web", "app/version", "zzz/far/away"}

	cases := []struct {
		name      string
		read      read
		write     func(*testing.T, *Store)
		wantFired bool
	}{
		{"get: update of the key", getKey("app/version"), set("app/version"), true},
		{"get: delete of the key", getKey("app/version"), del("app/version"), true},
		{"get: create of a missing key", getKey("app/new"), set("app/new"), true},
		{"get: unrelated key far away", getKey("app/version"), set("zzz/far/other"), false},
		{"get: sibling key", getKey("app/config/db"), set("app/config/web"), false},
		{"get: delete of an unrelated key", getKey("app/version"), del("zzz/far/away"), false},
		{"get: same value put again", getKey("app/version"), rewrite("app/version"), false},

		{"list: create under prefix", listPrefix("app/config/"), set("app/config/cache"), true},
		{"list: update under prefix", listPrefix("app/config/"), set("app/config/db"), true},
		{"list: delete under prefix", listPrefix("app/config/"), del("app/config/web"), true},
		{"list: delete-tree of prefix", listPrefix("app/config/"), delTree("app/"), true},
		{"list: create in empty prefix", listPrefix("new/"), set("new/x"), true},
		{"list: write outside prefix", listPrefix("app/config/"), set("zzz/far/other"), false},
		{"list: same value put again under prefix", listPrefix("app/config/"), rewrite("app/config/db"), false},

		{"keys: create under prefix", listKeys("app/", "/"), set("app/other"), true},
		{"keys: update inside a folded key", listKeys("app/", "/"), set("app/config/db"), true},
		{"keys: delete under prefix", listKeys("app/", "/"), del("app/version"), true},
		{"keys: write outside prefix", listKeys("app/", "/"), set("zzz/far/other"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := testStore(t, seed...)
			ws := memdb.NewWatchSet()
			if err := tc.read(s, ws); err != nil {
				t.Fatalf("read error = %v", err)
			}
			mustNotFire(t, ws, "before the write")
			tc.write(t, s)
			if tc.wantFired {
				mustFire(t, ws, tc.name)
			} else {
				mustNotFire(t, ws, tc.name)
			}
		})
	}
}

func TestAbandonCh(t *testing.T) {
	t.Parallel()
	s := New()
	ws := memdb.NewWatchSet()
	ws.Add(s.AbandonCh())
	mustNotFire(t, ws, "fresh store")
	s.Abandon()
	mustFire(t, ws, "abandoned store")
}

// TestKVSPrefixEndingInNUL covers memdb's NUL-terminated string index: a
// prefix ending in NUL matches the key without it on the raw bytes, and the
// store must not treat that key as under the prefix.
func TestKVSPrefixEndingInNUL(t *testing.T) {
	t.Parallel()
	s := testStore(t, "a", "a\x00b", "ab")
	if _, ents := list(t, s, "a\x00"); !slices.Equal(keysOf(ents), []string{"a\x00b"}) {
		t.Errorf("KVSList(%q) = %q, want [a\\x00b]", "a\x00", keysOf(ents))
	}
	for _, sep := range []string{"", "/", "b"} {
		_, keys, err := s.KVSListKeys(nil, "a\x00", sep)
		if err != nil {
			t.Fatalf("KVSListKeys(%q, %q) error = %v", "a\x00", sep, err)
		}
		if !slices.Equal(keys, []string{"a\x00b"}) {
			t.Errorf("KVSListKeys(%q, %q) = %q, want [a\\x00b]", "a\x00", sep, keys)
		}
	}
	if _, _, err := s.KVSListKeys(nil, "ab\x00", "x"); err != nil {
		t.Errorf("KVSListKeys(%q) error = %v", "ab\x00", err)
	}
	applyKV(t, s, 4, structs.KVDelete, structs.DirEntry{Key: "a"})
	if idx, _ := list(t, s, "a\x00"); idx != 2 {
		t.Errorf("KVSList(%q) index = %d, want 2: the tombstone of %q is not under it", "a\x00", idx, "a")
	}
	applyKV(t, s, 5, structs.KVSet, structs.DirEntry{Key: "a", Value: []byte("a")})
	applyKV(t, s, 6, structs.KVDeleteTree, structs.DirEntry{Key: "a\x00"})
	if _, ents := list(t, s, ""); !slices.Equal(keysOf(ents), []string{"a", "ab"}) {
		t.Errorf("after KVSDeleteTree(%q), keys = %q, want [a ab]", "a\x00", keysOf(ents))
	}
}

// TestKVSApplyBatchIndexes: a batch records each table's index once, at
// the highest write that changed it; a CAS that lost and writes that
// change nothing move nothing, even after a real write to the same key in
// the same batch.
func TestKVSApplyBatchIndexes(t *testing.T) {
	t.Parallel()
	s := testStore(t, "a", "b") // indexes 1 and 2
	set := func(key string) *structs.KVSRequest {
		return &structs.KVSRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: key, Value: []byte("v")}}
	}
	out := s.KVSApplyBatch([]KVSWrite{
		{Index: 10, Req: set("c")},
		{Index: 11, Req: &structs.KVSRequest{Op: structs.KVDelete, DirEnt: structs.DirEntry{Key: "a"}}},
		{Index: 12, Req: set("d")},
		{Index: 13, Req: &structs.KVSRequest{Op: structs.KVCAS, DirEnt: structs.DirEntry{Key: "b", ModifyIndex: 1, Value: []byte("x")}}},
		{Index: 14, Req: set("c")},
		{Index: 15, Req: &structs.KVSRequest{Op: structs.KVCAS, DirEnt: structs.DirEntry{Key: "d", ModifyIndex: 12, Value: []byte("v")}}},
		{Index: 16, Req: &structs.KVSRequest{Op: structs.KVDelete, DirEnt: structs.DirEntry{Key: "a"}}},
	})
	if want := []any{true, true, true, false, true, true, true}; !reflect.DeepEqual(out, want) {
		t.Fatalf("KVSApplyBatch results = %v, want %v", out, want)
	}
	for key, want := range map[string]uint64{"c": 10, "d": 12} {
		if idx, e := get(t, s, key); idx != want || e == nil || e.ModifyIndex != want {
			t.Errorf("after the batch: KVSGet(%q) = %d, %+v; want ModifyIndex %d (the no-op writes after it move nothing)", key, idx, e, want)
		}
	}
	if idx, e := get(t, s, "a"); idx != 11 || e != nil {
		t.Errorf("KVSGet(a) = %d, %+v; want the deleted key missing at its tombstone's index 11", idx, e)
	}
	if idx, _ := list(t, s, "a"); idx != 11 {
		t.Errorf("KVSList(a) index = %d, want 11 (its tombstone)", idx)
	}
	if got := kvsTableIndex(t, s); got != 12 {
		t.Errorf("kvs table index = %d, want 12", got)
	}
	if got := s.LatestIndex(); got != 12 {
		t.Errorf("LatestIndex() = %d, want 12", got)
	}
}

// kvsTableIndex is the kvs table's row in the index table.
func kvsTableIndex(t *testing.T, s *Store) uint64 {
	t.Helper()
	tx := s.db.Txn(false)
	defer tx.Abort()
	return maxIndexTxn(tx, tableKVs)
}
