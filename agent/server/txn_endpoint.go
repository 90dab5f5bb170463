package server

import (
	"fmt"
	"time"

	memdb "github.com/hashicorp/go-memdb"
	metrics "github.com/hashicorp/go-metrics/compat"

	"conclave/agent/acl"
	"conclave/agent/state"
	"conclave/agent/structs"
)

// Txn is the transaction endpoint.
type Txn struct{ srv *Server }

// Apply commits a transaction with writes, atomically. A transaction that
// fails validation or any step comes back with Errors and changes nothing.
func (t *Txn) Apply(authz acl.Authorizer, args *structs.TxnRequest, reply *structs.TxnResponse) error {
	defer metrics.MeasureSince(txnApplyKey, time.Now())
	if reply.Errors = checkOps(authz, args.Ops); len(reply.Errors) > 0 {
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
func (t *Txn) Read(authz acl.Authorizer, args *structs.TxnReadRequest, reply *structs.TxnReadResponse) error {
	defer metrics.MeasureSince(txnReadKey, time.Now())
	if reply.Errors = checkOps(authz, args.Ops); len(reply.Errors) > 0 {
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

// checkOps validates a transaction's steps and then checks every one
// against the token. A transaction is not a request with a Validate:
// what is wrong with it is the answer (Errors, a 409 over HTTP), step by
// step, not an error, and a refused step is reported the same way.
func checkOps(authz acl.Authorizer, ops structs.TxnOps) structs.TxnErrors {
	if errs := structs.ValidateTxn(ops); len(errs) > 0 {
		return errs
	}
	var errs structs.TxnErrors
	for i, op := range ops {
		if op.KV == nil {
			if !catalogOpAllowed(authz, op) {
				errs = append(errs, &structs.TxnError{OpIndex: i, What: structs.ErrPermissionDenied.Error()})
			}
			continue
		}
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

// catalogOpAllowed asks the authorizer about a Node, Service or Check
// step: node read or write, and service read or write for a service (or
// a check of one).
func catalogOpAllowed(authz acl.Authorizer, op *structs.TxnOp) bool {
	switch {
	case op.Node != nil:
		if op.Node.Verb == structs.TxnCatalogGet {
			return authz.NodeRead(op.Node.Node.Node)
		}
		return authz.NodeWrite(op.Node.Node.Node)
	case op.Service != nil:
		if op.Service.Verb == structs.TxnCatalogGet {
			return authz.ServiceRead(op.Service.Service.Service)
		}
		return authz.ServiceWrite(op.Service.Service.Service) && authz.NodeRead(op.Service.Node)
	case op.Check != nil:
		c := op.Check.Check
		if op.Check.Verb == structs.TxnCatalogGet {
			return authz.NodeRead(c.Node)
		}
		if c.ServiceID != "" {
			return authz.ServiceWrite(c.ServiceName) && authz.NodeRead(c.Node)
		}
		return authz.NodeWrite(c.Node)
	}
	return false
}
