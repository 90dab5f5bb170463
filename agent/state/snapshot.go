package state

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/structs"
)

// Snapshot is a consistent, read-only view of the whole store that the FSM
// persists while writes go on.
type Snapshot struct {
	tx *memdb.Txn
}

// Snapshot opens a point-in-time view; Close it when done.
func (s *Store) Snapshot() *Snapshot {
	return &Snapshot{tx: s.db.Txn(false)}
}

// Close releases the view.
func (sn *Snapshot) Close() { sn.tx.Abort() }

// LatestIndex is the highest table index in the view, over every table
// (tables registered by other files included).
func (sn *Snapshot) LatestIndex() uint64 {
	var max uint64
	_ = sn.Indexes(func(_ string, idx uint64) error {
		max = maxU64(max, idx)
		return nil
	})
	return max
}

func maxU64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// KVs calls fn for every entry in key order.
func (sn *Snapshot) KVs(fn func(*structs.DirEntry) error) error {
	it, err := sn.tx.Get(tableKVs, "id")
	if err != nil {
		return fmt.Errorf("kvs snapshot: %w", err)
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if err := fn(raw.(*structs.DirEntry)); err != nil {
			return err
		}
	}
	return nil
}

// Tombstone is a deletion marker as persisted in snapshots.
type Tombstone struct {
	Key   string
	Index uint64
}

// Tombstones calls fn for every deletion marker.
func (sn *Snapshot) Tombstones(fn func(Tombstone) error) error {
	it, err := sn.tx.Get(tableTombstones, "id")
	if err != nil {
		return fmt.Errorf("tombstone snapshot: %w", err)
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		t := raw.(*tombstone)
		if err := fn(Tombstone{Key: t.Key, Index: t.Index}); err != nil {
			return err
		}
	}
	return nil
}

// Restore fills a fresh store from a snapshot inside one write transaction;
// nothing is visible until Commit.
type Restore struct {
	tx *memdb.Txn
}

// Restore starts filling s, which must be new and unused.
func (s *Store) Restore() *Restore { return &Restore{tx: s.db.Txn(true)} }

// KV inserts one entry as it was, indexes included.
func (r *Restore) KV(e *structs.DirEntry) error {
	if err := r.tx.Insert(tableKVs, e); err != nil {
		return fmt.Errorf("kvs restore: %w", err)
	}
	return setIndexTxn(r.tx, tableKVs, e.ModifyIndex)
}

// Tombstone inserts one deletion marker.
func (r *Restore) Tombstone(t Tombstone) error {
	if err := r.tx.Insert(tableTombstones, &tombstone{Key: t.Key, Index: t.Index}); err != nil {
		return fmt.Errorf("tombstone restore: %w", err)
	}
	return setIndexTxn(r.tx, tableTombstones, t.Index)
}

// Index sets a table index that the rows alone would not restore (the
// index of a delete whose tombstone was reaped).
func (r *Restore) Index(table string, idx uint64) error {
	return setIndexTxn(r.tx, table, idx)
}

// Indexes calls fn for every table index.
func (sn *Snapshot) Indexes(fn func(table string, idx uint64) error) error {
	it, err := sn.tx.Get(tableIndex, "id")
	if err != nil {
		return fmt.Errorf("index snapshot: %w", err)
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		ie := raw.(*indexEntry)
		if err := fn(ie.Key, ie.Value); err != nil {
			return err
		}
	}
	return nil
}

// Commit makes the restored data visible.
func (r *Restore) Commit() { r.tx.Commit() }

// Abort drops everything restored so far.
func (r *Restore) Abort() { r.tx.Abort() }
