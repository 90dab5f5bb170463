package state

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/structs"
)

// ACL tables. The bootstrap is an index-table row: its value is the raft
// index of the bootstrap, which is also the reset index Consul reports.
const (
	tableACLTokens   = "acl_tokens"
	tableACLPolicies = "acl_policies"
	tableACLRoles    = "acl_roles"
	aclBootstrapKey  = "acl.bootstrap"
)

func init() {
	registerTable(func() *memdb.TableSchema {
		return &memdb.TableSchema{
			Name: tableACLTokens,
			Indexes: map[string]*memdb.IndexSchema{
				"id":     {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "AccessorID", Lowercase: true}},
				"secret": {Name: "secret", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "SecretID"}},
			},
		}
	})
	for _, t := range []string{tableACLPolicies, tableACLRoles} {
		registerTable(func() *memdb.TableSchema {
			return &memdb.TableSchema{
				Name: t,
				Indexes: map[string]*memdb.IndexSchema{
					"id":   {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID", Lowercase: true}},
					"name": {Name: "name", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
				},
			}
		})
	}
}

// errBootstrapDone refuses a second bootstrap; its text carries the
// reset index, as Consul's does.
func errBootstrapDone(reset uint64) error {
	return structs.Errorf(structs.KindPermissionDenied, "Permission denied: ACL bootstrap no longer allowed (reset index: %d)", reset)
}

// ACLApply performs one ACL write at idx. The leader has checked the
// request; the store refuses only what depends on the state at apply
// time (a second bootstrap, a name or secret another row holds).
func (s *Store) ACLApply(idx uint64, req *structs.ACLRequest) error {
	tx := s.db.Txn(true)
	defer tx.Abort()
	reqs := []*structs.ACLRequest{req}
	if req.Op == structs.ACLBatch {
		reqs = req.Batch
	}
	tables := map[string]bool{}
	for _, r := range reqs {
		if req.Op == structs.ACLBatch && (r.Op == structs.ACLBatch || r.Op == structs.ACLBootstrap) {
			return fmt.Errorf("ACL operation %q cannot be part of a batch", r.Op)
		}
		table, err := aclApplyTxn(tx, idx, r)
		if err != nil {
			return err
		}
		tables[table] = true
	}
	for table := range tables {
		if err := setIndexTxn(tx, table, idx); err != nil {
			return err
		}
	}
	tx.Commit()
	s.aclGen.Add(1)
	return nil
}

// aclApplyTxn performs one ACL write in tx and names the table it wrote.
func aclApplyTxn(tx *memdb.Txn, idx uint64, req *structs.ACLRequest) (string, error) {
	switch req.Op {
	case structs.ACLBootstrap:
		if done := maxIndexTxn(tx, aclBootstrapKey); done != 0 {
			return "", errBootstrapDone(done)
		}
		if err := tx.Insert(tableIndex, &indexEntry{Key: aclBootstrapKey, Value: idx}); err != nil {
			return "", err
		}
		return tableACLTokens, setToken(tx, idx, req.Token)
	case structs.ACLTokenSet:
		return tableACLTokens, setToken(tx, idx, req.Token)
	case structs.ACLPolicySet:
		p := *req.Policy
		return tableACLPolicies, setNamed(tx, tableACLPolicies, idx, &p, p.ID, p.Name, &p.CreateIndex, &p.ModifyIndex,
			func(raw any) uint64 { return raw.(*structs.ACLPolicy).CreateIndex })
	case structs.ACLRoleSet:
		r := *req.Role
		return tableACLRoles, setNamed(tx, tableACLRoles, idx, &r, r.ID, r.Name, &r.CreateIndex, &r.ModifyIndex,
			func(raw any) uint64 { return raw.(*structs.ACLRole).CreateIndex })
	case structs.ACLTokenDelete:
		return tableACLTokens, deleteRow(tx, tableACLTokens, req.ID)
	case structs.ACLPolicyDelete:
		return tableACLPolicies, deleteRow(tx, tableACLPolicies, req.ID)
	case structs.ACLRoleDelete:
		return tableACLRoles, deleteRow(tx, tableACLRoles, req.ID)
	}
	return "", fmt.Errorf("unknown ACL operation %q", req.Op)
}

func setToken(tx *memdb.Txn, idx uint64, in *structs.ACLToken) error {
	t := *in
	if raw, err := tx.First(tableACLTokens, "secret", t.SecretID); err != nil {
		return fmt.Errorf("acl token lookup: %w", err)
	} else if raw != nil && raw.(*structs.ACLToken).AccessorID != t.AccessorID {
		return structs.Errorf(structs.KindBadRequest, "Invalid Token: SecretID is already in use")
	}
	t.CreateIndex, t.ModifyIndex = idx, idx
	if raw, err := tx.First(tableACLTokens, "id", t.AccessorID); err != nil {
		return fmt.Errorf("acl token lookup: %w", err)
	} else if raw != nil {
		t.CreateIndex = raw.(*structs.ACLToken).CreateIndex
	}
	if err := tx.Insert(tableACLTokens, &t); err != nil {
		return fmt.Errorf("acl token insert: %w", err)
	}
	return nil
}

// setNamed inserts a policy or role, keeping its CreateIndex across
// updates; a name another row holds is refused.
func setNamed(tx *memdb.Txn, table string, idx uint64, row any, id, name string, create, modify *uint64, createOf func(any) uint64) error {
	if raw, err := tx.First(table, "name", name); err != nil {
		return fmt.Errorf("%s lookup: %w", table, err)
	} else if raw != nil && idOf(raw) != id {
		return structs.Errorf(structs.KindBadRequest, "Invalid %s: A %s with name %q already exists", kindOf(table), kindOf(table), name)
	}
	*create, *modify = idx, idx
	if raw, err := tx.First(table, "id", id); err != nil {
		return fmt.Errorf("%s lookup: %w", table, err)
	} else if raw != nil {
		*create = createOf(raw)
	}
	if err := tx.Insert(table, row); err != nil {
		return fmt.Errorf("%s insert: %w", table, err)
	}
	return nil
}

func kindOf(table string) string {
	if table == tableACLRoles {
		return "Role"
	}
	return "Policy"
}

func idOf(raw any) string {
	switch x := raw.(type) {
	case *structs.ACLPolicy:
		return x.ID
	case *structs.ACLRole:
		return x.ID
	case *structs.ACLToken:
		return x.AccessorID
	}
	return ""
}

func deleteRow(tx *memdb.Txn, table, id string) error {
	if _, err := tx.DeleteAll(table, "id", id); err != nil {
		return fmt.Errorf("%s delete: %w", table, err)
	}
	return nil
}

// ACLGeneration changes with every committed ACL write: a resolver's
// cache of this store is good while it stays put. It is an atomic, not a
// table index, because every request of an agent with ACLs reads it.
func (s *Store) ACLGeneration() uint64 { return s.aclGen.Load() }

// ACLBootstrapIndex is the raft index of the bootstrap, 0 before it.
func (s *Store) ACLBootstrapIndex() uint64 {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return maxIndexTxn(tx, aclBootstrapKey)
}

// aclGet reads one row of an ACL table by index ("id", "secret",
// "name"); a missing one is (index, nil, nil).
func aclGet[T any](s *Store, ws memdb.WatchSet, table, index, key string) (uint64, *T, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx := maxIndexWatchTxn(tx, ws, table)
	ch, raw, err := tx.FirstWatch(table, index, key)
	if err != nil {
		return 0, nil, fmt.Errorf("%s lookup: %w", table, err)
	}
	ws.Add(ch)
	if raw == nil {
		return idx, nil, nil
	}
	return idx, raw.(*T), nil
}

// aclList reads every row of an ACL table in ID order.
func aclList[T any](s *Store, ws memdb.WatchSet, table string) (uint64, []*T, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx := maxIndexWatchTxn(tx, ws, table)
	it, err := tx.Get(table, "id")
	if err != nil {
		return 0, nil, fmt.Errorf("%s list: %w", table, err)
	}
	ws.Add(it.WatchCh())
	out := []*T{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*T))
	}
	return idx, out, nil
}

