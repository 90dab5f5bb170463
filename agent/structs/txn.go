package structs

import "fmt"

// TxnKVOp is one KV step of a transaction: a verb plus the entry it acts on
// (Index carries the CAS or check index).
type TxnKVOp struct {
	Verb   KVOp
	DirEnt DirEntry
}

// Catalog verbs of a transaction's Node, Service and Check steps, as
// Consul spells them.
const (
	TxnCatalogGet       = "get"
	TxnCatalogSet       = "set"
	TxnCatalogCAS       = "cas"
	TxnCatalogDelete    = "delete"
	TxnCatalogDeleteCAS = "delete-cas"
)

// knownCatalogVerb tells whether v is one of the catalog verbs.
func knownCatalogVerb(v string) bool {
	switch v {
	case TxnCatalogGet, TxnCatalogSet, TxnCatalogCAS, TxnCatalogDelete, TxnCatalogDeleteCAS:
		return true
	}
	return false
}

// TxnNodeOp is a step on a catalog node; Node.ModifyIndex carries the
// index of cas and delete-cas.
type TxnNodeOp struct {
	Verb string
	Node Node
}

// TxnServiceOp is a step on a service instance of Node; Service.ModifyIndex
// carries the index of cas and delete-cas.
type TxnServiceOp struct {
	Verb    string
	Node    string
	Service NodeService
}

// TxnCheckOp is a step on a check; Check.ModifyIndex carries the index of
// cas and delete-cas.
type TxnCheckOp struct {
	Verb  string
	Check HealthCheck
}

// TxnOp is one step of a transaction: exactly one of its fields is set.
type TxnOp struct {
	KV      *TxnKVOp
	Node    *TxnNodeOp
	Service *TxnServiceOp
	Check   *TxnCheckOp
}

// isWrite tells whether the step changes anything.
func (op *TxnOp) isWrite() bool {
	switch {
	case op.KV != nil:
		return op.KV.Verb.IsWrite()
	case op.Node != nil:
		return op.Node.Verb != TxnCatalogGet
	case op.Service != nil:
		return op.Service.Verb != TxnCatalogGet
	case op.Check != nil:
		return op.Check.Verb != TxnCatalogGet
	}
	return false
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
	KV      *DirEntry    `json:",omitempty"`
	Node    *Node        `json:",omitempty"`
	Service *NodeService `json:",omitempty"`
	Check   *HealthCheck `json:",omitempty"`
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
		if op == nil || op.KV == nil && op.Node == nil && op.Service == nil && op.Check == nil {
			errs = append(errs, &TxnError{OpIndex: i, What: "unknown operation type"})
			continue
		}
		if op.KV == nil {
			if err := validateCatalogOp(op); err != nil {
				errs = append(errs, &TxnError{OpIndex: i, What: err.Error()})
			}
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

// validateCatalogOp checks a Node, Service or Check step as a catalog
// registration of the same thing is checked.
func validateCatalogOp(op *TxnOp) error {
	switch {
	case op.Node != nil:
		n := op.Node
		if !knownCatalogVerb(n.Verb) {
			return fmt.Errorf("unknown node verb %q", n.Verb)
		}
		if n.Node.Node == "" {
			return fmt.Errorf("missing node name")
		}
		if n.Verb == TxnCatalogSet || n.Verb == TxnCatalogCAS {
			return (&RegisterRequest{ID: n.Node.ID, Node: n.Node.Node, Address: n.Node.Address, NodeMeta: n.Node.Meta}).Validate()
		}
	case op.Service != nil:
		s := op.Service
		if !knownCatalogVerb(s.Verb) {
			return fmt.Errorf("unknown service verb %q", s.Verb)
		}
		if s.Node == "" {
			return fmt.Errorf("missing node name")
		}
		if s.Service.ID == "" && s.Service.Service == "" {
			return fmt.Errorf("missing service ID")
		}
		if s.Verb == TxnCatalogSet || s.Verb == TxnCatalogCAS {
			svc := s.Service
			return (&RegisterRequest{Node: s.Node, SkipNodeUpdate: true, Service: &svc}).Validate()
		}
	case op.Check != nil:
		c := op.Check
		if !knownCatalogVerb(c.Verb) {
			return fmt.Errorf("unknown check verb %q", c.Verb)
		}
		if c.Check.Node == "" {
			return fmt.Errorf("missing node name")
		}
		if c.Check.CheckID == "" && c.Check.Name == "" {
			return fmt.Errorf("missing check ID")
		}
		if c.Verb == TxnCatalogSet || c.Verb == TxnCatalogCAS {
			hc := c.Check
			return (&RegisterRequest{Node: c.Check.Node, SkipNodeUpdate: true, Check: &hc}).Validate()
		}
	}
	return nil
}

// TxnHasWrites tells whether a transaction needs raft.
func TxnHasWrites(ops TxnOps) bool {
	for _, op := range ops {
		if op.isWrite() {
			return true
		}
	}
	return false
}
