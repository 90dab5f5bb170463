package state

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/structs"
)

// Catalog steps of a transaction (/v1/txn Node, Service and Check): the
// same writes as a catalog registration or deregistration, inside the
// transaction's memdb txn, their changes collected in ch and committed
// with it. cas and delete-cas compare the step's ModifyIndex with the
// entry's (0: the entry must not exist, for cas), as Consul does.

// txnCatalogTxn runs one Node, Service or Check step and returns what it
// reports.
func txnCatalogTxn(tx *memdb.Txn, idx uint64, op *structs.TxnOp, ch *catalogChanges) (*structs.TxnResult, error) {
	switch {
	case op.Node != nil:
		return txnNodeTxn(tx, idx, op.Node, ch)
	case op.Service != nil:
		return txnServiceTxn(tx, idx, op.Service, ch)
	case op.Check != nil:
		return txnCheckTxn(tx, idx, op.Check, ch)
	}
	return nil, fmt.Errorf("unknown operation type")
}

// catalogVerb runs verb on one catalog entry: lookup reads it (nil:
// absent), indexOf gives its ModifyIndex, want is the step's index for
// cas and delete-cas; set and del write. what names the entry in errors
// (`node "n1"`), in Consul's words. It returns the entry a get or a set
// reports.
func catalogVerb[T any](verb, what string, want uint64, lookup func() (*T, error), indexOf func(*T) uint64,
	set, del func() error) (*T, error) {
	cur, err := lookup()
	if err != nil {
		return nil, err
	}
	var curIndex uint64
	if cur != nil {
		curIndex = indexOf(cur)
	}
	switch verb {
	case structs.TxnCatalogGet:
		if cur == nil {
			return nil, fmt.Errorf("%s doesn't exist", what)
		}
		return cur, nil
	case structs.TxnCatalogCAS:
		// Index 0 asks that the entry not exist yet.
		if ok := want == 0 && cur == nil || want != 0 && cur != nil && curIndex == want; !ok {
			return nil, fmt.Errorf("failed to set %s, index is stale", what)
		}
		fallthrough
	case structs.TxnCatalogSet:
		if err := set(); err != nil {
			return nil, err
		}
		return lookup()
	case structs.TxnCatalogDeleteCAS:
		if cur == nil || curIndex != want {
			return nil, fmt.Errorf("failed to delete %s, index is stale", what)
		}
		fallthrough
	case structs.TxnCatalogDelete:
		return nil, del()
	}
	return nil, fmt.Errorf("unknown verb %q for %s", verb, what)
}

// rowLookup reads one row of table by its id index as a *T.
func rowLookup[T any](tx *memdb.Txn, table string, conv func(any) *T, args ...any) func() (*T, error) {
	return func() (*T, error) {
		raw, err := tx.First(table, "id", args...)
		if err != nil {
			return nil, fmt.Errorf("%s lookup: %w", table, err)
		}
		if raw == nil {
			return nil, nil
		}
		return conv(raw), nil
	}
}

func txnNodeTxn(tx *memdb.Txn, idx uint64, op *structs.TxnNodeOp, ch *catalogChanges) (*structs.TxnResult, error) {
	n := op.Node
	out, err := catalogVerb(op.Verb, fmt.Sprintf("node %q", n.Node), n.ModifyIndex,
		rowLookup(tx, tableNodes, func(raw any) *structs.Node { return raw.(*structs.Node) }, n.Node),
		func(n *structs.Node) uint64 { return n.ModifyIndex },
		func() error {
			return ensureNodeTxn(tx, idx, &structs.RegisterRequest{ID: n.ID, Node: n.Node, Address: n.Address,
				Datacenter: n.Datacenter, TaggedAddresses: n.TaggedAddresses, NodeMeta: n.Meta}, ch)
		},
		func() error { return deleteNodeTxn(tx, n.Node, ch) })
	if out == nil || err != nil {
		return nil, err
	}
	return &structs.TxnResult{Node: out}, nil
}

func txnServiceTxn(tx *memdb.Txn, idx uint64, op *structs.TxnServiceOp, ch *catalogChanges) (*structs.TxnResult, error) {
	svc := op.Service
	if svc.ID == "" {
		svc.ID = svc.Service
	}
	out, err := catalogVerb(op.Verb, fmt.Sprintf("service %q on node %q", svc.ID, op.Node), svc.ModifyIndex,
		rowLookup(tx, tableServices, func(raw any) *structs.NodeService { return raw.(*serviceRow).Service }, op.Node, svc.ID),
		func(s *structs.NodeService) uint64 { return s.ModifyIndex },
		func() error { return ensureServiceTxn(tx, idx, op.Node, &svc, ch) },
		func() error { return deleteServiceTxn(tx, op.Node, svc.ID, ch) })
	if out == nil || err != nil {
		return nil, err
	}
	return &structs.TxnResult{Service: out}, nil
}

func txnCheckTxn(tx *memdb.Txn, idx uint64, op *structs.TxnCheckOp, ch *catalogChanges) (*structs.TxnResult, error) {
	hc := op.Check
	if hc.CheckID == "" {
		hc.CheckID = hc.Name
	}
	out, err := catalogVerb(op.Verb, fmt.Sprintf("check %q on node %q", hc.CheckID, hc.Node), hc.ModifyIndex,
		rowLookup(tx, tableChecks, func(raw any) *structs.HealthCheck { return raw.(*structs.HealthCheck) }, hc.Node, hc.CheckID),
		func(c *structs.HealthCheck) uint64 { return c.ModifyIndex },
		func() error { return ensureCheckTxn(tx, idx, &hc, ch) },
		func() error { return deleteCheckTxn(tx, hc.Node, hc.CheckID, ch) })
	if out == nil || err != nil {
		return nil, err
	}
	return &structs.TxnResult{Check: out}, nil
}
