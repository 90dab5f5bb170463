package server

import (
	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/acl"
	"conclave/agent/blocking"
	"conclave/agent/state"
	"conclave/agent/structs"
)

// KVS is the KV store endpoint.
type KVS struct{ srv *Server }

// Apply performs one KV write. The reply is the FSM's answer: true, or
// false for a CAS that lost.
func (k *KVS) Apply(args *structs.KVSRequest, reply *bool) error {
	if done, err := k.srv.forward("KVS.Apply", args, args, reply); done {
		return err
	}
	if err := args.Validate(); err != nil {
		return err
	}
	authz, err := k.srv.authorize(args)
	if err != nil {
		return err
	}
	allowed := authz.KeyWrite(args.DirEnt.Key)
	if args.Op == structs.KVDeleteTree {
		allowed = authz.KeyWritePrefix(args.DirEnt.Key)
	}
	if !allowed {
		return structs.ErrPermissionDenied
	}
	resp, err := k.srv.raftApply(structs.KVSRequestType, args)
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
func (k *KVS) Get(args *structs.KeyRequest, reply *structs.IndexedDirEntries) error {
	if done, err := k.srv.forward("KVS.Get", args, args, reply); done {
		return err
	}
	authz, err := k.srv.authorize(args)
	if err != nil {
		return err
	}
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

// List reads every entry under a prefix.
func (k *KVS) List(args *structs.KeyListRequest, reply *structs.IndexedDirEntries) error {
	if done, err := k.srv.forward("KVS.List", args, args, reply); done {
		return err
	}
	authz, err := k.srv.authorize(args)
	if err != nil {
		return err
	}
	return k.srv.queries.Run(args.Context(), &args.QueryOptions, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) error {
			idx, ents, err := st.KVSList(ws, args.Prefix)
			if err != nil {
				return err
			}
			reply.Index, reply.Entries = idx, filterEntries(authz, ents)
			return emptyIsMissing(len(reply.Entries))
		})
}

// ListKeys reads the keys under a prefix, folded at Separator.
func (k *KVS) ListKeys(args *structs.KeyListRequest, reply *structs.IndexedKeyList) error {
	if done, err := k.srv.forward("KVS.ListKeys", args, args, reply); done {
		return err
	}
	authz, err := k.srv.authorize(args)
	if err != nil {
		return err
	}
	if !authz.KeyList(args.Prefix) {
		return structs.ErrPermissionDenied
	}
	return k.srv.queries.Run(args.Context(), &args.QueryOptions, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) error {
			idx, keys, err := st.KVSListKeys(ws, args.Prefix, args.Separator)
			if err != nil {
				return err
			}
			reply.Index, reply.Keys = idx, filterKeys(authz, keys)
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

// filterEntries drops what the token may not read, as Consul does for
// recursive reads, rather than failing the whole read.
func filterEntries(authz acl.Authorizer, ents structs.DirEntries) structs.DirEntries {
	out := ents[:0:0]
	for _, e := range ents {
		if authz.KeyRead(e.Key) {
			out = append(out, e)
		}
	}
	return out
}

func filterKeys(authz acl.Authorizer, keys []string) []string {
	out := keys[:0:0]
	for _, k := range keys {
		if authz.KeyRead(k) {
			out = append(out, k)
		}
	}
	return out
}
