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

// casCheck tells whether a cas (wantIndex against the entry's index, 0
// for "must not exist") may go ahead.
func casCheck(exists bool, index, wantIndex uint64) bool {
	if wantIndex == 0 {
		return !exists
	}
	return exists && index == wantIndex
}

func txnNodeTxn(tx *memdb.Txn, idx uint64, op *structs.TxnNodeOp, ch *catalogChanges) (*structs.TxnResult, error) {
	name := op.Node.Node
	lookup := func() (*structs.Node, error) {
		raw, err := tx.First(tableNodes, "id", name)
		if err != nil || raw == nil {
			return nil, err
		}
		return raw.(*structs.Node), nil
	}
	cur, err := lookup()
	if err != nil {
		return nil, fmt.Errorf("node lookup: %w", err)
	}
	switch op.Verb {
	case structs.TxnCatalogGet:
		if cur == nil {
			return nil, fmt.Errorf("node %q doesn't exist", name)
		}
		return &structs.TxnResult{Node: cur}, nil
	case structs.TxnCatalogCAS:
		if !casCheck(cur != nil, modifyIndexOf(cur), op.Node.ModifyIndex) {
			return nil, fmt.Errorf("failed to set node %q, index is stale", name)
		}
		fallthrough
	case structs.TxnCatalogSet:
		n := op.Node
		req := &structs.RegisterRequest{ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter,
			TaggedAddresses: n.TaggedAddresses, NodeMeta: n.Meta}
		if err := ensureNodeTxn(tx, idx, req, ch); err != nil {
			return nil, err
		}
		cur, err = lookup()
		if err != nil {
			return nil, fmt.Errorf("node lookup: %w", err)
		}
		return &structs.TxnResult{Node: cur}, nil
	case structs.TxnCatalogDeleteCAS:
		if cur == nil || cur.ModifyIndex != op.Node.ModifyIndex {
			return nil, fmt.Errorf("failed to delete node %q, index is stale", name)
		}
		fallthrough
	case structs.TxnCatalogDelete:
		return nil, deleteNodeTxn(tx, name, ch)
	}
	return nil, fmt.Errorf("unknown node verb %q", op.Verb)
}

func modifyIndexOf(n *structs.Node) uint64 {
	if n == nil {
		return 0
	}
	return n.ModifyIndex
}

func txnServiceTxn(tx *memdb.Txn, idx uint64, op *structs.TxnServiceOp, ch *catalogChanges) (*structs.TxnResult, error) {
	svc := op.Service
	if svc.ID == "" {
		svc.ID = svc.Service
	}
	lookup := func() (*structs.NodeService, error) {
		raw, err := tx.First(tableServices, "id", op.Node, svc.ID)
		if err != nil || raw == nil {
			return nil, err
		}
		return raw.(*serviceRow).Service, nil
	}
	cur, err := lookup()
	if err != nil {
		return nil, fmt.Errorf("service lookup: %w", err)
	}
	var curIndex uint64
	if cur != nil {
		curIndex = cur.ModifyIndex
	}
	switch op.Verb {
	case structs.TxnCatalogGet:
		if cur == nil {
			return nil, fmt.Errorf("service %q on node %q doesn't exist", svc.ID, op.Node)
		}
		return &structs.TxnResult{Service: cur}, nil
	case structs.TxnCatalogCAS:
		if !casCheck(cur != nil, curIndex, svc.ModifyIndex) {
			return nil, fmt.Errorf("failed to set service %q on node %q, index is stale", svc.ID, op.Node)
		}
		fallthrough
	case structs.TxnCatalogSet:
		if err := ensureServiceTxn(tx, idx, op.Node, &svc, ch); err != nil {
			return nil, err
		}
		if cur, err = lookup(); err != nil {
			return nil, fmt.Errorf("service lookup: %w", err)
		}
		return &structs.TxnResult{Service: cur}, nil
	case structs.TxnCatalogDeleteCAS:
		if cur == nil || curIndex != svc.ModifyIndex {
			return nil, fmt.Errorf("failed to delete service %q on node %q, index is stale", svc.ID, op.Node)
		}
		fallthrough
	case structs.TxnCatalogDelete:
		return nil, deleteServiceTxn(tx, op.Node, svc.ID, ch)
	}
	return nil, fmt.Errorf("unknown service verb %q", op.Verb)
}

func txnCheckTxn(tx *memdb.Txn, idx uint64, op *structs.TxnCheckOp, ch *catalogChanges) (*structs.TxnResult, error) {
	hc := op.Check
	if hc.CheckID == "" {
		hc.CheckID = hc.Name
	}
	lookup := func() (*structs.HealthCheck, error) {
		raw, err := tx.First(tableChecks, "id", hc.Node, hc.CheckID)
		if err != nil || raw == nil {
			return nil, err
		}
		return raw.(*structs.HealthCheck), nil
	}
	cur, err := lookup()
	if err != nil {
		return nil, fmt.Errorf("check lookup: %w", err)
	}
	var curIndex uint64
	if cur != nil {
		curIndex = cur.ModifyIndex
	}
	switch op.Verb {
	case structs.TxnCatalogGet:
		if cur == nil {
			return nil, fmt.Errorf("check %q on node %q doesn't exist", hc.CheckID, hc.Node)
		}
		return &structs.TxnResult{Check: cur}, nil
	case structs.TxnCatalogCAS:
		if !casCheck(cur != nil, curIndex, hc.ModifyIndex) {
			return nil, fmt.Errorf("failed to set check %q on node %q, index is stale", hc.CheckID, hc.Node)
		}
		fallthrough
	case structs.TxnCatalogSet:
		if err := ensureCheckTxn(tx, idx, &hc, ch); err != nil {
			return nil, err
		}
		if cur, err = lookup(); err != nil {
			return nil, fmt.Errorf("check lookup: %w", err)
		}
		return &structs.TxnResult{Check: cur}, nil
	case structs.TxnCatalogDeleteCAS:
		if cur == nil || curIndex != hc.ModifyIndex {
			return nil, fmt.Errorf("failed to delete check %q on node %q, index is stale", hc.CheckID, hc.Node)
		}
		fallthrough
	case structs.TxnCatalogDelete:
		return nil, deleteCheckTxn(tx, hc.Node, hc.CheckID, ch)
	}
	return nil, fmt.Errorf("unknown check verb %q", op.Verb)
}
