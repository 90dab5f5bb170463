package state

import (
	"fmt"
	"reflect"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/structs"
)

// catalogChanges collects what one catalog write touched, so the table
// and per-service index rows are each bumped once, at the end.
type catalogChanges struct {
	tables   map[string]bool
	services map[string]bool // lowercase service names
	// nodes whose every service is affected (a node or node-level check
	// changed); expanded at commit, when the node's services are final.
	nodes map[string]bool
	// instances whose checks changed.
	instances map[instanceKey]bool
	// sessions this write invalidates (a linked check turned critical or
	// went away, or their node went away), destroyed at commit; released
	// is what they let go of, for the store to report after commit.
	sessions invalidations
	released []LockRelease
}

type instanceKey struct{ node, serviceID string }

func newCatalogChanges() *catalogChanges {
	return &catalogChanges{tables: map[string]bool{}, services: map[string]bool{}, nodes: map[string]bool{},
		instances: map[instanceKey]bool{}, sessions: invalidations{}}
}

func (c *catalogChanges) table(t string)      { c.tables[t] = true }
func (c *catalogChanges) service(name string) { c.services[strings.ToLower(name)] = true }
func (c *catalogChanges) node(name string)    { c.nodes[strings.ToLower(name)] = true }
func (c *catalogChanges) instance(node, serviceID string) {
	c.instances[instanceKey{strings.ToLower(node), strings.ToLower(serviceID)}] = true
}

// commit writes the index rows for everything touched, and replaces the
// rows of the instances whose health inputs changed (see renewRow).
func (c *catalogChanges) commit(tx *memdb.Txn, idx uint64) error {
	rel, err := c.sessions.apply(tx, idx)
	if err != nil {
		return err
	}
	c.released = rel
	for node := range c.nodes {
		rows, err := nodeServiceRowsTxn(tx, node)
		if err != nil {
			return err
		}
		for _, r := range rows {
			c.service(r.ServiceName)
			c.instances[instanceKey{strings.ToLower(r.Node), strings.ToLower(r.ServiceID)}] = true
		}
	}
	for k := range c.instances {
		if err := renewRowTxn(tx, k); err != nil {
			return err
		}
	}
	for t := range c.tables {
		if err := setIndexTxn(tx, t, idx); err != nil {
			return err
		}
	}
	for name := range c.services {
		if err := setIndexTxn(tx, serviceIndexPrefix+name, idx); err != nil {
			return err
		}
	}
	return nil
}

// renewRowTxn replaces an instance's row with an identical copy. Rows are
// immutable, so a row pointer then stands for one exact state of the
// instance, its node and its checks: CheckServiceNodes reuses what it
// assembled for a row it has seen (healthMemo). Every write that changes
// what a health read shows for an instance must therefore renew its row;
// writes reach here through catalogChanges (node and instance touches),
// and a service write inserts a new row anyway. A row already replaced
// in this transaction is renewed again, harmlessly.
func renewRowTxn(tx *memdb.Txn, k instanceKey) error {
	raw, err := tx.First(tableServices, "id", k.node, k.serviceID)
	if err != nil {
		return fmt.Errorf("service lookup: %w", err)
	}
	if raw == nil {
		return nil // deleted in this transaction
	}
	row := *raw.(*serviceRow)
	if err := tx.Insert(tableServices, &row); err != nil {
		return fmt.Errorf("service insert: %w", err)
	}
	return nil
}

// EnsureRegistration applies one catalog registration (the node, then its
// service, then its checks) in one transaction: all of it or nothing.
func (s *Store) EnsureRegistration(idx uint64, req *structs.RegisterRequest) error {
	tx := s.db.Txn(true)
	defer tx.Abort()
	ch := newCatalogChanges()
	if err := ensureRegistrationTxn(tx, idx, req, ch); err != nil {
		return err
	}
	tx.Commit()
	s.notifyReleases(ch.released)
	return nil
}

func ensureRegistrationTxn(tx *memdb.Txn, idx uint64, req *structs.RegisterRequest, ch *catalogChanges) error {
	if err := ensureNodeTxn(tx, idx, req, ch); err != nil {
		return err
	}
	if req.Service != nil {
		if err := ensureServiceTxn(tx, idx, req.Node, req.Service, ch); err != nil {
			return err
		}
	}
	if req.Check != nil {
		if err := ensureCheckTxn(tx, idx, req.Check, ch); err != nil {
			return err
		}
	}
	for _, c := range req.Checks {
		if err := ensureCheckTxn(tx, idx, c, ch); err != nil {
			return err
		}
	}
	return ch.commit(tx, idx)
}

