package state

import (
	"fmt"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/structs"
)

// TxnRW applies a transaction at idx: every step or none. On failure the
// memdb transaction is aborted, so nothing it did is visible.
func (s *Store) TxnRW(idx uint64, ops structs.TxnOps) (structs.TxnResults, structs.TxnErrors) {
	tx := s.db.Txn(true)
	defer tx.Abort()
	ix := indexBumps{}
	ch := newCatalogChanges()
	results, errs := txnTxn(tx, ix, ch, idx, ops)
	if len(errs) > 0 {
		return nil, errs
	}
	if err := ix.write(tx); err != nil {
		return nil, structs.TxnErrors{{What: err.Error()}}
	}
	if err := ch.commit(tx, idx); err != nil {
		return nil, structs.TxnErrors{{What: err.Error()}}
	}
	tx.Commit()
	s.notifyReleases(ch.released)
	return results, nil
}

// TxnRO runs a read-only transaction against one consistent snapshot.
func (s *Store) TxnRO(ops structs.TxnOps) (uint64, structs.TxnResults, structs.TxnErrors) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	results, errs := txnTxn(tx, indexBumps{}, newCatalogChanges(), 0, ops)
	if len(errs) > 0 {
		return 0, nil, errs
	}
	return maxIndexTxn(tx, tableKVs, tableTombstones, tableNodes, tableServices, tableChecks), results, nil
}

// txnTxn runs ops in tx; ix collects the indexes its KV writes reach, ch
// what its catalog writes touch.
func txnTxn(tx *memdb.Txn, ix indexBumps, ch *catalogChanges, idx uint64, ops structs.TxnOps) (structs.TxnResults, structs.TxnErrors) {
	var (
		results structs.TxnResults
		errs    structs.TxnErrors
	)
	for i, op := range ops {
		if op == nil {
			errs = append(errs, &structs.TxnError{OpIndex: i, What: "unknown operation type"})
			continue
		}
		if op.KV == nil {
			res, err := txnCatalogTxn(tx, idx, op, ch)
			if err != nil {
				errs = append(errs, &structs.TxnError{OpIndex: i, What: err.Error()})
			} else if res != nil {
				results = append(results, res)
			}
			continue
		}
		ents, err := txnKVTxn(tx, ix, idx, op.KV)
		if err != nil {
			errs = append(errs, &structs.TxnError{OpIndex: i, What: err.Error()})
			continue
		}
		for _, e := range ents {
			results = append(results, &structs.TxnResult{KV: e})
		}
	}
	return results, errs
}

// txnKVTxn runs one KV step and returns the entries it reports. Only reads
// return values: writes report metadata with a nil Value, as Consul does, to
// keep responses small.
func txnKVTxn(tx *memdb.Txn, ix indexBumps, idx uint64, op *structs.TxnKVOp) (structs.DirEntries, error) {
	key := op.DirEnt.Key
	var (
		entry *structs.DirEntry
		err   error
	)
	switch op.Verb {
	case structs.KVSet:
		err = kvsSetTxn(tx, ix, idx, &op.DirEnt)
	case structs.KVCAS:
		e := op.DirEnt
		e.ModifyIndex = txnIndex(op)
		var ok bool
		if ok, err = kvsSetCASTxn(tx, ix, idx, &e); err == nil && !ok {
			err = fmt.Errorf("failed to set key %q, index is stale", key)
		}
	case structs.KVDelete:
		return nil, kvsDeleteTxn(tx, ix, idx, key)
	case structs.KVDeleteCAS:
		ok, err := kvsDeleteCASTxn(tx, ix, idx, txnIndex(op), key)
		if err == nil && !ok {
			err = fmt.Errorf("failed to delete key %q, index is stale", key)
		}
		return nil, err
	case structs.KVDeleteTree:
		return nil, kvsDeleteTreeTxn(tx, ix, idx, key)
	case structs.KVLock:
		var ok bool
		if ok, err = kvsLockTxn(tx, ix, idx, &op.DirEnt); err == nil && !ok {
			err = fmt.Errorf("failed to lock key %q, lock is already held", key)
		}
	case structs.KVUnlock:
		var ok bool
		if ok, err = kvsUnlockTxn(tx, ix, idx, &op.DirEnt); err == nil && !ok {
			err = fmt.Errorf("failed to unlock key %q, lock isn't held, or is held by another session", key)
		}
	case structs.KVCheckSession:
		_, e, err := kvsGetTxn(tx, memdb.WatchSet{}, key)
		switch {
		case err != nil:
			return nil, err
		case e == nil:
			return nil, fmt.Errorf("failed to check session, key %q doesn't exist", key)
		case !strings.EqualFold(e.Session, op.DirEnt.Session):
			return nil, fmt.Errorf("failed session check for key %q, current session %q != %q", key, e.Session, op.DirEnt.Session)
		}
		entry = e
	case structs.KVGet, structs.KVGetOrEmpty:
		_, e, err := kvsGetTxn(tx, memdb.WatchSet{}, key)
		switch {
		case err != nil:
			return nil, err
		case e == nil && op.Verb == structs.KVGet:
			return nil, fmt.Errorf("key %q doesn't exist", key)
		case e == nil:
			// An entry with only the key, as Consul answers: clients read
			// Results[i].KV unconditionally, so it must not be null.
			return structs.DirEntries{{Key: key}}, nil
		}
		return structs.DirEntries{e}, nil
	case structs.KVGetTree:
		_, ents, err := kvsListTxn(tx, memdb.WatchSet{}, key)
		return ents, err
	case structs.KVCheckIndex:
		_, e, err := kvsGetTxn(tx, memdb.WatchSet{}, key)
		switch {
		case err != nil:
			return nil, err
		case e == nil:
			return nil, fmt.Errorf("key %q doesn't exist", key)
		case e.ModifyIndex != txnIndex(op):
			return nil, fmt.Errorf("current modify index %d != %d", e.ModifyIndex, txnIndex(op))
		}
		entry = e
	case structs.KVCheckNotExists:
		_, e, err := kvsGetTxn(tx, memdb.WatchSet{}, key)
		switch {
		case err != nil:
			return nil, err
		case e != nil:
			return nil, fmt.Errorf("key %q exists", key)
		}
		return nil, nil
	default:
		return nil, fmt.Errorf("unknown KV verb %q", op.Verb)
	}
	if err != nil {
		return nil, err
	}
	if entry == nil {
		raw, lerr := tx.First(tableKVs, "id", key)
		if lerr != nil || raw == nil {
			return nil, lerr
		}
		entry = raw.(*structs.DirEntry)
	}
	meta := *entry
	meta.Value = nil
	return structs.DirEntries{&meta}, nil
}

// txnIndex is the index a CAS or check step compares against: the HTTP
// layer puts the client's "Index" into DirEnt.ModifyIndex.
func txnIndex(op *structs.TxnKVOp) uint64 { return op.DirEnt.ModifyIndex }
