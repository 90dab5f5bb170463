package state

import (
	"bytes"
	"fmt"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/structs"
)

// KVSGet returns one entry and the index a blocking read of it compares
// against.
//
// For an entry that exists, the index is its ModifyIndex. A missing key is
// (index, nil, nil), never an error. Its index is that of the key's own
// deletion (its tombstone), or, once that tombstone is reaped or if the key
// never existed, the highest index of any reaped tombstone (0 in a store
// that never reaped one; the blocking-query helper reports 0 as 1). While
// the key stays missing, that index moves only when tombstones are reaped,
// never on a write to another key, so a client waiting for the key to
// appear is not sent back by every KV write; creating the key moves it to
// the new entry's ModifyIndex. It is also never below the index of any
// past version of the key, so a client that holds one learns of the
// deletion at once.
func (s *Store) KVSGet(ws memdb.WatchSet, key string) (uint64, *structs.DirEntry, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return kvsGetTxn(tx, ws, key)
}

func kvsGetTxn(tx *memdb.Txn, ws memdb.WatchSet, key string) (uint64, *structs.DirEntry, error) {
	// For a missing key memdb hands out the channel of the nearest radix
	// node on the key's path: it fires when the key is created, and also
	// on writes that touch that node (keys in the same folder, or a delete
	// that makes memdb merge the node into its parent). Those wake the
	// server-side loop, which re-reads, finds the same index and goes back
	// to waiting; the client sees nothing.
	ch, raw, err := tx.FirstWatch(tableKVs, "id", key)
	if err != nil {
		return 0, nil, fmt.Errorf("kvs lookup: %w", err)
	}
	ws.Add(ch)
	if raw != nil {
		e := raw.(*structs.DirEntry)
		return e.ModifyIndex, e, nil
	}
	ts, err := tx.First(tableTombstones, "id", key)
	if err != nil {
		return 0, nil, fmt.Errorf("tombstone lookup: %w", err)
	}
	idx := reapedIndexTxn(tx)
	if ts != nil {
		idx = max(idx, ts.(*tombstone).Index)
	}
	return idx, nil, nil
}

// reapedIndexTxn is the highest index of any reaped tombstone: once a
// key's tombstone is gone, the lowest index that is still at least the
// index of its deletion. Reads do not watch it: a reap changes no data, so
// it has no one to wake; a read that times out reports the new figure.
func reapedIndexTxn(tx *memdb.Txn) uint64 {
	return maxIndexTxn(tx, reapedIndexKey)
}

// KVSList returns every entry under prefix, ordered by key. The index is the
// highest ModifyIndex under the prefix, counting deletions (tombstones), so
// a blocking query on a prefix wakes when a key under it is removed. With
// nothing under the prefix it is the reaped index, as for a missing key.
func (s *Store) KVSList(ws memdb.WatchSet, prefix string) (uint64, structs.DirEntries, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return kvsListTxn(tx, ws, prefix)
}

func kvsListTxn(tx *memdb.Txn, ws memdb.WatchSet, prefix string) (uint64, structs.DirEntries, error) {
	it, err := tx.Get(tableKVs, "id_prefix", prefix)
	if err != nil {
		return 0, nil, fmt.Errorf("kvs lookup: %w", err)
	}
	ws.Add(it.WatchCh())
	var (
		out structs.DirEntries
		idx uint64
	)
	for raw := it.Next(); raw != nil; raw = it.Next() {
		e := raw.(*structs.DirEntry)
		if !underPrefix(e.Key, prefix) {
			continue
		}
		out = append(out, e)
		if e.ModifyIndex > idx {
			idx = e.ModifyIndex
		}
	}
	tidx, err := tombstoneIndexTxn(tx, ws, prefix)
	if err != nil {
		return 0, nil, err
	}
	if tidx > idx {
		idx = tidx
	}
	if idx == 0 {
		// Nothing under the prefix, and no tombstone either: whatever
		// lived here was deleted at or below the reaped index. The table
		// index would also do, but it moves on every KV write and would
		// send a client waiting on an empty folder back each time.
		idx = reapedIndexTxn(tx)
	}
	return idx, out, nil
}