// ensureNodeTxn registers or updates the node of req. With SkipNodeUpdate
// an existing node is left alone; a missing one is still created (Consul's
// documented behaviour).
func ensureNodeTxn(tx *memdb.Txn, idx uint64, req *structs.RegisterRequest, ch *catalogChanges) error {
	raw, err := tx.First(tableNodes, "id", req.Node)
	if err != nil {
		return fmt.Errorf("node lookup: %w", err)
	}
	if raw != nil && req.SkipNodeUpdate {
		return nil
	}
	n := &structs.Node{
		ID:              strings.ToLower(req.ID),
		Node:            req.Node,
		Address:         req.Address,
		Datacenter:      req.Datacenter,
		TaggedAddresses: req.TaggedAddresses,
		Meta:            req.NodeMeta,
	}
	if n.ID != "" {
		other, err := tx.First(tableNodes, "uuid", n.ID)
		if err != nil {
			return fmt.Errorf("node lookup: %w", err)
		}
		if other != nil && !strings.EqualFold(other.(*structs.Node).Node, n.Node) {
			return structs.BadRequestf("node ID %q is already used by node %q; node %q needs another ID",
				n.ID, other.(*structs.Node).Node, n.Node)
		}
	}
	if raw != nil {
		old := raw.(*structs.Node)
		if n.ID == "" {
			// A registration without an ID (a script, an external node)
			// keeps the one the node's agent gave it.
			n.ID = old.ID
		}
		n.CreateIndex, n.ModifyIndex = old.CreateIndex, old.ModifyIndex
		if reflect.DeepEqual(old, n) {
			return nil
		}
	} else {
		n.CreateIndex = idx
	}
	n.ModifyIndex = idx
	if err := tx.Insert(tableNodes, n); err != nil {
		return fmt.Errorf("node insert: %w", err)
	}
	ch.table(tableNodes)
	ch.node(n.Node)
	return nil
}

// ensureServiceTxn registers or updates one instance on an existing node,
// and keeps the ServiceName and ServiceTags its checks carry in step.
func ensureServiceTxn(tx *memdb.Txn, idx uint64, node string, svc *structs.NodeService, ch *catalogChanges) error {
	nraw, err := tx.First(tableNodes, "id", node)
	if err != nil {
		return fmt.Errorf("node lookup: %w", err)
	}
	if nraw == nil {
		return structs.BadRequestf("service %q: node %q is not registered", svc.ID, node)
	}
	node = nraw.(*structs.Node).Node
	ns := *svc
	raw, err := tx.First(tableServices, "id", node, ns.ID)
	if err != nil {
		return fmt.Errorf("service lookup: %w", err)
	}
	if raw != nil {
		old := raw.(*serviceRow)
		ns.CreateIndex, ns.ModifyIndex = old.Service.CreateIndex, old.Service.ModifyIndex
		if reflect.DeepEqual(old.Service, &ns) {
			return nil
		}
		if !strings.EqualFold(old.ServiceName, ns.Service) {
			// Renamed: readers of the old name must see it go.
			ch.service(old.ServiceName)
		}
	} else {
		ns.CreateIndex = idx
	}
	ns.ModifyIndex = idx
	row := &serviceRow{Node: node, ServiceID: ns.ID, ServiceName: ns.Service, Service: &ns}
	if err := tx.Insert(tableServices, row); err != nil {
		return fmt.Errorf("service insert: %w", err)
	}
	ch.table(tableServices)
	ch.service(ns.Service)

	// The instance's checks carry its name and tags; rewrite the ones that
	// no longer match. Collected first: memdb iterators must not see their
	// own table change under them.
	checks, err := checksOfServiceTxn(tx, node, ns.ID)
	if err != nil {
		return err
	}
	for _, c := range checks {
		if c.ServiceName == ns.Service && reflect.DeepEqual(c.ServiceTags, tagsOrEmpty(ns.Tags)) {
			continue
		}
		nc := *c
		nc.ServiceName, nc.ServiceTags = ns.Service, tagsOrEmpty(ns.Tags)
		nc.ModifyIndex = idx
		if err := tx.Insert(tableChecks, &nc); err != nil {
			return fmt.Errorf("check insert: %w", err)
		}
		ch.table(tableChecks)
	}
	return nil
}