// ACLTokenGet reads a token by accessor ID.
func (s *Store) ACLTokenGet(ws memdb.WatchSet, accessor string) (uint64, *structs.ACLToken, error) {
	return aclGet[structs.ACLToken](s, ws, tableACLTokens, "id", accessor)
}

// ACLTokenGetBySecret reads a token by secret ID.
func (s *Store) ACLTokenGetBySecret(ws memdb.WatchSet, secret string) (uint64, *structs.ACLToken, error) {
	return aclGet[structs.ACLToken](s, ws, tableACLTokens, "secret", secret)
}

// ACLTokenList reads every token.
func (s *Store) ACLTokenList(ws memdb.WatchSet) (uint64, []*structs.ACLToken, error) {
	return aclList[structs.ACLToken](s, ws, tableACLTokens)
}

// ACLPolicyGet reads a policy by ID.
func (s *Store) ACLPolicyGet(ws memdb.WatchSet, id string) (uint64, *structs.ACLPolicy, error) {
	return aclGet[structs.ACLPolicy](s, ws, tableACLPolicies, "id", id)
}

// ACLPolicyGetByName reads a policy by name.
func (s *Store) ACLPolicyGetByName(ws memdb.WatchSet, name string) (uint64, *structs.ACLPolicy, error) {
	return aclGet[structs.ACLPolicy](s, ws, tableACLPolicies, "name", name)
}

