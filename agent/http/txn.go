package http

import (
	"encoding/json"
	"fmt"
	gohttp "net/http"

	"conclave/agent/structs"
)

// txnOpJSON is one element of the /v1/txn body.
type txnOpJSON struct {
	KV      *txnKVJSON
	Node    *structs.TxnNodeOp
	Service *structs.TxnServiceOp
	Check   *structs.TxnCheckOp
}

type txnKVJSON struct {
	Verb    structs.KVOp
	Key     string
	Value   []byte
	Flags   uint64
	Index   uint64
	Session string
}

// txn serves PUT /v1/txn.
func (h *Handler) txn(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	var in []txnOpJSON
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, badRequest("Failed to parse body: %s", jsonErrorText(err))
	}
	if len(in) > structs.MaxTxnOps {
		return nil, tooLarge("Transaction contains too many operations (%d > %d)", len(in), structs.MaxTxnOps)
	}
	ops := make(structs.TxnOps, 0, len(in))
	for i, op := range in {
		switch {
		case op.KV != nil:
		case op.Node != nil || op.Service != nil || op.Check != nil:
			// Checked with the rest of the transaction (structs.ValidateTxn).
			ops = append(ops, &structs.TxnOp{Node: op.Node, Service: op.Service, Check: op.Check})
			continue
		default:
			return nil, badRequest("Operation %d: missing operation type (expected KV, Node, Service or Check)", i)
		}
		if len(op.KV.Value) > structs.MaxKVSize {
			return nil, tooLarge("Value for key %q is too large (%d > %d bytes)", op.KV.Key, len(op.KV.Value), structs.MaxKVSize)
		}
		ops = append(ops, &structs.TxnOp{KV: &structs.TxnKVOp{
			Verb: op.KV.Verb,
			DirEnt: structs.DirEntry{
				Key:         op.KV.Key,
				Value:       op.KV.Value,
				Flags:       op.KV.Flags,
				Session:     op.KV.Session,
				ModifyIndex: op.KV.Index,
			},
		}})
	}

	var resp structs.TxnResponse
	if structs.TxnHasWrites(ops) {
		args := structs.TxnRequest{Datacenter: parseDC(r), Ops: ops}
		args.Token = token(r)
		if err := h.backend.RPC(r.Context(), "Txn.Apply", &args, &resp); err != nil {
			return nil, err
		}
	} else {
		args := structs.TxnReadRequest{Datacenter: parseDC(r), Ops: ops}
		if err := parseQuery(r, &args.QueryOptions); err != nil {
			return nil, err
		}
		var out structs.TxnReadResponse
		if err := h.backend.RPC(r.Context(), "Txn.Read", &args, &out); err != nil {
			return nil, err
		}
		setMeta(w, &args.QueryOptions, &out.QueryMeta)
		resp = out.TxnResponse
	}
	if len(resp.Errors) > 0 {
		// Rolled back: Consul answers 409 with the errors and no results.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(gohttp.StatusConflict)
		buf, err := json.Marshal(structs.TxnResponse{Errors: resp.Errors})
		if err != nil {
			return nil, fmt.Errorf("encode txn errors: %w", err)
		}
		_, _ = w.Write(buf)
		return nil, nil
	}
	return resp, nil
}
