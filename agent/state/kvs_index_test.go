package state

import (
	"fmt"
	"testing"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/structs"
)

// TestKVSNoopWrites: a write that would store what is already there keeps
// ModifyIndex, the table index and every watcher where they were; one that
// changes anything moves them all. Each case starts from "app/k"="v" with
// flags 5 at index 1 and "app/empty" with no value at 2, and writes at 10.
func TestKVSNoopWrites(t *testing.T) {
	t.Parallel()
	kv := func(op structs.KVOp, key, value string, flags, cas uint64) func(*testing.T, *Store) bool {
		return func(t *testing.T, s *Store) bool {
			return applyKV(t, s, 10, op, structs.DirEntry{Key: key, Value: []byte(value), Flags: flags, ModifyIndex: cas})
		}
	}
	txn := func(verb structs.KVOp, key, value string, flags, cas uint64) func(*testing.T, *Store) bool {
		return func(t *testing.T, s *Store) bool {
			op := &structs.TxnOp{KV: &structs.TxnKVOp{Verb: verb, DirEnt: structs.DirEntry{Key: key, Value: []byte(value), Flags: flags, ModifyIndex: cas}}}
			_, errs := s.TxnRW(10, structs.TxnOps{op})
			return errs == nil
		}
	}
	cases := []struct {
		name    string
		key     string // the key whose ModifyIndex and watch are checked
		write   func(*testing.T, *Store) bool
		changed bool
	}{
		{"set of the same value and flags", "app/k", kv(structs.KVSet, "app/k", "v", 5, 0), false},
		{"set of an empty value over none", "app/empty", kv(structs.KVSet, "app/empty", "", 0, 0), false},
		{"set of other flags", "app/k", kv(structs.KVSet, "app/k", "v", 6, 0), true},
		{"set of another value", "app/k", kv(structs.KVSet, "app/k", "w", 5, 0), true},
		{"set of a value over none", "app/empty", kv(structs.KVSet, "app/empty", "x", 0, 0), true},
		{"cas that passes with the same content", "app/k", kv(structs.KVCAS, "app/k", "v", 5, 1), false},
		{"cas that passes with another value", "app/k", kv(structs.KVCAS, "app/k", "w", 5, 1), true},
		{"txn set of the same content", "app/k", txn(structs.KVSet, "app/k", "v", 5, 0), false},
		{"txn cas of the same content", "app/k", txn(structs.KVCAS, "app/k", "v", 5, 1), false},
		{"txn set of another value", "app/k", txn(structs.KVSet, "app/k", "w", 5, 0), true},
		// Deletes of nothing leave no tombstone and move nothing either.
		{"delete of a missing key", "app/k", kv(structs.KVDelete, "app/none", "", 0, 0), false},
		{"delete-cas of a missing key", "app/k", kv(structs.KVDeleteCAS, "app/none", "", 0, 3), false},
		{"delete-tree of an empty prefix", "app/k", kv(structs.KVDeleteTree, "app/none/", "", 0, 0), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := New()
			applyKV(t, s, 1, structs.KVSet, structs.DirEntry{Key: "app/k", Value: []byte("v"), Flags: 5})
			applyKV(t, s, 2, structs.KVSet, structs.DirEntry{Key: "app/empty"})
			before, _ := get(t, s, tc.key)
			getWS, listWS := memdb.NewWatchSet(), memdb.NewWatchSet()
			if _, _, err := s.KVSGet(getWS, tc.key); err != nil {
				t.Fatalf("KVSGet(%q) error = %v", tc.key, err)
			}
			if _, _, err := s.KVSList(listWS, "app/"); err != nil {
				t.Fatalf("KVSList(app/) error = %v", err)
			}

			if ok := tc.write(t, s); !ok {
				t.Fatalf("write = false, want true")
			}

			wantIdx, wantTable := before, uint64(2)
			if tc.changed {
				wantIdx, wantTable = 10, 10
			}
			if idx, e := get(t, s, tc.key); idx != wantIdx || e == nil || e.ModifyIndex != wantIdx {
				t.Errorf("KVSGet(%q) = %d, %+v, want ModifyIndex %d", tc.key, idx, e, wantIdx)
			}
			if got := kvsTableIndex(t, s); got != wantTable {
				t.Errorf("kvs table index = %d, want %d", got, wantTable)
			}
			if got := s.LatestIndex(); got != wantTable {
				t.Errorf("LatestIndex() = %d, want %d", got, wantTable)
			}
			if got := tombstones(t, s); len(got) != 0 {
				t.Errorf("tombstones = %v, want none", got)
			}
			if tc.changed {
				mustFire(t, getWS, "get of "+tc.key)
				mustFire(t, listWS, "list of app/")
			} else {
				mustNotFire(t, getWS, "get of "+tc.key)
				mustNotFire(t, listWS, "list of app/")
			}
		})
	}
}