// KVSListKeys returns the keys under prefix. With a separator, keys that
// continue past the next separator are folded into one "prefix/sub/" entry,
// as Consul's ?keys&separator does.
func (s *Store) KVSListKeys(ws memdb.WatchSet, prefix, sep string) (uint64, []string, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx, ents, err := kvsListTxn(tx, ws, prefix)
	if err != nil {
		return 0, nil, err
	}
	keys := make([]string, 0, len(ents))
	var last string
	for _, e := range ents {
		k := e.Key
		if sep != "" {
			if i := strings.Index(k[len(prefix):], sep); i >= 0 {
				k = k[:len(prefix)+i+len(sep)]
				if k == last {
					continue
				}
			}
		}
		keys = append(keys, k)
		last = k
	}
	return idx, keys, nil
}

// underPrefix filters what an "id_prefix" scan returns. memdb stores string
// keys NUL-terminated and matches prefixes on those bytes, so a prefix that
// ends in NUL also matches the key without it: "a\x00" finds "a". Without
// this, a list of "a\x00" would show "a" and a delete-tree would remove it.
func underPrefix(key, prefix string) bool { return strings.HasPrefix(key, prefix) }

func tombstoneIndexTxn(tx *memdb.Txn, ws memdb.WatchSet, prefix string) (uint64, error) {
	it, err := tx.Get(tableTombstones, "id_prefix", prefix)
	if err != nil {
		return 0, fmt.Errorf("tombstone lookup: %w", err)
	}
	ws.Add(it.WatchCh())
	var idx uint64
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if t := raw.(*tombstone); t.Index > idx && underPrefix(t.Key, prefix) {
			idx = t.Index
		}
	}
	return idx, nil
}

// kvsSetTxn inserts a copy of e at idx, keeping CreateIndex and the lock
// fields of an existing entry. Like every KV write helper, it records the
// tables it changed in ix; the caller writes ix before committing.
//
// A set that would store what is already there (same value, flags, session
// and lock index) writes nothing, as Consul's does: ModifyIndex and the
// table index stay where they were and no watch fires. consul-template,
// watches and replicate act on every index move, and tools that re-put an
// unchanged value (config pushers, replicate itself) would otherwise make
// every one of their readers re-render or re-copy for nothing.
func kvsSetTxn(tx *memdb.Txn, ix indexBumps, idx uint64, e *structs.DirEntry) error {
	raw, err := tx.First(tableKVs, "id", e.Key)
	if err != nil {
		return fmt.Errorf("kvs lookup: %w", err)
	}
	ent := &structs.DirEntry{
		Key:         e.Key,
		Flags:       e.Flags,
		Value:       valueOrNil(e.Value),
		CreateIndex: idx,
		ModifyIndex: idx,
	}
	if raw != nil {
		old := raw.(*structs.DirEntry)
		ent.CreateIndex = old.CreateIndex
		ent.LockIndex = old.LockIndex
		ent.Session = old.Session
		if sameContent(old, ent) {
			return nil
		}
	}
	if err := tx.Insert(tableKVs, ent); err != nil {
		return fmt.Errorf("kvs insert: %w", err)
	}
	ix.bump(tableKVs, idx)
	return nil
}

// valueOrNil is the value to store: Consul reports an empty value as
// null, so it is stored that way and every path (get, txn, snapshot)
// agrees.
func valueOrNil(v []byte) []byte {
	if len(v) == 0 {
		return nil
	}
	return v
}

// sameContent tells whether two versions of one key hold the same data;
// the indexes that say when it was written do not count.
func sameContent(a, b *structs.DirEntry) bool {
	return a.Flags == b.Flags && a.Session == b.Session && a.LockIndex == b.LockIndex &&
		bytes.Equal(a.Value, b.Value)
}

// kvsSetCASTxn writes e only if the key's ModifyIndex equals e.ModifyIndex
// (0 means: only if the key does not exist). A CAS that passes but changes
// nothing reports true and writes nothing, like a plain set.
func kvsSetCASTxn(tx *memdb.Txn, ix indexBumps, idx uint64, e *structs.DirEntry) (bool, error) {
	raw, err := tx.First(tableKVs, "id", e.Key)
	if err != nil {
		return false, fmt.Errorf("kvs lookup: %w", err)
	}
	switch {
	case e.ModifyIndex == 0 && raw != nil:
		return false, nil
	case e.ModifyIndex != 0 && (raw == nil || raw.(*structs.DirEntry).ModifyIndex != e.ModifyIndex):
		return false, nil
	}
	return true, kvsSetTxn(tx, ix, idx, e)
}

