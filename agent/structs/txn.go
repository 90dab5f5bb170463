package structs

import "fmt"

// TxnKVOp is one KV step of a transaction: a verb plus the entry it acts on
// (Index carries the CAS or check index).
type TxnKVOp struct {
	Verb   KVOp
	DirEnt DirEntry
}

// TxnOp is one step of a transaction. Only KV steps exist for now; the
// struct leaves room for Node, Service and Check steps.
type TxnOp struct {
	KV *TxnKVOp
}

// TxnOps is an ordered list of steps, applied all or nothing.
type TxnOps []*TxnOp

// TxnRequest is a transaction with at least one write.
type TxnRequest struct {
	Datacenter string
	Ops        TxnOps
	WriteRequest
}

// RequestDatacenter names the datacenter the request is for.
func (r *TxnRequest) RequestDatacenter() string { return r.Datacenter }

// TxnReadRequest is a transaction of reads only: it skips raft.
type TxnReadRequest struct {
	Datacenter string
	Ops        TxnOps
	QueryOptions
}

// RequestDatacenter names the datacenter the request is for.
func (r *TxnReadRequest) RequestDatacenter() string { return r.Datacenter }

// TxnError names the step that failed and why.
type TxnError struct {
	OpIndex int
	What    string
}

func (e TxnError) Error() string { return fmt.Sprintf("op %d: %s", e.OpIndex, e.What) }

// TxnErrors is every failed step of a transaction.
type TxnErrors []*TxnError

// TxnResult is the outcome of one step.
type TxnResult struct {
	KV *DirEntry `json:",omitempty"`
}

// TxnResults lists step outcomes in step order.
type TxnResults []*TxnResult

// TxnResponse is what a transaction returns: results when it committed,
// errors when it rolled back.
type TxnResponse struct {
	Results TxnResults
	Errors  TxnErrors
}

// TxnReadResponse is the reply to a read-only transaction.
type TxnReadResponse struct {
	TxnResponse
	QueryMeta
}

// ValidateTxn is the one place a transaction's shape is checked: count, verbs,
// keys and value sizes. It returns one error per bad step.
func ValidateTxn(ops TxnOps) TxnErrors {
	var errs TxnErrors
	if len(ops) > MaxTxnOps {
		return TxnErrors{{OpIndex: 0, What: fmt.Sprintf("Transaction contains too many operations (%d > %d)", len(ops), MaxTxnOps)}}
	}
	for i, op := range ops {
		if op == nil || op.KV == nil {
			errs = append(errs, &TxnError{OpIndex: i, What: "unknown operation type"})
			continue
		}
		kv := op.KV
		if !kv.Verb.Known() {
			errs = append(errs, &TxnError{OpIndex: i, What: fmt.Sprintf("unknown KV verb %q", kv.Verb)})
			continue
		}
		if kv.DirEnt.Key == "" && kv.Verb != KVDeleteTree && kv.Verb != KVGetTree {
			errs = append(errs, &TxnError{OpIndex: i, What: "missing key name"})
			continue
		}
		if len(kv.DirEnt.Value) > MaxKVSize {
			errs = append(errs, &TxnError{OpIndex: i, What: ErrValueTooLarge.Error()})
		}
	}
	return errs
}

// TxnHasWrites tells whether a transaction needs raft.
func TxnHasWrites(ops TxnOps) bool {
	for _, op := range ops {
		if op.KV != nil && op.KV.Verb.IsWrite() {
			return true
		}
	}
	return false
}
