package server

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/state"
	"conclave/agent/structs"
)

// Txn is the transaction endpoint.
type Txn struct{ srv *Server }

// Apply commits a transaction with writes, atomically. A transaction that
// fails validation or any step comes back with Errors and changes nothing.
func (t *Txn) Apply(args *structs.TxnRequest, reply *structs.TxnResponse) error {
	if done, err := t.srv.forward("Txn.Apply", args, args, reply); done {
		return err
	}
	if errs := structs.ValidateTxn(args.Ops); len(errs) > 0 {
		reply.Errors = errs
		return nil
	}
	if errs := t.authorizeOps(args, args.Ops); len(errs) > 0 {
		reply.Errors = errs
		return nil
	}
	resp, err := t.srv.raftApply(structs.TxnRequestType, args)
	if err != nil {
		return err
	}
	out, ok := resp.(structs.TxnResponse)
	if !ok {
		return fmt.Errorf("unexpected transaction result %T", resp)
	}
	*reply = out
	return nil
}

// Read runs a read-only transaction without raft, honouring the read's
// consistency mode.
func (t *Txn) Read(args *structs.TxnReadRequest, reply *structs.TxnReadResponse) error {
	if done, err := t.srv.forward("Txn.Read", args, args, reply); done {
		return err
	}
	if errs := structs.ValidateTxn(args.Ops); len(errs) > 0 {
		reply.Errors = errs
		return nil
	}
	if errs := t.authorizeOps(args, args.Ops); len(errs) > 0 {
		reply.Errors = errs
		return nil
	}
	// Read transactions do not block (as in Consul): drop any index.
	q := args.QueryOptions
	q.MinQueryIndex = 0
	return t.srv.queries.Run(args.Context(), &q, &reply.QueryMeta,
		func(_ memdb.WatchSet, st *state.Store) error {
			idx, results, errs := st.TxnRO(args.Ops)
			reply.Index, reply.Results, reply.Errors = idx, results, errs
			return nil
		})
}

// authorizeOps checks every step against the token, reporting each refused
// step the way a failed step is reported.
func (t *Txn) authorizeOps(info structs.RPCInfo, ops structs.TxnOps) structs.TxnErrors {
	authz, err := t.srv.authorize(info)
	if err != nil {
		return structs.TxnErrors{{OpIndex: 0, What: err.Error()}}
	}
	var errs structs.TxnErrors
	for i, op := range ops {
		key := op.KV.DirEnt.Key
		var ok bool
		switch op.KV.Verb {
		case structs.KVDeleteTree:
			ok = authz.KeyWritePrefix(key)
		case structs.KVGetTree:
			ok = authz.KeyList(key)
		case structs.KVGet, structs.KVGetOrEmpty, structs.KVCheckIndex, structs.KVCheckNotExists, structs.KVCheckSession:
			ok = authz.KeyRead(key)
		default:
			ok = authz.KeyWrite(key)
		}
		if !ok {
			errs = append(errs, &structs.TxnError{OpIndex: i, What: structs.ErrPermissionDenied.Error()})
		}
	}
	return errs
}