// kvsDeleteTxn removes one key and leaves a tombstone at idx, so reads of
// its prefix (and of the key) report an index that moved. Removing a
// missing key is not an error and writes nothing.
func kvsDeleteTxn(tx *memdb.Txn, ix indexBumps, idx uint64, key string) error {
	raw, err := tx.First(tableKVs, "id", key)
	if err != nil {
		return fmt.Errorf("kvs lookup: %w", err)
	}
	if raw == nil {
		return nil
	}
	if err := tx.Delete(tableKVs, raw); err != nil {
		return fmt.Errorf("kvs delete: %w", err)
	}
	if err := tx.Insert(tableTombstones, &tombstone{Key: key, Index: idx}); err != nil {
		return fmt.Errorf("tombstone insert: %w", err)
	}
	ix.bump(tableKVs, idx)
	ix.bump(tableTombstones, idx)
	return nil
}

// kvsDeleteCASTxn removes key only if its ModifyIndex equals cidx. A
// missing key counts as deleted, so a retried delete-cas stays idempotent
// (as in Consul), and writes nothing.
func kvsDeleteCASTxn(tx *memdb.Txn, ix indexBumps, idx, cidx uint64, key string) (bool, error) {
	raw, err := tx.First(tableKVs, "id", key)
	if err != nil {
		return false, fmt.Errorf("kvs lookup: %w", err)
	}
	if raw == nil {
		return true, nil
	}
	if raw.(*structs.DirEntry).ModifyIndex != cidx {
		return false, nil
	}
	return true, kvsDeleteTxn(tx, ix, idx, key)
}

// kvsDeleteTreeTxn removes every key under prefix ("" removes everything);
// an empty prefix writes nothing.
func kvsDeleteTreeTxn(tx *memdb.Txn, ix indexBumps, idx uint64, prefix string) error {
	it, err := tx.Get(tableKVs, "id_prefix", prefix)
	if err != nil {
		return fmt.Errorf("kvs lookup: %w", err)
	}
	var keys []string
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if k := raw.(*structs.DirEntry).Key; underPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if err := kvsDeleteTxn(tx, ix, idx, k); err != nil {
			return err
		}
	}
	return nil
}

// ReapTombstones forgets deletion markers at or below index. The leader
// picks the index from wall time so this stays deterministic. The highest
// index it forgets is kept in the index table (reapedIndexKey): reads of
// a missing key or an empty prefix report it, and it is the only trace
// left that something there was deleted that late.
func (s *Store) ReapTombstones(index uint64) error {
	tx := s.db.Txn(true)
	defer tx.Abort()
	it, err := tx.Get(tableTombstones, "id")
	if err != nil {
		return fmt.Errorf("tombstone lookup: %w", err)
	}
	var (
		dead   []*tombstone
		reaped uint64
	)
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if t := raw.(*tombstone); t.Index <= index {
			dead = append(dead, t)
			reaped = max(reaped, t.Index)
		}
	}
	for _, t := range dead {
		if err := tx.Delete(tableTombstones, t); err != nil {
			return fmt.Errorf("tombstone delete: %w", err)
		}
	}
	if reaped > 0 {
		if err := setIndexTxn(tx, reapedIndexKey, reaped); err != nil {
			return err
		}
	}
	tx.Commit()
	return nil
}

// KVSWrite is one KV write with the raft index that commits it.
type KVSWrite struct {
	Index uint64
	Req   *structs.KVSRequest
}

// KVSApplyBatch applies consecutive KV writes in one memdb transaction, so a
// raft batch costs one commit and one round of watch notifications instead
// of one per write. Each result is what that write alone would return: true,
// false for a CAS that lost, or an error.
func (s *Store) KVSApplyBatch(writes []KVSWrite) []any {
	tx := s.db.Txn(true)
	defer tx.Abort()
	out := make([]any, len(writes))
	ix := indexBumps{}
	for i, w := range writes {
		out[i] = kvsApplyTxn(tx, ix, w.Index, w.Req)
	}
	if err := ix.write(tx); err != nil {
		// Only a memdb schema bug gets here; fail every write rather than
		// commit rows whose table index did not move.
		for i := range out {
			out[i] = err
		}
		return out
	}
	tx.Commit()
	return out
}