// ACLPolicyList reads every policy.
func (s *Store) ACLPolicyList(ws memdb.WatchSet) (uint64, []*structs.ACLPolicy, error) {
	return aclList[structs.ACLPolicy](s, ws, tableACLPolicies)
}

// ACLRoleGet reads a role by ID.
func (s *Store) ACLRoleGet(ws memdb.WatchSet, id string) (uint64, *structs.ACLRole, error) {
	return aclGet[structs.ACLRole](s, ws, tableACLRoles, "id", id)
}

// ACLRoleGetByName reads a role by name.
func (s *Store) ACLRoleGetByName(ws memdb.WatchSet, name string) (uint64, *structs.ACLRole, error) {
	return aclGet[structs.ACLRole](s, ws, tableACLRoles, "name", name)
}

// ACLRoleList reads every role.
func (s *Store) ACLRoleList(ws memdb.WatchSet) (uint64, []*structs.ACLRole, error) {
	return aclList[structs.ACLRole](s, ws, tableACLRoles)
}

// ACLRows calls fn for every token, policy and role (the snapshot's ACL
// records), policies and roles before the tokens that link to them.
func (sn *Snapshot) ACLRows(fn func(any) error) error {
	for _, table := range []string{tableACLPolicies, tableACLRoles, tableACLTokens} {
		it, err := sn.tx.Get(table, "id")
		if err != nil {
			return fmt.Errorf("%s snapshot: %w", table, err)
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			if err := fn(raw); err != nil {
				return err
			}
		}
	}
	return nil
}

// ACLRow inserts a token, policy or role as it was.
func (r *Restore) ACLRow(row any) error {
	var table string
	var idx uint64
	switch x := row.(type) {
	case *structs.ACLToken:
		table, idx = tableACLTokens, x.ModifyIndex
	case *structs.ACLPolicy:
		table, idx = tableACLPolicies, x.ModifyIndex
	case *structs.ACLRole:
		table, idx = tableACLRoles, x.ModifyIndex
	default:
		return fmt.Errorf("acl restore: unknown row %T", row)
	}
	if err := r.tx.Insert(table, row); err != nil {
		return fmt.Errorf("%s restore: %w", table, err)
	}
	return setIndexTxn(r.tx, table, idx)
}
