package state

import (
	"reflect"
	"testing"

	"conclave/agent/structs"
)

// dump is everything a snapshot carries, for comparing two stores.
type dump struct {
	KVs        structs.DirEntries
	Tombstones []Tombstone
	Indexes    map[string]uint64
}

func dumpSnapshot(t *testing.T, sn *Snapshot) dump {
	t.Helper()
	d := dump{Indexes: map[string]uint64{}}
	if err := sn.KVs(func(e *structs.DirEntry) error { d.KVs = append(d.KVs, e); return nil }); err != nil {
		t.Fatalf("Snapshot.KVs() = %v", err)
	}
	if err := sn.Tombstones(func(ts Tombstone) error { d.Tombstones = append(d.Tombstones, ts); return nil }); err != nil {
		t.Fatalf("Snapshot.Tombstones() = %v", err)
	}
	if err := sn.Indexes(func(table string, idx uint64) error { d.Indexes[table] = idx; return nil }); err != nil {
		t.Fatalf("Snapshot.Indexes() = %v", err)
	}
	return d
}

func restoreDump(t *testing.T, d dump) *Store {
	t.Helper()
	s := New()
	r := s.Restore()
	defer r.Abort()
	for _, e := range d.KVs {
		if err := r.KV(e); err != nil {
			t.Fatalf("Restore.KV(%q) = %v", e.Key, err)
		}
	}
	for _, ts := range d.Tombstones {
		if err := r.Tombstone(ts); err != nil {
			t.Fatalf("Restore.Tombstone(%q) = %v", ts.Key, err)
		}
	}
	for table, idx := range d.Indexes {
		if err := r.Index(table, idx); err != nil {
			t.Fatalf("Restore.Index(%q) = %v", table, err)
		}
	}
	r.Commit()
	return s
}

func TestSnapshotRestore(t *testing.T) {
	t.Parallel()
	s := testStore(t, "a/1", "a/2", "b", "c/x", "d/y")
	applyKV(t, s, 6, structs.KVSet, structs.DirEntry{Key: "a/1", Value: []byte("v2"), Flags: 42})
	applyKV(t, s, 7, structs.KVSet, structs.DirEntry{Key: "empty"})
	applyKV(t, s, 8, structs.KVDelete, structs.DirEntry{Key: "d/y"})
	// Reaping d/y's marker leaves index 8 known only to the index table
	// (reapedIndexKey).
	if err := s.ReapTombstones(8); err != nil {
		t.Fatalf("ReapTombstones() = %v", err)
	}
	applyKV(t, s, 9, structs.KVDelete, structs.DirEntry{Key: "c/x"})
	applyKV(t, s, 10, structs.KVDelete, structs.DirEntry{Key: "b"})

	sn := s.Snapshot()
	defer sn.Close()
	// Writes after the snapshot opened must not show up in it.
	applyKV(t, s, 11, structs.KVSet, structs.DirEntry{Key: "late", Value: []byte("x")})
	if got := sn.LatestIndex(); got != 10 {
		t.Errorf("Snapshot.LatestIndex() = %d, want 10", got)
	}
	d := dumpSnapshot(t, sn)
	wantKVs := structs.DirEntries{
		{Key: "a/1", Value: []byte("v2"), Flags: 42, CreateIndex: 1, ModifyIndex: 6},
		{Key: "a/2", Value: []byte("a/2"), CreateIndex: 2, ModifyIndex: 2},
		{Key: "empty", CreateIndex: 7, ModifyIndex: 7},
	}
	if !reflect.DeepEqual(d.KVs, wantKVs) {
		t.Errorf("snapshot KVs = %s, want %s", fmtEntries(d.KVs), fmtEntries(wantKVs))
	}
	wantTombs := []Tombstone{{Key: "b", Index: 10}, {Key: "c/x", Index: 9}}
	if !reflect.DeepEqual(d.Tombstones, wantTombs) {
		t.Errorf("snapshot tombstones = %v, want %v", d.Tombstones, wantTombs)
	}
	wantIdx := map[string]uint64{tableKVs: 10, tableTombstones: 10, reapedIndexKey: 8}
	if !reflect.DeepEqual(d.Indexes, wantIdx) {
		t.Errorf("snapshot indexes = %v, want %v", d.Indexes, wantIdx)
	}

	r := restoreDump(t, d)
	if got := dumpSnapshot(t, r.Snapshot()); !reflect.DeepEqual(got, d) {
		t.Errorf("restored store = %+v, want %+v", got, d)
	}
	// Reads on the restored store answer as the original did when the
	// snapshot was taken.
	for _, tc := range []struct {
		prefix  string
		wantIdx uint64
	}{
		{"a/", 6},
		{"b", 10}, // only b's tombstone is left
		{"c/", 9}, // only c/x's tombstone is left
		{"d/", 8}, // marker reaped: the highest reaped index
	} {
		if got, _ := list(t, r, tc.prefix); got != tc.wantIdx {
			t.Errorf("restored KVSList(%q) index = %d, want %d", tc.prefix, got, tc.wantIdx)
		}
	}
	for key, want := range map[string]uint64{"missing": 8, "d/y": 8, "c/x": 9} {
		if idx, e := get(t, r, key); idx != want || e != nil {
			t.Errorf("restored KVSGet(%q) = %d, %+v, want %d, nil", key, idx, e, want)
		}
	}
}

func TestRestoreAbortLeavesStoreEmpty(t *testing.T) {
	t.Parallel()
	s := New()
	r := s.Restore()
	if err := r.KV(&structs.DirEntry{Key: "k", Value: []byte("v"), CreateIndex: 1, ModifyIndex: 1}); err != nil {
		t.Fatalf("Restore.KV() = %v", err)
	}
	r.Abort()
	if idx, e := get(t, s, "k"); idx != 0 || e != nil {
		t.Errorf("KVSGet(%q) after aborted restore = %d, %+v, want 0, nil", "k", idx, e)
	}
}
