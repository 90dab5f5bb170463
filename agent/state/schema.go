package state

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"
)

// Table names.
const (
	tableIndex      = "index"
	tableKVs        = "kvs"
	tableTombstones = "tombstones"
)

// indexEntry records the raft index of the last write to a table, so reads
// that find nothing can still report a meaningful X-Consul-Index.
type indexEntry struct {
	Key   string
	Value uint64
}

// tombstone marks a deleted key so a blocking query on its prefix can report
// an index that moved, even though nothing is left under the prefix.
type tombstone struct {
	Key   string
	Index uint64
}

// reapedIndexKey names the index-table row holding the highest index of
// any tombstone reaped so far. Every tombstone still stored is above it
// (a reap removes all at or below its index), so for a key without a
// tombstone it is the lowest index that is surely at least the key's last
// deletion. It travels in snapshots with the other index rows.
const reapedIndexKey = "tombstones.reaped"

// tableSchemas lists every table. Files that own further tables add theirs
// with registerTable from an init function, so adding a table never edits
// this file.
var tableSchemas = []func() *memdb.TableSchema{indexTable, kvsTable, tombstonesTable}

func registerTable(fn func() *memdb.TableSchema) { tableSchemas = append(tableSchemas, fn) }

func schema() *memdb.DBSchema {
	db := &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{}}
	for _, fn := range tableSchemas {
		t := fn()
		db.Tables[t.Name] = t
	}
	return db
}

func indexTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableIndex,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
		},
	}
}

func kvsTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableKVs,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
			// session finds the locks a session holds when it is
			// invalidated.
			"session": {Name: "session", AllowMissing: true, Indexer: &memdb.StringFieldIndex{Field: "Session", Lowercase: true}},
		},
	}
}

func tombstonesTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableTombstones,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
		},
	}
}

// newDB panics only on a programming error in schema(); every test that
// opens a store covers it.
func newDB() *memdb.MemDB {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		panic(fmt.Sprintf("state: invalid schema: %v", err))
	}
	return db
}
