package state

import (
	"fmt"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/structs"
)

// KVSGet returns one entry, or nil when the key does not exist. The index is
// the entry's ModifyIndex, or the KV tables' index when it is missing, so a
// blocking query on a missing key wakes when it is created.
func (s *Store) KVSGet(ws memdb.WatchSet, key string) (uint64, *structs.DirEntry, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return kvsGetTxn(tx, ws, key)
}

func kvsGetTxn(tx *memdb.Txn, ws memdb.WatchSet, key string) (uint64, *structs.DirEntry, error) {
	ch, raw, err := tx.FirstWatch(tableKVs, "id", key)
	if err != nil {
		return 0, nil, fmt.Errorf("kvs lookup: %w", err)
	}
	ws.Add(ch)
	if raw != nil {
		e := raw.(*structs.DirEntry)
		return e.ModifyIndex, e, nil
	}
	return maxIndexTxn(tx, tableKVs, tableTombstones), nil, nil
}

// KVSList returns every entry under prefix, ordered by key. The index is the
// highest ModifyIndex under the prefix, counting deletions (tombstones), so
// a blocking query on a prefix wakes when a key under it is removed.
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
		// Nothing under the prefix ever: report the table index so the
		// client has something to block on.
		idx = maxIndexTxn(tx, tableKVs, tableTombstones)
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

// KVSSet writes an entry unconditionally.
func (s *Store) KVSSet(idx uint64, e *structs.DirEntry) error {
	tx := s.db.Txn(true)
	defer tx.Abort()
	ix := indexBumps{}
	if err := kvsSetTxn(tx, ix, idx, e); err != nil {
		return err
	}
	if err := ix.write(tx); err != nil {
		return err
	}
	tx.Commit()
	return nil
}

// kvsSetTxn inserts a copy of e at idx, keeping CreateIndex and the lock
// fields of an existing entry. Like every KV write helper, it records the
// tables it changed in ix; the caller writes ix before committing.
func kvsSetTxn(tx *memdb.Txn, ix indexBumps, idx uint64, e *structs.DirEntry) error {
	raw, err := tx.First(tableKVs, "id", e.Key)
	if err != nil {
		return fmt.Errorf("kvs lookup: %w", err)
	}
	ent := &structs.DirEntry{
		Key:         e.Key,
		Flags:       e.Flags,
		Value:       e.Value,
		CreateIndex: idx,
		ModifyIndex: idx,
	}
	if len(ent.Value) == 0 {
		// Consul reports an empty value as null; store it that way so every
		// path (get, txn, snapshot) agrees.
		ent.Value = nil
	}
	if raw != nil {
		old := raw.(*structs.DirEntry)
		ent.CreateIndex = old.CreateIndex
		ent.LockIndex = old.LockIndex
		ent.Session = old.Session
	}
	if err := tx.Insert(tableKVs, ent); err != nil {
		return fmt.Errorf("kvs insert: %w", err)
	}
	ix.bump(tableKVs, idx)
	return nil
}

// KVSSetCAS writes e only if the key's ModifyIndex equals e.ModifyIndex
// (0 means: only if the key does not exist).
func (s *Store) KVSSetCAS(idx uint64, e *structs.DirEntry) (bool, error) {
	tx := s.db.Txn(true)
	defer tx.Abort()
	ix := indexBumps{}
	ok, err := kvsSetCASTxn(tx, ix, idx, e)
	if err != nil || !ok {
		return ok, err
	}
	if err := ix.write(tx); err != nil {
		return false, err
	}
	tx.Commit()
	return true, nil
}

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

// KVSDelete removes one key; removing a missing key is not an error.
func (s *Store) KVSDelete(idx uint64, key string) error {
	tx := s.db.Txn(true)
	defer tx.Abort()
	ix := indexBumps{}
	if err := kvsDeleteTxn(tx, ix, idx, key); err != nil {
		return err
	}
	if err := ix.write(tx); err != nil {
		return err
	}
	tx.Commit()
	return nil
}

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

// KVSDeleteCAS removes key only if its ModifyIndex equals cidx. A missing key
// counts as deleted, so a retried delete-cas stays idempotent (as in Consul).
func (s *Store) KVSDeleteCAS(idx, cidx uint64, key string) (bool, error) {
	tx := s.db.Txn(true)
	defer tx.Abort()
	ix := indexBumps{}
	ok, err := kvsDeleteCASTxn(tx, ix, idx, cidx, key)
	if err != nil || !ok {
		return ok, err
	}
	if err := ix.write(tx); err != nil {
		return false, err
	}
	tx.Commit()
	return true, nil
}

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

// KVSDeleteTree removes every key under prefix ("" removes everything).
func (s *Store) KVSDeleteTree(idx uint64, prefix string) error {
	tx := s.db.Txn(true)
	defer tx.Abort()
	ix := indexBumps{}
	if err := kvsDeleteTreeTxn(tx, ix, idx, prefix); err != nil {
		return err
	}
	if err := ix.write(tx); err != nil {
		return err
	}
	tx.Commit()
	return nil
}

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
// picks the index from wall time so this stays deterministic.
func (s *Store) ReapTombstones(index uint64) error {
	tx := s.db.Txn(true)
	defer tx.Abort()
	it, err := tx.Get(tableTombstones, "id")
	if err != nil {
		return fmt.Errorf("tombstone lookup: %w", err)
	}
	var dead []*tombstone
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if t := raw.(*tombstone); t.Index <= index {
			dead = append(dead, t)
		}
	}
	for _, t := range dead {
		if err := tx.Delete(tableTombstones, t); err != nil {
			return fmt.Errorf("tombstone delete: %w", err)
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
	default:
		err = fmt.Errorf("unsupported KV operation %q", req.Op)
	}
	if err != nil {
		return err
	}
	return ok
}
