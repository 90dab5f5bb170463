package state

import (
	"fmt"
	"sync/atomic"

	memdb "github.com/hashicorp/go-memdb"
)

// Store is the state store. It is safe for concurrent use: memdb gives
// readers lock-free snapshots and serialises writers.
type Store struct {
	db *memdb.MemDB

	// abandonCh is closed when the store is replaced by a snapshot restore,
	// so every blocking query on it wakes and re-runs on the new store.
	abandonCh chan struct{}

	// health remembers assembled health entries (catalog_read.go).
	health healthMemo

	// lockRelease hears of keys invalidated sessions released
	// (session.go); nil when no one listens.
	lockRelease func(LockRelease)

	// aclGen counts committed ACL writes (acl.go).
	aclGen atomic.Uint64
}

// New returns an empty store.
func New() *Store {
	return &Store{db: newDB(), abandonCh: make(chan struct{})}
}

// AbandonCh is closed once this store has been replaced.
func (s *Store) AbandonCh() <-chan struct{} { return s.abandonCh }

// Abandon tells blocking queries to move to the store that replaced this one.
func (s *Store) Abandon() { close(s.abandonCh) }

// maxIndexTxn returns the highest write index of the named tables.
func maxIndexTxn(tx *memdb.Txn, tables ...string) uint64 {
	var max uint64
	for _, t := range tables {
		raw, err := tx.First(tableIndex, "id", t)
		if err != nil || raw == nil {
			continue
		}
		if v := raw.(*indexEntry).Value; v > max {
			max = v
		}
	}
	return max
}

// maxIndexWatchTxn is maxIndexTxn that also watches the index rows.
func maxIndexWatchTxn(tx *memdb.Txn, ws memdb.WatchSet, tables ...string) uint64 {
	var max uint64
	for _, t := range tables {
		ch, raw, err := tx.FirstWatch(tableIndex, "id", t)
		if err != nil {
			continue
		}
		ws.Add(ch)
		if raw != nil && raw.(*indexEntry).Value > max {
			max = raw.(*indexEntry).Value
		}
	}
	return max
}

// indexBumps collects the index each table reaches in one write
// transaction, to be recorded once before commit (write). A transaction
// that writes many rows (a raft batch of KV writes, a delete-tree, a
// /v1/txn) would otherwise rewrite the table's index row once per row: the
// index table is a memdb table like any other, and that rewrite cost about
// as much as the row write itself.
type indexBumps map[string]uint64

func (b indexBumps) bump(table string, idx uint64) {
	if idx > b[table] {
		b[table] = idx
	}
}

// write records every collected index in tx.
func (b indexBumps) write(tx *memdb.Txn) error {
	for table, idx := range b {
		if err := setIndexTxn(tx, table, idx); err != nil {
			return err
		}
	}
	return nil
}

// setIndexTxn records that table was written at idx. Indexes only grow.
func setIndexTxn(tx *memdb.Txn, table string, idx uint64) error {
	raw, err := tx.First(tableIndex, "id", table)
	if err != nil {
		return fmt.Errorf("index lookup: %w", err)
	}
	if raw != nil && raw.(*indexEntry).Value >= idx {
		return nil
	}
	if err := tx.Insert(tableIndex, &indexEntry{Key: table, Value: idx}); err != nil {
		return fmt.Errorf("index update: %w", err)
	}
	return nil
}

// LatestIndex is the highest index any table was written at.
func (s *Store) LatestIndex() uint64 {
	tx := s.db.Txn(false)
	defer tx.Abort()
	var max uint64
	it, err := tx.Get(tableIndex, "id")
	if err != nil {
		return 0
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if v := raw.(*indexEntry).Value; v > max {
			max = v
		}
	}
	return max
}

// tableRowsTxn lists every row of table in its id order with the table's
// index, watching both: the read of a whole small table (coordinates,
// prepared queries).
func tableRowsTxn[T any](tx *memdb.Txn, ws memdb.WatchSet, table string) (uint64, []T, error) {
	idx := maxIndexWatchTxn(tx, ws, table)
	it, err := tx.Get(table, "id")
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", table, err)
	}
	ws.Add(it.WatchCh())
	var out []T
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(T))
	}
	return idx, out, nil
}

// eachRow calls fn for every row of table in the snapshot's view.
func eachRow[T any](sn *Snapshot, table string, fn func(T) error) error {
	_, rows, err := tableRowsTxn[T](sn.tx, nil, table)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}
