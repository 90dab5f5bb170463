package structs

// DirEntry is one key in the KV store, in Consul's JSON shape.
type DirEntry struct {
	LockIndex   uint64
	Key         string
	Flags       uint64
	Value       []byte
	Session     string `json:",omitempty"`
	CreateIndex uint64
	ModifyIndex uint64
}

// Clone returns a copy whose Value is not shared: state store entries are
// immutable once inserted, so callers that edit must copy first.
func (d *DirEntry) Clone() *DirEntry {
	c := *d
	if d.Value != nil {
		c.Value = append([]byte(nil), d.Value...)
	}
	return &c
}

// DirEntries is a list of entries, ordered by key.
type DirEntries []*DirEntry

// KVOp is the operation of a KV write or transaction step.
type KVOp string

// The KV verbs Consul's /v1/kv and /v1/txn know.
const (
	KVSet            KVOp = "set"
	KVDelete         KVOp = "delete"
	KVDeleteCAS      KVOp = "delete-cas"
	KVDeleteTree     KVOp = "delete-tree"
	KVCAS            KVOp = "cas"
	KVLock           KVOp = "lock"
	KVUnlock         KVOp = "unlock"
	KVGet            KVOp = "get"
	KVGetTree        KVOp = "get-tree"
	KVCheckSession   KVOp = "check-session"
	KVCheckIndex     KVOp = "check-index"
	KVCheckNotExists KVOp = "check-not-exists"
	KVGetOrEmpty     KVOp = "get-or-empty"
)

// IsWrite tells whether the verb changes state (and so needs raft).
func (op KVOp) IsWrite() bool {
	switch op {
	case KVSet, KVDelete, KVDeleteCAS, KVDeleteTree, KVCAS, KVLock, KVUnlock:
		return true
	}
	return false
}

// Known tells whether the verb is one conclave implements.
func (op KVOp) Known() bool {
	switch op {
	case KVSet, KVDelete, KVDeleteCAS, KVDeleteTree, KVCAS, KVGet, KVGetTree,
		KVCheckIndex, KVCheckNotExists, KVGetOrEmpty, KVLock, KVUnlock, KVCheckSession:
		return true
	}
	return false
}

// KVSRequest is a single KV write (PUT or DELETE on /v1/kv).
type KVSRequest struct {
	Datacenter string
	Op         KVOp
	DirEnt     DirEntry
	WriteRequest
}

// RequestDatacenter names the datacenter the request is for.
func (r *KVSRequest) RequestDatacenter() string { return r.Datacenter }

// Validate is the one place a KV write is checked before it reaches raft.
// "Missing key name" is the text Consul's HTTP API answers.
func (r *KVSRequest) Validate() error {
	switch r.Op {
	case KVSet, KVCAS, KVDelete, KVDeleteCAS, KVDeleteTree:
	case KVLock, KVUnlock:
		if r.DirEnt.Session == "" {
			return Errorf(KindBadRequest, "Missing session")
		}
	default:
		return Errorf(KindBadRequest, "unsupported KV operation %q", r.Op)
	}
	if r.Op != KVDeleteTree && r.DirEnt.Key == "" {
		return Errorf(KindBadRequest, "Missing key name")
	}
	if len(r.DirEnt.Value) > MaxKVSize {
		return ErrValueTooLarge
	}
	return nil
}

// KeyRequest reads one key.
type KeyRequest struct {
	Datacenter string
	Key        string
	QueryOptions
}

// RequestDatacenter names the datacenter the request is for.
func (r *KeyRequest) RequestDatacenter() string { return r.Datacenter }

// KeyListRequest reads a prefix: whole entries, or only keys up to Separator.
type KeyListRequest struct {
	Datacenter string
	Prefix     string
	Separator  string
	QueryOptions
}

// RequestDatacenter names the datacenter the request is for.
func (r *KeyListRequest) RequestDatacenter() string { return r.Datacenter }

// IndexedDirEntries is the reply to a key or prefix read.
type IndexedDirEntries struct {
	Entries DirEntries
	QueryMeta
}

// IndexedKeyList is the reply to a keys-only read.
type IndexedKeyList struct {
	Keys []string
	QueryMeta
}

// TombstoneRequest asks the FSM to forget deletion markers up to ReapIndex.
// The leader decides when (wall time), so the FSM stays deterministic.
type TombstoneRequest struct {
	Datacenter string
	ReapIndex  uint64
	WriteRequest
}

// RequestDatacenter names the datacenter the request is for.
func (r *TombstoneRequest) RequestDatacenter() string { return r.Datacenter }
