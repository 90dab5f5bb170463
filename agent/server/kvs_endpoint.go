package server

import (
	"time"

	memdb "github.com/hashicorp/go-memdb"
	metrics "github.com/hashicorp/go-metrics/compat"

	"conclave/agent/acl"
	"conclave/agent/blocking"
	"conclave/agent/state"
	"conclave/agent/structs"
)

// KVS is the KV store endpoint.
type KVS struct{ srv *Server }

// Apply performs one KV write. The reply is the FSM's answer: true, or
// false for a CAS that lost.
func (k *KVS) Apply(authz acl.Authorizer, args *structs.KVSRequest, reply *bool) error {
	defer metrics.MeasureSince(kvsApplyKey, time.Now())
	allowed := authz.KeyWrite(args.DirEnt.Key)
	if args.Op == structs.KVDeleteTree {
		allowed = authz.KeyWritePrefix(args.DirEnt.Key)
	}
	if !allowed {
		return structs.ErrPermissionDenied
	}
	if args.Op == structs.KVLock && k.srv.lockDelays.delayed(args.DirEnt.Key) {
		// The key's last holder was invalidated less than its lock-delay
		// ago: refuse on the leader's clock, before raft, as Consul does.
		*reply = false
		return nil
	}
	var (
		resp any
		err  error
	)
	if args.Op == structs.KVSet && !ackBeforeCommit && !k.srv.cluster.lookup.noKVBatch.Load() {
		resp, err = k.srv.kvc.apply(args)
	} else {
		resp, err = k.srv.raftApply(structs.KVSRequestType, args)
	}
	if err != nil {
		return err
	}
	ok, _ := resp.(bool)
	*reply = ok
	return nil
}

// Get reads one key; Entries is empty when it does not exist. The index
// of a missing key is the one state.KVSGet gives it, which writes to other
// keys do not move, and a blocking read of it sleeps through them
// (blocking.ErrNotFound).
func (k *KVS) Get(authz acl.Authorizer, args *structs.KeyRequest, reply *structs.IndexedDirEntries) error {
	if !authz.KeyRead(args.Key) {
		return structs.ErrPermissionDenied
	}
	return k.srv.queries.Run(args.Context(), &args.QueryOptions, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) error {
			idx, ent, err := st.KVSGet(ws, args.Key)
			if err != nil {
				return err
			}
			reply.Index, reply.Entries = idx, nil
			if ent == nil {
				return blocking.ErrNotFound
			}
			reply.Entries = structs.DirEntries{ent}
			return nil
		})
}

// List reads every entry under a prefix. Entries the token may not read
// are dropped, as Consul does for recursive reads, rather than failing the
// whole read; ListKeys does the same with keys.
func (k *KVS) List(authz acl.Authorizer, args *structs.KeyListRequest, reply *structs.IndexedDirEntries) error {
	return k.srv.queries.Run(args.Context(), &args.QueryOptions, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) error {
			idx, ents, err := st.KVSList(ws, args.Prefix)
			if err != nil {
				return err
			}
			reply.Index, reply.Entries = idx, keepIf(ents, func(e *structs.DirEntry) bool { return authz.KeyRead(e.Key) })
			return emptyIsMissing(len(reply.Entries))
		})
}

// ListKeys reads the keys under a prefix, folded at Separator.
func (k *KVS) ListKeys(authz acl.Authorizer, args *structs.KeyListRequest, reply *structs.IndexedKeyList) error {
	if !authz.KeyList(args.Prefix) {
		return structs.ErrPermissionDenied
	}
	return k.srv.queries.Run(args.Context(), &args.QueryOptions, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) error {
			idx, keys, err := st.KVSListKeys(ws, args.Prefix, args.Separator)
			if err != nil {
				return err
			}
			reply.Index, reply.Keys = idx, keepIf(keys, authz.KeyRead)
			return emptyIsMissing(len(reply.Keys))
		})
}

// emptyIsMissing makes an empty prefix a missing thing for the blocking
// query: nothing under it yet (or nothing the token may read) is a 404 to
// the client, and a write elsewhere does not change that.
func emptyIsMissing(n int) error {
	if n == 0 {
		return blocking.ErrNotFound
	}
	return nil
}
