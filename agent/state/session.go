package state

import (
	"fmt"
	"strings"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/structs"
)

// Session tables. sessionChecks links a session to each check it names,
// so the transaction that turns a check critical (or deletes it) finds the
// sessions to invalidate without scanning them all.
const (
	tableSessions      = "sessions"
	tableSessionChecks = "session_checks"
)

// sessionCheck is one link from a check (node, check ID) to a session.
type sessionCheck struct {
	Node    string
	CheckID string
	Session string
}

func init() {
	registerTable(sessionsTable)
	registerTable(sessionChecksTable)
}

func sessionsTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableSessions,
		Indexes: map[string]*memdb.IndexSchema{
			"id":   {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID", Lowercase: true}},
			"node": {Name: "node", Indexer: &memdb.StringFieldIndex{Field: "Node", Lowercase: true}},
		},
	}
}

func sessionChecksTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableSessionChecks,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				&memdb.StringFieldIndex{Field: "Node", Lowercase: true},
				&memdb.StringFieldIndex{Field: "CheckID", Lowercase: true},
				&memdb.StringFieldIndex{Field: "Session", Lowercase: true},
			}}},
			"node_check": {Name: "node_check", Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				&memdb.StringFieldIndex{Field: "Node", Lowercase: true},
				&memdb.StringFieldIndex{Field: "CheckID", Lowercase: true},
			}}},
			"session": {Name: "session", Indexer: &memdb.StringFieldIndex{Field: "Session", Lowercase: true}},
		},
	}
}

// LockRelease is a set of keys an invalidated session let go of, with the
// session's lock-delay. The store reports them after commit (OnLockRelease)
// and keeps no clock: the server turns them into wall-time deadlines.
type LockRelease struct {
	Keys  []string
	Delay time.Duration
}

// OnLockRelease sets the function told, after each commit, which keys
// invalidated sessions released. It must not block.
func (s *Store) OnLockRelease(fn func(LockRelease)) { s.lockRelease = fn }

func (s *Store) notifyReleases(rs []LockRelease) {
	if s.lockRelease == nil {
		return
	}
	for _, r := range rs {
		if len(r.Keys) > 0 {
			s.lockRelease(r)
		}
	}
}

// SessionCreate stores a new session at idx. The node must exist, and each
// check it links to must exist on it and not be critical: a session whose
// health is already gone would be invalidated at once.
func (s *Store) SessionCreate(idx uint64, sess *structs.Session) error {
	tx := s.db.Txn(true)
	defer tx.Abort()
	n, err := tx.First(tableNodes, "id", sess.Node)
	if err != nil {
		return fmt.Errorf("node lookup: %w", err)
	}
	if n == nil {
		return structs.BadRequestf("Missing node registration")
	}
	ses := *sess
	ses.Node = n.(*structs.Node).Node
	ses.CreateIndex, ses.ModifyIndex = idx, idx
	for _, id := range ses.CheckIDs() {
		raw, err := tx.First(tableChecks, "id", ses.Node, id)
		if err != nil {
			return fmt.Errorf("check lookup: %w", err)
		}
		if raw == nil {
			return structs.BadRequestf("Missing check '%s' registration", id)
		}
		if raw.(*structs.HealthCheck).Status == structs.HealthCritical {
			return structs.BadRequestf("Check '%s' is in critical state", id)
		}
	}
	if err := insertSessionTxn(tx, &ses); err != nil {
		return err
	}
	if err := setIndexTxn(tx, tableSessions, idx); err != nil {
		return err
	}
	tx.Commit()
	return nil
}

// insertSessionTxn writes a session row and its check links.
func insertSessionTxn(tx *memdb.Txn, ses *structs.Session) error {
	if err := tx.Insert(tableSessions, ses); err != nil {
		return fmt.Errorf("session insert: %w", err)
	}
	for _, id := range ses.CheckIDs() {
		if err := tx.Insert(tableSessionChecks, &sessionCheck{Node: ses.Node, CheckID: id, Session: ses.ID}); err != nil {
			return fmt.Errorf("session check insert: %w", err)
		}
	}
	return nil
}

// SessionDestroy removes a session at idx, applying its behaviour to the
// locks it holds. A missing session is not an error and writes nothing.
func (s *Store) SessionDestroy(idx uint64, id string) error {
	tx := s.db.Txn(true)
	defer tx.Abort()
	ix := indexBumps{}
	rel, err := deleteSessionTxn(tx, ix, idx, id)
	if err != nil {
		return err
	}
	if err := ix.write(tx); err != nil {
		return err
	}
	tx.Commit()
	s.notifyReleases([]LockRelease{rel})
	return nil
}