// TestKVSMissingKeyWakeups counts the wake-ups of a blocking read of a
// missing key, run the way the blocking-query helper runs it: read with a
// fresh WatchSet, wait for a channel, read again.
//
// memdb gives a missing key the channel of the nearest radix node on its
// path, so writes that touch that node (keys in the same folder, or a
// delete that makes memdb merge the node into its parent) may fire it.
// Writes in other subtrees must not; no write to another key may move the
// index, so whatever fires, the helper goes back to waiting and the client
// is not answered; creating the key must fire it.
func TestKVSMissingKeyWakeups(t *testing.T) {
	t.Parallel()
	const key = "cfg/app/flag"
	for _, tc := range []struct {
		name string
		// setup runs before the blocking read starts; the key is missing
		// after it, with wantIdx as its index.
		setup   func(t *testing.T, s *Store)
		wantIdx uint64
	}{
		{"never existed", func(*testing.T, *Store) {}, 0},
		{"deleted", func(t *testing.T, s *Store) {
			applyKV(t, s, 20, structs.KVSet, structs.DirEntry{Key: key, Value: []byte("on")})
			applyKV(t, s, 21, structs.KVDelete, structs.DirEntry{Key: key})
		}, 21},
		{"deleted, tombstone reaped", func(t *testing.T, s *Store) {
			applyKV(t, s, 20, structs.KVSet, structs.DirEntry{Key: key, Value: []byte("on")})
			applyKV(t, s, 21, structs.KVDelete, structs.DirEntry{Key: key})
			if err := s.ReapTombstones(21); err != nil {
				t.Fatalf("ReapTombstones(21) = %v", err)
			}
		}, 21},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := testStore(t, "cfg/app/name", "cfg/db/url", "other/x")
			tc.setup(t, s)
			idx := uint64(30)
			write := func(op structs.KVOp, k string) {
				t.Helper()
				idx++
				applyKV(t, s, idx, op, structs.DirEntry{Key: k, Value: []byte(fmt.Sprint(idx))})
			}
			read := func() (uint64, memdb.WatchSet) {
				t.Helper()
				ws := memdb.NewWatchSet()
				i, e, err := s.KVSGet(ws, key)
				if err != nil || e != nil {
					t.Fatalf("KVSGet(%q) = %d, %+v, %v, want missing", key, i, e, err)
				}
				return i, ws
			}
			start, ws := read()
			if start != tc.wantIdx {
				t.Fatalf("KVSGet(%q) index = %d, want %d", key, start, tc.wantIdx)
			}

			wakeups, moves := 0, 0
			for _, k := range []string{"other/x", "other/y", "zzz"} {
				write(structs.KVSet, k)
				write(structs.KVDelete, k)
				if fired(ws) {
					wakeups++
					_, ws = read()
				}
			}
			if wakeups != 0 {
				t.Errorf("writes in other subtrees woke the read of %q %d times, want 0", key, wakeups)
			}
			for _, w := range []struct {
				op structs.KVOp
				k  string
			}{
				{structs.KVSet, "cfg/app/name"}, {structs.KVSet, "cfg/app/other"},
				{structs.KVDelete, "cfg/db/url"}, {structs.KVSet, "cfg/db/pool"},
				{structs.KVDeleteTree, "cfg/app/o"},
			} {
				write(w.op, w.k)
				if fired(ws) {
					var got uint64
					if got, ws = read(); got != start {
						moves++
					}
				}
			}
			if moves != 0 {
				t.Errorf("writes next to %q moved its index %d times, want 0", key, moves)
			}

			// Creating the key wakes the read, at the key's own index.
			write(structs.KVSet, key)
			mustFire(t, ws, "read of "+key+" when it is created")
			if i, e := get(t, s, key); i != idx || e == nil {
				t.Errorf("KVSGet(%q) after create = %d, %+v, want %d with the entry", key, i, e, idx)
			}
		})
	}
}

// TestKVSMissingKeyReap: reaping tombstones moves a missing key's index
// only up, to the highest reaped deletion, and wakes no reader: no data
// changed.
func TestKVSMissingKeyReap(t *testing.T) {
	t.Parallel()
	s := testStore(t, "a", "b", "c")
	applyKV(t, s, 4, structs.KVDelete, structs.DirEntry{Key: "a"})
	applyKV(t, s, 6, structs.KVDelete, structs.DirEntry{Key: "b"})

	ws := memdb.NewWatchSet()
	for key, want := range map[string]uint64{"a": 4, "b": 6, "never": 0} {
		if i, e, err := s.KVSGet(ws, key); i != want || e != nil || err != nil {
			t.Fatalf("KVSGet(%q) = %d, %+v, %v, want %d, nil, nil", key, i, e, err, want)
		}
	}
	for _, step := range []struct {
		reap uint64
		want map[string]uint64
	}{
		{reap: 3, want: map[string]uint64{"a": 4, "b": 6, "never": 0}},
		{reap: 5, want: map[string]uint64{"a": 4, "b": 6, "never": 4}},
		{reap: 100, want: map[string]uint64{"a": 6, "b": 6, "never": 6}},
	} {
		if err := s.ReapTombstones(step.reap); err != nil {
			t.Fatalf("ReapTombstones(%d) = %v", step.reap, err)
		}
		for key, want := range step.want {
			if i, _ := get(t, s, key); i != want {
				t.Errorf("after ReapTombstones(%d): KVSGet(%q) index = %d, want %d", step.reap, key, i, want)
			}
		}
		mustNotFire(t, ws, fmt.Sprintf("reads of missing keys after ReapTombstones(%d)", step.reap))
	}
}
