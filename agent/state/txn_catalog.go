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

// catalogVerb runs verb on one catalog entry: cur is the entry now (nil:
// absent), curIndex its ModifyIndex, want the step's index for cas and
// delete-cas; set and del write, lookup reads the entry back after a set.
// what names the entry in errors (`node "n1"`), in Consul's words.
func catalogVerb[T any](verb, what string, cur *T, curIndex, want uint64,
	set, del func() error, lookup func() (*T, error)) (*T, error) {
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

func txnNodeTxn(tx *memdb.Txn, idx uint64, op *structs.TxnNodeOp, ch *catalogChanges) (*structs.TxnResult, error) {
	n := op.Node
	lookup := func() (*structs.Node, error) {
		raw, err := tx.First(tableNodes, "id", n.Node)
		if err != nil {
			return nil, fmt.Errorf("node lookup: %w", err)
		}
		if raw == nil {
			return nil, nil
		}
		return raw.(*structs.Node), nil
	}
	cur, err := lookup()
	if err != nil {
		return nil, err
	}
	var curIndex uint64
	if cur != nil {
		curIndex = cur.ModifyIndex
	}
	out, err := catalogVerb(op.Verb, fmt.Sprintf("node %q", n.Node), cur, curIndex, n.ModifyIndex,
		func() error {
			return ensureNodeTxn(tx, idx, &structs.RegisterRequest{ID: n.ID, Node: n.Node, Address: n.Address,
				Datacenter: n.Datacenter, TaggedAddresses: n.TaggedAddresses, NodeMeta: n.Meta}, ch)
		},
		func() error { return deleteNodeTxn(tx, n.Node, ch) },
		lookup)
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
	lookup := func() (*structs.NodeService, error) {
		raw, err := tx.First(tableServices, "id", op.Node, svc.ID)
		if err != nil {
			return nil, fmt.Errorf("service lookup: %w", err)
		}
		if raw == nil {
			return nil, nil
		}
		return raw.(*serviceRow).Service, nil
	}
	cur, err := lookup()
	if err != nil {
		return nil, err
	}
	var curIndex uint64
	if cur != nil {
		curIndex = cur.ModifyIndex
	}
	out, err := catalogVerb(op.Verb, fmt.Sprintf("service %q on node %q", svc.ID, op.Node), cur, curIndex, svc.ModifyIndex,
		func() error { return ensureServiceTxn(tx, idx, op.Node, &svc, ch) },
		func() error { return deleteServiceTxn(tx, op.Node, svc.ID, ch) },
		lookup)
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
	lookup := func() (*structs.HealthCheck, error) {
		raw, err := tx.First(tableChecks, "id", hc.Node, hc.CheckID)
		if err != nil {
			return nil, fmt.Errorf("check lookup: %w", err)
		}
		if raw == nil {
			return nil, nil
		}
		return raw.(*structs.HealthCheck), nil
	}
	cur, err := lookup()
	if err != nil {
		return nil, err
	}
	var curIndex uint64
	if cur != nil {
		curIndex = cur.ModifyIndex
	}
	out, err := catalogVerb(op.Verb, fmt.Sprintf("check %q on node %q", hc.CheckID, hc.Node), cur, curIndex, hc.ModifyIndex,
		func() error { return ensureCheckTxn(tx, idx, &hc, ch) },
		func() error { return deleteCheckTxn(tx, hc.Node, hc.CheckID, ch) },
		lookup)
	if out == nil || err != nil {
		return nil, err
	}
	return &structs.TxnResult{Check: out}, nil
}
