package client

import (
	"context"
	"fmt"
	"net/http"
)

// MaxTxnOps is how many operations one transaction may hold (Consul's limit).
const MaxTxnOps = 64

// KVOp is the verb of a KV transaction step.
type KVOp string

// The KV verbs of /v1/txn.
const (
	KVSet            KVOp = "set"
	KVCAS            KVOp = "cas"
	KVGet            KVOp = "get"
	KVGetTree        KVOp = "get-tree"
	KVDelete         KVOp = "delete"
	KVDeleteCAS      KVOp = "delete-cas"
	KVDeleteTree     KVOp = "delete-tree"
	KVCheckIndex     KVOp = "check-index"
	KVCheckNotExists KVOp = "check-not-exists"
	KVLock           KVOp = "lock"
	KVUnlock         KVOp = "unlock"
	KVCheckSession   KVOp = "check-session"
)

// KVTxnOp is one KV step. Index is the CAS or check index.
type KVTxnOp struct {
	Verb    KVOp
	Key     string
	Value   []byte `json:",omitempty"`
	Flags   uint64 `json:",omitempty"`
	Index   uint64 `json:",omitempty"`
	Session string `json:",omitempty"`
}

// TxnOp is one step of a transaction. Only KV steps exist for now.
type TxnOp struct {
	KV *KVTxnOp `json:",omitempty"`
}

// TxnOps is an ordered list of steps, applied all or nothing.
type TxnOps []*TxnOp

// TxnResult is the outcome of one step that returns something.
type TxnResult struct {
	KV *KVPair `json:",omitempty"`
}

// TxnError names a failed step and why.
type TxnError struct {
	OpIndex int
	What    string
}

func (e TxnError) Error() string { return fmt.Sprintf("op %d: %s", e.OpIndex, e.What) }

// TxnResponse is the reply to a transaction: Results when it committed,
// Errors when it rolled back.
type TxnResponse struct {
	Results []*TxnResult
	Errors  []*TxnError
}

// Committed tells whether the transaction was applied.
func (r *TxnResponse) Committed() bool { return len(r.Errors) == 0 }

// Txn is the /v1/txn endpoint.
type Txn struct{ c *Client }

// Txn returns the handle for transactions.
func (c *Client) Txn() *Txn { return &Txn{c: c} }

// Do applies ops atomically. A transaction the agent rolled back (409) is
// not an error: the response holds the reasons and Committed() is false.
func (t *Txn) Do(ctx context.Context, ops TxnOps, w *WriteOptions) (*TxnResponse, *QueryMeta, error) {
	if len(ops) > MaxTxnOps {
		return nil, nil, fmt.Errorf("transaction has %d operations, at most %d allowed", len(ops), MaxTxnOps)
	}
	body, err := jsonBody(ops)
	if err != nil {
		return nil, nil, err
	}
	r := t.c.newRequest("PUT", "/v1/txn")
	r.body = body
	r.header.Set("Content-Type", "application/json")
	r.applyWrite(t.c, w)
	resp, rtt, err := t.c.do(ctx, r)
	if err != nil {
		return nil, nil, fmt.Errorf("transaction: %w", err)
	}
	meta := queryMeta(resp, rtt)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusConflict {
		return nil, meta, fmt.Errorf("transaction: %w", statusError(resp))
	}
	defer resp.Body.Close()
	var out TxnResponse
	if err := decodeJSON(resp, &out); err != nil {
		return nil, meta, fmt.Errorf("transaction: %w", err)
	}
	if resp.StatusCode == http.StatusConflict && len(out.Errors) == 0 {
		out.Errors = []*TxnError{{OpIndex: 0, What: "transaction rolled back"}}
	}
	return &out, meta, nil
}
