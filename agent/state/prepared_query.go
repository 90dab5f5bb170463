package state

import (
	"fmt"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/structs"
)

// tablePreparedQueries holds the prepared queries. A query is found by ID,
// by exact name, or (a template) by the longest name that prefixes the
// name asked for.
const tablePreparedQueries = "prepared-queries"

func init() {
	registerTable(func() *memdb.TableSchema {
		return &memdb.TableSchema{
			Name: tablePreparedQueries,
			Indexes: map[string]*memdb.IndexSchema{
				"id":      {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID", Lowercase: true}},
				"name":    {Name: "name", Unique: true, AllowMissing: true, Indexer: &memdb.StringFieldIndex{Field: "Name", Lowercase: true}},
				"session": {Name: "session", AllowMissing: true, Indexer: &memdb.StringFieldIndex{Field: "Session", Lowercase: true}},
			},
		}
	})
}

// PreparedQuerySet creates or updates a query at idx. The answer, an FSM
// result, is nil or why the query cannot be stored.
func (s *Store) PreparedQuerySet(idx uint64, q *structs.PreparedQuery) error {
	tx := s.db.Txn(true)
	defer tx.Abort()
	old, err := tx.First(tablePreparedQueries, "id", q.ID)
	if err != nil {
		return fmt.Errorf("prepared query lookup: %w", err)
	}
	if q.Name != "" {
		other, err := tx.First(tablePreparedQueries, "name", q.Name)
		if err != nil {
			return fmt.Errorf("prepared query lookup: %w", err)
		}
		if other != nil && !strings.EqualFold(other.(*structs.PreparedQuery).ID, q.ID) {
			return structs.BadRequestf("Name '%s' aliases an existing query name", q.Name)
		}
	} else if q.IsTemplate() {
		// The one catch-all template: two could not be told apart.
		_, all, err := preparedQueriesTxn(tx, nil)
		if err != nil {
			return err
		}
		for _, o := range all {
			if o.Name == "" && o.IsTemplate() && !strings.EqualFold(o.ID, q.ID) {
				return structs.BadRequestf("a query template with an empty name already exists")
			}
		}
	}
	if q.Session != "" {
		ses, err := tx.First(tableSessions, "id", q.Session)
		if err != nil {
			return fmt.Errorf("session lookup: %w", err)
		}
		if ses == nil {
			return structs.BadRequestf("invalid session %q", q.Session)
		}
	}
	c := *q
	c.CreateIndex, c.ModifyIndex = idx, idx
	if old != nil {
		c.CreateIndex = old.(*structs.PreparedQuery).CreateIndex
	}
	if err := tx.Insert(tablePreparedQueries, &c); err != nil {
		return fmt.Errorf("prepared query insert: %w", err)
	}
	if err := setIndexTxn(tx, tablePreparedQueries, idx); err != nil {
		return err
	}
	tx.Commit()
	return nil
}

// PreparedQueryDelete deletes a query; an unknown ID changes nothing.
func (s *Store) PreparedQueryDelete(idx uint64, id string) error {
	tx := s.db.Txn(true)
	defer tx.Abort()
	n, err := tx.DeleteAll(tablePreparedQueries, "id", id)
	if err != nil {
		return fmt.Errorf("prepared query delete: %w", err)
	}
	if n == 0 {
		return nil
	}
	if err := setIndexTxn(tx, tablePreparedQueries, idx); err != nil {
		return err
	}
	tx.Commit()
	return nil
}

// deleteSessionQueriesTxn deletes the queries bound to a session that is
// being destroyed: a query tied to a session lives only as long as it.
func deleteSessionQueriesTxn(tx *memdb.Txn, session string, b indexBumps, idx uint64) error {
	n, err := tx.DeleteAll(tablePreparedQueries, "session", session)
	if err != nil {
		return fmt.Errorf("prepared query delete: %w", err)
	}
	if n > 0 {
		b.bump(tablePreparedQueries, idx)
	}
	return nil
}

// PreparedQueryGet reads one query by ID; nil when there is none.
func (s *Store) PreparedQueryGet(ws memdb.WatchSet, id string) (uint64, *structs.PreparedQuery, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx := maxIndexWatchTxn(tx, ws, tablePreparedQueries)
	ch, raw, err := tx.FirstWatch(tablePreparedQueries, "id", id)
	if err != nil {
		return 0, nil, fmt.Errorf("prepared query lookup: %w", err)
	}
	ws.Add(ch)
	if raw == nil {
		return idx, nil, nil
	}
	return idx, raw.(*structs.PreparedQuery), nil
}

// PreparedQueryList lists every query by ID.
func (s *Store) PreparedQueryList(ws memdb.WatchSet) (uint64, structs.PreparedQueries, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return preparedQueriesTxn(tx, ws)
}

func preparedQueriesTxn(tx *memdb.Txn, ws memdb.WatchSet) (uint64, structs.PreparedQueries, error) {
	return tableRowsTxn[*structs.PreparedQuery](tx, ws, tablePreparedQueries)
}

// PreparedQueryResolve finds the query a request names: by ID, then by
// exact name, then the template with the longest name that prefixes it
// (an empty-named template catches every name). nil when none matches.
func (s *Store) PreparedQueryResolve(ws memdb.WatchSet, idOrName string) (uint64, *structs.PreparedQuery, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx, all, err := preparedQueriesTxn(tx, ws)
	if err != nil {
		return 0, nil, err
	}
	if idOrName == "" {
		return idx, nil, nil
	}
	var best *structs.PreparedQuery
	for _, q := range all {
		if strings.EqualFold(q.ID, idOrName) {
			return idx, q, nil
		}
		if q.Name != "" && strings.EqualFold(q.Name, idOrName) && !q.IsTemplate() {
			best = q
		}
	}
	if best != nil {
		return idx, best, nil
	}
	lower := strings.ToLower(idOrName)
	for _, q := range all {
		if !q.IsTemplate() || !strings.HasPrefix(lower, strings.ToLower(q.Name)) {
			continue
		}
		if best == nil || len(q.Name) > len(best.Name) {
			best = q
		}
	}
	return idx, best, nil
}

// PreparedQueries calls fn for every query in the view.
func (sn *Snapshot) PreparedQueries(fn func(*structs.PreparedQuery) error) error {
	return eachRow(sn, tablePreparedQueries, fn)
}

// PreparedQuery restores one query as it was.
func (r *Restore) PreparedQuery(q *structs.PreparedQuery) error {
	if err := r.tx.Insert(tablePreparedQueries, q); err != nil {
		return fmt.Errorf("prepared query restore: %w", err)
	}
	return setIndexTxn(r.tx, tablePreparedQueries, q.ModifyIndex)
}