// tagsOrEmpty makes checks report "ServiceTags": [] rather than null, as
// Consul's do.
func tagsOrEmpty(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

func ensureCheckTxn(tx *memdb.Txn, idx uint64, hc *structs.HealthCheck, ch *catalogChanges) error {
	c := *hc
	if c.CheckID == "" {
		c.CheckID = c.Name
	}
	if c.Status == "" {
		// A check that has not run yet is not healthy.
		c.Status = structs.HealthCritical
	}
	nraw, err := tx.First(tableNodes, "id", c.Node)
	if err != nil {
		return fmt.Errorf("node lookup: %w", err)
	}
	if nraw == nil {
		return structs.BadRequestf("check %q: node %q is not registered", c.CheckID, c.Node)
	}
	c.Node = nraw.(*structs.Node).Node
	c.ServiceName, c.ServiceTags = "", []string{}
	if c.ServiceID != "" {
		sraw, err := tx.First(tableServices, "id", c.Node, c.ServiceID)
		if err != nil {
			return fmt.Errorf("service lookup: %w", err)
		}
		if sraw == nil {
			return structs.BadRequestf("check %q names service ID %q, which is not registered on node %q",
				c.CheckID, c.ServiceID, c.Node)
		}
		svc := sraw.(*serviceRow).Service
		c.ServiceID, c.ServiceName, c.ServiceTags = svc.ID, svc.Service, tagsOrEmpty(svc.Tags)
	}

	raw, err := tx.First(tableChecks, "id", c.Node, c.CheckID)
	if err != nil {
		return fmt.Errorf("check lookup: %w", err)
	}
	if raw != nil {
		old := raw.(*structs.HealthCheck)
		c.CreateIndex, c.ModifyIndex = old.CreateIndex, old.ModifyIndex
		if reflect.DeepEqual(old, &c) {
			return nil
		}
		touchCheck(ch, old) // it may have moved to another service
	} else {
		c.CreateIndex = idx
	}
	c.ModifyIndex = idx
	if err := tx.Insert(tableChecks, &c); err != nil {
		return fmt.Errorf("check insert: %w", err)
	}
	ch.table(tableChecks)
	touchCheck(ch, &c)
	if c.Status == structs.HealthCritical {
		return invalidateCheckSessionsTxn(tx, ch, &c)
	}
	return nil
}

// invalidateCheckSessionsTxn marks the sessions linked to c for
// invalidation: c turned critical or is being deleted.
func invalidateCheckSessionsTxn(tx *memdb.Txn, ch *catalogChanges, c *structs.HealthCheck) error {
	ids, err := sessionsOfCheckTxn(tx, c.Node, c.CheckID)
	if err != nil {
		return err
	}
	ch.sessions.add(ids)
	return nil
}

// touchCheck records whose health a change to c affects: its service, or
// every service on its node for a node-level check.
func touchCheck(ch *catalogChanges, c *structs.HealthCheck) {
	if c.ServiceID == "" {
		ch.node(c.Node)
		return
	}
	ch.service(c.ServiceName)
	ch.instance(c.Node, c.ServiceID)
}

// Deregister applies a deregistration: a check, a service (with its
// checks), or with neither named the whole node. Missing entries are not
// an error, so a retried deregistration is harmless.
func (s *Store) Deregister(idx uint64, req *structs.DeregisterRequest) error {
	tx := s.db.Txn(true)
	defer tx.Abort()
	ch := newCatalogChanges()
	var err error
	switch {
	case req.ServiceID == "" && req.CheckID == "":
		err = deleteNodeTxn(tx, req.Node, ch)
	default:
		if req.ServiceID != "" {
			err = deleteServiceTxn(tx, req.Node, req.ServiceID, ch)
		}
		if err == nil && req.CheckID != "" {
			err = deleteCheckTxn(tx, req.Node, req.CheckID, ch)
		}
	}
	if err != nil {
		return err
	}
	if err := ch.commit(tx, idx); err != nil {
		return err
	}
	tx.Commit()
	s.notifyReleases(ch.released)
	return nil
}

func deleteNodeTxn(tx *memdb.Txn, node string, ch *catalogChanges) error {
	raw, err := tx.First(tableNodes, "id", node)
	if err != nil {
		return fmt.Errorf("node lookup: %w", err)
	}
	if raw == nil {
		return nil
	}
	rows, err := nodeServiceRowsTxn(tx, node)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := deleteServiceTxn(tx, r.Node, r.ServiceID, ch); err != nil {
			return err
		}
	}
	checks, err := collectChecksTxn(tx, "node", node)
	if err != nil {
		return err
	}
	if err := deleteChecksTxn(tx, checks, ch); err != nil {
		return err
	}
	if err := tx.Delete(tableNodes, raw); err != nil {
		return fmt.Errorf("node delete: %w", err)
	}
	ids, err := sessionsOfNodeTxn(tx, node)
	if err != nil {
		return err
	}
	ch.sessions.add(ids)
	ch.table(tableNodes)
	return deleteCoordinateTxn(tx, node, ch)
}

