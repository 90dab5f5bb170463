package state

import (
	"fmt"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/structs"
)

// tableCoordinates holds each node's LAN network coordinate. A row lives
// as long as its node: deleting the node deletes it.
const tableCoordinates = "coordinates"

func init() {
	registerTable(func() *memdb.TableSchema {
		return &memdb.TableSchema{
			Name: tableCoordinates,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Node", Lowercase: true}},
			},
		}
	})
}

// CoordinateBatchUpdate stores a batch of coordinates at idx. An update
// for a node the catalog does not know is dropped, as Consul drops it: a
// node deregistered while its update waited in the leader's batch must
// not come back as a coordinate without a node.
func (s *Store) CoordinateBatchUpdate(idx uint64, updates structs.Coordinates) error {
	tx := s.db.Txn(true)
	defer tx.Abort()
	wrote := false
	for _, u := range updates {
		if u == nil || u.Coord == nil {
			continue
		}
		n, err := tx.First(tableNodes, "id", u.Node)
		if err != nil {
			return fmt.Errorf("node lookup: %w", err)
		}
		if n == nil {
			continue
		}
		c := *u
		c.Node = n.(*structs.Node).Node // the catalog's spelling
		if err := tx.Insert(tableCoordinates, &c); err != nil {
			return fmt.Errorf("coordinate insert: %w", err)
		}
		wrote = true
	}
	if !wrote {
		return nil
	}
	if err := setIndexTxn(tx, tableCoordinates, idx); err != nil {
		return err
	}
	tx.Commit()
	return nil
}

// Coordinates lists every node's coordinate, by node name.
func (s *Store) Coordinates(ws memdb.WatchSet) (uint64, structs.Coordinates, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return coordinatesTxn(tx, ws)
}

func coordinatesTxn(tx *memdb.Txn, ws memdb.WatchSet) (uint64, structs.Coordinates, error) {
	return tableRowsTxn[*structs.Coordinate](tx, ws, tableCoordinates)
}

// NodeCoordinate is one node's coordinate, or nil without one; the index
// is the table's.
func (s *Store) NodeCoordinate(ws memdb.WatchSet, node string) (uint64, *structs.Coordinate, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx := maxIndexWatchTxn(tx, ws, tableCoordinates)
	ch, raw, err := tx.FirstWatch(tableCoordinates, "id", node)
	if err != nil {
		return 0, nil, fmt.Errorf("coordinate lookup: %w", err)
	}
	ws.Add(ch)
	if raw == nil {
		return idx, nil, nil
	}
	return idx, raw.(*structs.Coordinate), nil
}

// deleteCoordinateTxn drops a deleted node's coordinate.
func deleteCoordinateTxn(tx *memdb.Txn, node string, ch *catalogChanges) error {
	n, err := tx.DeleteAll(tableCoordinates, "id", strings.ToLower(node))
	if err != nil {
		return fmt.Errorf("coordinate delete: %w", err)
	}
	if n > 0 {
		ch.table(tableCoordinates)
	}
	return nil
}

// Coordinates calls fn for every coordinate in the view.
func (sn *Snapshot) Coordinates(fn func(*structs.Coordinate) error) error {
	return eachRow(sn, tableCoordinates, fn)
}

// Coordinate restores one coordinate; the table's index travels with the
// other index rows.
func (r *Restore) Coordinate(c *structs.Coordinate) error {
	if err := r.tx.Insert(tableCoordinates, c); err != nil {
		return fmt.Errorf("coordinate restore: %w", err)
	}
	return nil
}
