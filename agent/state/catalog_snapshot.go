package state

import (
	"fmt"

	"conclave/agent/structs"
)

// ServiceInstance is one services-table row as persisted in snapshots.
type ServiceInstance struct {
	Node    string
	Service *structs.NodeService
}

// Nodes calls fn for every node, in name order.
func (sn *Snapshot) Nodes(fn func(*structs.Node) error) error {
	it, err := sn.tx.Get(tableNodes, "id")
	if err != nil {
		return fmt.Errorf("nodes snapshot: %w", err)
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if err := fn(raw.(*structs.Node)); err != nil {
			return err
		}
	}
	return nil
}

// Services calls fn for every instance.
func (sn *Snapshot) Services(fn func(ServiceInstance) error) error {
	it, err := sn.tx.Get(tableServices, "id")
	if err != nil {
		return fmt.Errorf("services snapshot: %w", err)
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		r := raw.(*serviceRow)
		if err := fn(ServiceInstance{Node: r.Node, Service: r.Service}); err != nil {
			return err
		}
	}
	return nil
}

// Checks calls fn for every check.
func (sn *Snapshot) Checks(fn func(*structs.HealthCheck) error) error {
	it, err := sn.tx.Get(tableChecks, "id")
	if err != nil {
		return fmt.Errorf("checks snapshot: %w", err)
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if err := fn(raw.(*structs.HealthCheck)); err != nil {
			return err
		}
	}
	return nil
}

// Node inserts one node as it was, indexes included. Snapshots carry
// every index row (Snapshot.Indexes), per-service rows among them, so
// restoring rows does not recompute indexes.
func (r *Restore) Node(n *structs.Node) error {
	if err := r.tx.Insert(tableNodes, n); err != nil {
		return fmt.Errorf("node restore: %w", err)
	}
	return setIndexTxn(r.tx, tableNodes, n.ModifyIndex)
}

// Service inserts one instance as it was.
func (r *Restore) Service(si ServiceInstance) error {
	if si.Service == nil {
		return fmt.Errorf("service restore: instance on node %q has no service", si.Node)
	}
	row := &serviceRow{Node: si.Node, ServiceID: si.Service.ID, ServiceName: si.Service.Service, Service: si.Service}
	if err := r.tx.Insert(tableServices, row); err != nil {
		return fmt.Errorf("service restore: %w", err)
	}
	if err := setIndexTxn(r.tx, serviceIndexKey(row.ServiceName), si.Service.ModifyIndex); err != nil {
		return err
	}
	return setIndexTxn(r.tx, tableServices, si.Service.ModifyIndex)
}

// Check inserts one check as it was.
func (r *Restore) Check(hc *structs.HealthCheck) error {
	if hc.ServiceTags == nil {
		// msgpack gives back nil for an empty list; keep the JSON "[]".
		hc.ServiceTags = []string{}
	}
	if err := r.tx.Insert(tableChecks, hc); err != nil {
		return fmt.Errorf("check restore: %w", err)
	}
	return setIndexTxn(r.tx, tableChecks, hc.ModifyIndex)
}