// deleteChecksTxn removes checks, recording the change in ch.
func deleteChecksTxn(tx *memdb.Txn, checks structs.HealthChecks, ch *catalogChanges) error {
	for _, c := range checks {
		if err := tx.Delete(tableChecks, c); err != nil {
			return fmt.Errorf("check delete: %w", err)
		}
		ch.table(tableChecks)
		if err := invalidateCheckSessionsTxn(tx, ch, c); err != nil {
			return err
		}
	}
	return nil
}

func deleteServiceTxn(tx *memdb.Txn, node, serviceID string, ch *catalogChanges) error {
	raw, err := tx.First(tableServices, "id", node, serviceID)
	if err != nil {
		return fmt.Errorf("service lookup: %w", err)
	}
	if raw == nil {
		return nil
	}
	row := raw.(*serviceRow)
	checks, err := checksOfServiceTxn(tx, row.Node, row.ServiceID)
	if err != nil {
		return err
	}
	if err := deleteChecksTxn(tx, checks, ch); err != nil {
		return err
	}
	if err := tx.Delete(tableServices, row); err != nil {
		return fmt.Errorf("service delete: %w", err)
	}
	ch.table(tableServices)
	// The name's index row stays behind, holding the index of this
	// removal: a blocking query on a service that is gone must still see
	// its index move.
	ch.service(row.ServiceName)
	return nil
}

func deleteCheckTxn(tx *memdb.Txn, node, checkID string, ch *catalogChanges) error {
	raw, err := tx.First(tableChecks, "id", node, checkID)
	if err != nil {
		return fmt.Errorf("check lookup: %w", err)
	}
	if raw == nil {
		return nil
	}
	if err := tx.Delete(tableChecks, raw); err != nil {
		return fmt.Errorf("check delete: %w", err)
	}
	ch.table(tableChecks)
	touchCheck(ch, raw.(*structs.HealthCheck))
	return invalidateCheckSessionsTxn(tx, ch, raw.(*structs.HealthCheck))
}

// nodeServiceRowsTxn lists a node's instances.
func nodeServiceRowsTxn(tx *memdb.Txn, node string) ([]*serviceRow, error) {
	it, err := tx.Get(tableServices, "node", node)
	if err != nil {
		return nil, fmt.Errorf("service lookup: %w", err)
	}
	var out []*serviceRow
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*serviceRow))
	}
	return out, nil
}

// checksOfServiceTxn lists the checks of one instance; with serviceID ""
// the node-level checks of node.
func checksOfServiceTxn(tx *memdb.Txn, node, serviceID string) (structs.HealthChecks, error) {
	it, err := tx.Get(tableChecks, "node_service", node, serviceID)
	if err != nil {
		return nil, fmt.Errorf("check lookup: %w", err)
	}
	var out structs.HealthChecks
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.HealthCheck))
	}
	return out, nil
}

func collectChecksTxn(tx *memdb.Txn, index string, args ...any) (structs.HealthChecks, error) {
	it, err := tx.Get(tableChecks, index, args...)
	if err != nil {
		return nil, fmt.Errorf("check lookup: %w", err)
	}
	var out structs.HealthChecks
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.HealthCheck))
	}
	return out, nil
}