func kvsApplyTxn(tx *memdb.Txn, ix indexBumps, idx uint64, req *structs.KVSRequest) any {
	var (
		ok  = true
		err error
	)
	switch req.Op {
	case structs.KVSet:
		err = kvsSetTxn(tx, ix, idx, &req.DirEnt)
	case structs.KVCAS:
		ok, err = kvsSetCASTxn(tx, ix, idx, &req.DirEnt)
	case structs.KVDelete:
		err = kvsDeleteTxn(tx, ix, idx, req.DirEnt.Key)
	case structs.KVDeleteCAS:
		ok, err = kvsDeleteCASTxn(tx, ix, idx, req.DirEnt.ModifyIndex, req.DirEnt.Key)
	case structs.KVDeleteTree:
		err = kvsDeleteTreeTxn(tx, ix, idx, req.DirEnt.Key)
	case structs.KVLock:
		ok, err = kvsLockTxn(tx, ix, idx, &req.DirEnt)
	case structs.KVUnlock:
		ok, err = kvsUnlockTxn(tx, ix, idx, &req.DirEnt)
	default:
		err = fmt.Errorf("unsupported KV operation %q", req.Op)
	}
	if err != nil {
		return err
	}
	return ok
}

// kvsLockTxn acquires key for e.Session and writes e's value and flags.
// The session must exist. A key held by another session is not acquired
// (false); acquiring a free key raises its LockIndex, and the holder
// acquiring again only updates value and flags (and, like a set, writes
// nothing when they are unchanged).
func kvsLockTxn(tx *memdb.Txn, ix indexBumps, idx uint64, e *structs.DirEntry) (bool, error) {
	if e.Session == "" {
		return false, fmt.Errorf("missing session")
	}
	ses, err := tx.First(tableSessions, "id", e.Session)
	if err != nil {
		return false, fmt.Errorf("session lookup: %w", err)
	}
	if ses == nil {
		return false, fmt.Errorf("invalid session %q", e.Session)
	}
	raw, err := tx.First(tableKVs, "id", e.Key)
	if err != nil {
		return false, fmt.Errorf("kvs lookup: %w", err)
	}
	ent := &structs.DirEntry{Key: e.Key, Flags: e.Flags, Value: valueOrNil(e.Value), Session: ses.(*structs.Session).ID,
		CreateIndex: idx, ModifyIndex: idx, LockIndex: 1}
	if raw != nil {
		old := raw.(*structs.DirEntry)
		switch {
		case old.Session == ent.Session:
			ent.LockIndex = old.LockIndex
		case old.Session != "":
			return false, nil
		default:
			ent.LockIndex = old.LockIndex + 1
		}
		ent.CreateIndex = old.CreateIndex
		if sameContent(old, ent) {
			return true, nil
		}
	}
	if err := tx.Insert(tableKVs, ent); err != nil {
		return false, fmt.Errorf("kvs insert: %w", err)
	}
	ix.bump(tableKVs, idx)
	return true, nil
}

// kvsUnlockTxn releases key if e.Session holds it, writing e's value and
// flags; a key that is missing or held by no one or another session is
// left alone (false).
func kvsUnlockTxn(tx *memdb.Txn, ix indexBumps, idx uint64, e *structs.DirEntry) (bool, error) {
	if e.Session == "" {
		return false, fmt.Errorf("missing session")
	}
	raw, err := tx.First(tableKVs, "id", e.Key)
	if err != nil {
		return false, fmt.Errorf("kvs lookup: %w", err)
	}
	if raw == nil {
		return false, nil
	}
	old := raw.(*structs.DirEntry)
	if !strings.EqualFold(old.Session, e.Session) {
		return false, nil
	}
	ent := &structs.DirEntry{Key: e.Key, Flags: e.Flags, Value: valueOrNil(e.Value), LockIndex: old.LockIndex,
		CreateIndex: old.CreateIndex, ModifyIndex: idx}
	if err := tx.Insert(tableKVs, ent); err != nil {
		return false, fmt.Errorf("kvs insert: %w", err)
	}
	ix.bump(tableKVs, idx)
	return true, nil
}