// deleteSessionTxn invalidates one session: its row and links go, and the
// keys it holds are released (Session cleared, entry kept) or deleted, by
// its Behavior. It returns what was released for lock-delay.
func deleteSessionTxn(tx *memdb.Txn, ix indexBumps, idx uint64, id string) (LockRelease, error) {
	raw, err := tx.First(tableSessions, "id", id)
	if err != nil {
		return LockRelease{}, fmt.Errorf("session lookup: %w", err)
	}
	if raw == nil {
		return LockRelease{}, nil
	}
	ses := raw.(*structs.Session)
	if err := tx.Delete(tableSessions, ses); err != nil {
		return LockRelease{}, fmt.Errorf("session delete: %w", err)
	}
	if _, err := tx.DeleteAll(tableSessionChecks, "session", ses.ID); err != nil {
		return LockRelease{}, fmt.Errorf("session check delete: %w", err)
	}
	ix.bump(tableSessions, idx)
	if err := deleteSessionQueriesTxn(tx, ses.ID, ix, idx); err != nil {
		return LockRelease{}, err
	}

	it, err := tx.Get(tableKVs, "session", ses.ID)
	if err != nil {
		return LockRelease{}, fmt.Errorf("kvs lookup: %w", err)
	}
	var held []*structs.DirEntry
	for raw := it.Next(); raw != nil; raw = it.Next() {
		held = append(held, raw.(*structs.DirEntry))
	}
	rel := LockRelease{Delay: ses.LockDelay}
	for _, e := range held {
		rel.Keys = append(rel.Keys, e.Key)
		if ses.Behavior == structs.SessionKeysDelete {
			if err := kvsDeleteTxn(tx, ix, idx, e.Key); err != nil {
				return LockRelease{}, err
			}
			continue
		}
		ne := *e
		ne.Session, ne.ModifyIndex = "", idx
		if err := tx.Insert(tableKVs, &ne); err != nil {
			return LockRelease{}, fmt.Errorf("kvs insert: %w", err)
		}
		ix.bump(tableKVs, idx)
	}
	return rel, nil
}

// sessionsOfCheckTxn lists the sessions linked to one check.
func sessionsOfCheckTxn(tx *memdb.Txn, node, checkID string) ([]string, error) {
	it, err := tx.Get(tableSessionChecks, "node_check", node, checkID)
	if err != nil {
		return nil, fmt.Errorf("session check lookup: %w", err)
	}
	var out []string
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*sessionCheck).Session)
	}
	return out, nil
}

// sessionsOfNodeTxn lists the sessions of one node.
func sessionsOfNodeTxn(tx *memdb.Txn, node string) ([]string, error) {
	it, err := tx.Get(tableSessions, "node", node)
	if err != nil {
		return nil, fmt.Errorf("session lookup: %w", err)
	}
	var out []string
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.Session).ID)
	}
	return out, nil
}

// SessionGet reads one session; a missing one is (index, nil, nil). The
// index is the sessions table's.
func (s *Store) SessionGet(ws memdb.WatchSet, id string) (uint64, *structs.Session, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx := maxIndexWatchTxn(tx, ws, tableSessions)
	ch, raw, err := tx.FirstWatch(tableSessions, "id", id)
	if err != nil {
		return 0, nil, fmt.Errorf("session lookup: %w", err)
	}
	ws.Add(ch)
	if raw == nil {
		return idx, nil, nil
	}
	return idx, raw.(*structs.Session), nil
}

// SessionList reads every session, ordered by ID.
func (s *Store) SessionList(ws memdb.WatchSet) (uint64, structs.Sessions, error) {
	return s.sessionsBy(ws, "id")
}

// NodeSessions reads the sessions of one node.
func (s *Store) NodeSessions(ws memdb.WatchSet, node string) (uint64, structs.Sessions, error) {
	return s.sessionsBy(ws, "node", node)
}

func (s *Store) sessionsBy(ws memdb.WatchSet, index string, args ...any) (uint64, structs.Sessions, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx := maxIndexWatchTxn(tx, ws, tableSessions)
	it, err := tx.Get(tableSessions, index, args...)
	if err != nil {
		return 0, nil, fmt.Errorf("session lookup: %w", err)
	}
	ws.Add(it.WatchCh())
	var out structs.Sessions
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.Session))
	}
	return idx, out, nil
}

// invalidations collects the sessions a catalog write invalidates, to be
// destroyed in the same transaction (catalogChanges.commit).
type invalidations map[string]bool

func (v invalidations) add(ids []string) {
	for _, id := range ids {
		v[strings.ToLower(id)] = true
	}
}

// apply destroys every collected session at idx and returns the keys they
// released.
func (v invalidations) apply(tx *memdb.Txn, idx uint64) ([]LockRelease, error) {
	if len(v) == 0 {
		return nil, nil
	}
	ix := indexBumps{}
	var out []LockRelease
	for id := range v {
		rel, err := deleteSessionTxn(tx, ix, idx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, rel)
	}
	return out, ix.write(tx)
}

// Sessions calls fn for every session.
func (sn *Snapshot) Sessions(fn func(*structs.Session) error) error {
	it, err := sn.tx.Get(tableSessions, "id")
	if err != nil {
		return fmt.Errorf("sessions snapshot: %w", err)
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if err := fn(raw.(*structs.Session)); err != nil {
			return err
		}
	}
	return nil
}

// Session inserts one session and its check links as it was.
func (r *Restore) Session(ses *structs.Session) error {
	if err := insertSessionTxn(r.tx, ses); err != nil {
		return err
	}
	return setIndexTxn(r.tx, tableSessions, ses.ModifyIndex)
}
