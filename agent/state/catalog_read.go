package state

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/structs"
)

// Catalog reads. Every value they return is shared with the store and must
// not be modified; filters build new slices instead.
//
// What each read watches, and the index it reports:
//   - node and check listings: the table's index row (one channel);
//   - anything about one service (its instances, their checks and nodes):
//     that service's index row (one channel, see serviceIndexPrefix).

// GetNode finds a node by name, or by ID when no node has that name.
func (s *Store) GetNode(ws memdb.WatchSet, nameOrID string) (uint64, *structs.Node, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx := maxIndexWatchTxn(tx, ws, tableNodes)
	n, err := getNodeTxn(tx, nameOrID)
	return idx, n, err
}

func getNodeTxn(tx *memdb.Txn, nameOrID string) (*structs.Node, error) {
	raw, err := tx.First(tableNodes, "id", nameOrID)
	if err != nil {
		return nil, fmt.Errorf("node lookup: %w", err)
	}
	if raw == nil && len(nameOrID) == 36 {
		if raw, err = tx.First(tableNodes, "uuid", nameOrID); err != nil {
			return nil, fmt.Errorf("node lookup: %w", err)
		}
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.Node), nil
}

// Nodes lists every node, ordered by name.
func (s *Store) Nodes(ws memdb.WatchSet) (uint64, structs.Nodes, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx := maxIndexWatchTxn(tx, ws, tableNodes)
	it, err := tx.Get(tableNodes, "id")
	if err != nil {
		return 0, nil, fmt.Errorf("node lookup: %w", err)
	}
	out := structs.Nodes{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.Node))
	}
	return idx, out, nil
}

// NodeServices returns a node and its instances keyed by service ID, or
// nil when the node does not exist.
func (s *Store) NodeServices(ws memdb.WatchSet, nameOrID string) (uint64, *structs.NodeServices, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx := maxIndexWatchTxn(tx, ws, tableNodes, tableServices)
	n, err := getNodeTxn(tx, nameOrID)
	if err != nil || n == nil {
		return idx, nil, err
	}
	rows, err := nodeServiceRowsTxn(tx, n.Node)
	if err != nil {
		return 0, nil, err
	}
	out := &structs.NodeServices{Node: n, Services: make(map[string]*structs.NodeService, len(rows))}
	for _, r := range rows {
		out.Services[r.Service.ID] = r.Service
	}
	return idx, out, nil
}

// Services maps every service name to the union of its instances' tags.
func (s *Store) Services(ws memdb.WatchSet) (uint64, map[string][]string, error) {
	return s.ServicesByNodeMeta(ws, nil)
}

// ServicesByNodeMeta is Services counting only instances on nodes that
// carry every key:value of filters.
func (s *Store) ServicesByNodeMeta(ws memdb.WatchSet, filters map[string]string) (uint64, map[string][]string, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	tables := []string{tableServices}
	if len(filters) > 0 {
		tables = append(tables, tableNodes)
	}
	idx := maxIndexWatchTxn(tx, ws, tables...)
	it, err := tx.Get(tableServices, "id")
	if err != nil {
		return 0, nil, fmt.Errorf("service lookup: %w", err)
	}
	nodes := nodeCache{tx: tx}
	names := map[string]string{} // lowercase → as first registered
	tags := map[string]map[string]bool{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		r := raw.(*serviceRow)
		if len(filters) > 0 {
			n, err := nodes.get(r.Node)
			if err != nil {
				return 0, nil, err
			}
			if n == nil || !n.MatchesMeta(filters) {
				continue
			}
		}
		key := strings.ToLower(r.ServiceName)
		if _, ok := names[key]; !ok {
			names[key] = r.ServiceName
			tags[key] = map[string]bool{}
		}
		for _, t := range r.Service.Tags {
			tags[key][t] = true
		}
	}
	out := make(map[string][]string, len(names))
	for key, name := range names {
		list := make([]string, 0, len(tags[key]))
		for t := range tags[key] {
			list = append(list, t)
		}
		sort.Strings(list)
		out[name] = list
	}
	return idx, out, nil
}

// AllServiceNodes lists every instance of every service as catalog rows
// (for filtering /v1/catalog/services by instance fields).
func (s *Store) AllServiceNodes(ws memdb.WatchSet) (uint64, structs.ServiceNodes, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx := maxIndexWatchTxn(tx, ws, tableNodes, tableServices)
	it, err := tx.Get(tableServices, "id")
	if err != nil {
		return 0, nil, fmt.Errorf("service lookup: %w", err)
	}
	out, err := serviceNodesFrom(tx, it)
	return idx0(idx, out, err)
}

func idx0[T any](idx uint64, v T, err error) (uint64, T, error) {
	if err != nil {
		var zero T
		return 0, zero, err
	}
	return idx, v, nil
}

// serviceIndexTxn watches one service's index row and returns its value.
// A name never registered has no row: its reads report the services
// table's index, and the row's creation still wakes the watch (memdb hands
// out the channel of the nearest tree node for a missing key).
func serviceIndexTxn(tx *memdb.Txn, ws memdb.WatchSet, name string) uint64 {
	ch, raw, err := tx.FirstWatch(tableIndex, "id", serviceIndexKey(name))
	if err == nil {
		ws.Add(ch)
		if raw != nil {
			return raw.(*indexEntry).Value
		}
	}
	return maxIndexTxn(tx, tableServices)
}

// ServiceNodes lists the instances of a service carrying every tag in tags,
// as catalog rows.
func (s *Store) ServiceNodes(ws memdb.WatchSet, name string, tags []string) (uint64, structs.ServiceNodes, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx := serviceIndexTxn(tx, ws, name)
	it, err := tx.Get(tableServices, "service", name)
	if err != nil {
		return 0, nil, fmt.Errorf("service lookup: %w", err)
	}
	out, err := serviceNodesFrom(tx, filterTags(it, tags))
	return idx0(idx, out, err)
}

// rowIterator is the part of memdb.ResultIterator the readers use.
type rowIterator interface{ Next() any }

type tagFilterIterator struct {
	it   rowIterator
	tags []string
}

func (f tagFilterIterator) Next() any {
	for raw := f.it.Next(); raw != nil; raw = f.it.Next() {
		if raw.(*serviceRow).Service.HasTags(f.tags) {
			return raw
		}
	}
	return nil
}

func filterTags(it rowIterator, tags []string) rowIterator {
	if len(tags) == 0 {
		return it
	}
	return tagFilterIterator{it: it, tags: tags}
}

func serviceNodesFrom(tx *memdb.Txn, it rowIterator) (structs.ServiceNodes, error) {
	nodes := nodeCache{tx: tx}
	out := structs.ServiceNodes{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		r := raw.(*serviceRow)
		n, err := nodes.get(r.Node)
		if err != nil {
			return nil, err
		}
		out = append(out, r.Service.ToServiceNode(n))
	}
	return out, nil
}

// nodeCache looks each node up once per read: a service's instances are
// often many per node.
type nodeCache struct {
	tx *memdb.Txn
	m  map[string]*structs.Node
}

func (c *nodeCache) get(name string) (*structs.Node, error) {
	key := strings.ToLower(name)
	if n, ok := c.m[key]; ok {
		return n, nil
	}
	raw, err := c.tx.First(tableNodes, "id", name)
	if err != nil {
		return nil, fmt.Errorf("node lookup: %w", err)
	}
	var n *structs.Node
	if raw != nil {
		n = raw.(*structs.Node)
	}
	if c.m == nil {
		c.m = map[string]*structs.Node{}
	}
	c.m[key] = n
	return n, nil
}

// NodeChecks lists a node's checks, node-level and service ones.
func (s *Store) NodeChecks(ws memdb.WatchSet, nameOrID string) (uint64, structs.HealthChecks, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx := maxIndexWatchTxn(tx, ws, tableNodes, tableChecks)
	n, err := getNodeTxn(tx, nameOrID)
	if err != nil {
		return 0, nil, err
	}
	if n == nil {
		return idx, structs.HealthChecks{}, nil
	}
	out, err := collectChecksTxn(tx, "node", n.Node)
	if out == nil {
		out = structs.HealthChecks{}
	}
	return idx0(idx, out, err)
}

// ServiceChecks lists the checks of a service's instances.
func (s *Store) ServiceChecks(ws memdb.WatchSet, name string) (uint64, structs.HealthChecks, error) {
	return s.ServiceChecksByNodeMeta(ws, name, nil)
}

// ServiceChecksByNodeMeta is ServiceChecks for instances on nodes that
// carry every key:value of filters.
func (s *Store) ServiceChecksByNodeMeta(ws memdb.WatchSet, name string, filters map[string]string) (uint64, structs.HealthChecks, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx := serviceIndexTxn(tx, ws, name)
	checks, err := collectChecksTxn(tx, "service", name)
	if err != nil {
		return 0, nil, err
	}
	out, err := checksByNodeMeta(tx, checks, filters)
	return idx0(idx, out, err)
}

// ChecksInState lists the checks in a state; "any" lists them all.
func (s *Store) ChecksInState(ws memdb.WatchSet, state string) (uint64, structs.HealthChecks, error) {
	return s.ChecksInStateByNodeMeta(ws, state, nil)
}

// ChecksInStateByNodeMeta is ChecksInState for nodes that carry every
// key:value of filters.
func (s *Store) ChecksInStateByNodeMeta(ws memdb.WatchSet, state string, filters map[string]string) (uint64, structs.HealthChecks, error) {
	if !structs.ValidHealthState(state) {
		return 0, nil, structs.BadRequestf("unsupported state %q: must be any, passing, warning or critical", state)
	}
	tx := s.db.Txn(false)
	defer tx.Abort()
	tables := []string{tableChecks}
	if len(filters) > 0 {
		tables = append(tables, tableNodes)
	}
	idx := maxIndexWatchTxn(tx, ws, tables...)
	var (
		checks structs.HealthChecks
		err    error
	)
	if state == structs.HealthAny {
		checks, err = collectChecksTxn(tx, "id")
	} else {
		checks, err = collectChecksTxn(tx, "status", state)
	}
	if err != nil {
		return 0, nil, err
	}
	out, err := checksByNodeMeta(tx, checks, filters)
	return idx0(idx, out, err)
}

func checksByNodeMeta(tx *memdb.Txn, checks structs.HealthChecks, filters map[string]string) (structs.HealthChecks, error) {
	out := make(structs.HealthChecks, 0, len(checks))
	if len(filters) == 0 {
		return append(out, checks...), nil
	}
	nodes := nodeCache{tx: tx}
	for _, c := range checks {
		n, err := nodes.get(c.Node)
		if err != nil {
			return nil, err
		}
		if n != nil && n.MatchesMeta(filters) {
			out = append(out, c)
		}
	}
	return out, nil
}

// healthMemo remembers, per service name, the entry CheckServiceNodes
// assembled for each instance row. A row pointer stands for one exact
// state of the instance, its node and its checks (see renewRowTxn), so an
// entry stays right for as long as its row is current. After a check flip
// on a service of 5,000 instances, a read assembles one entry and reuses
// 4,999 instead of looking up every node and its checks again.
type healthMemo struct {
	mu sync.Mutex
	m  map[string]map[*serviceRow]healthEntry
}

type healthEntry struct {
	csn    structs.CheckServiceNode
	status string // aggregated over csn.Checks
}

func (hm *healthMemo) get(service string) map[*serviceRow]healthEntry {
	hm.mu.Lock()
	defer hm.mu.Unlock()
	return hm.m[service]
}

// put replaces the memo of a service; readers at different snapshots may
// race, and whichever puts last wins: every entry is right for its row.
func (hm *healthMemo) put(service string, entries map[*serviceRow]healthEntry) {
	hm.mu.Lock()
	defer hm.mu.Unlock()
	if len(entries) == 0 {
		delete(hm.m, service)
		return
	}
	if hm.m == nil {
		hm.m = map[string]map[*serviceRow]healthEntry{}
	}
	hm.m[service] = entries
}

// CheckServiceNodes lists a service's instances, each with its node and
// every check that decides its health: its own and its node's (node-level
// ones first). tags keeps instances carrying every tag; passingOnly keeps
// instances whose checks all pass.
//
// This is the read behind /v1/health/service and DNS. It watches exactly
// one channel (the service's index row) however many instances there are,
// so blocking queries on a large service stay cheap to wake. The entries
// are shared (healthMemo): callers must not modify them.
func (s *Store) CheckServiceNodes(ws memdb.WatchSet, name string, tags []string, passingOnly bool) (uint64, structs.CheckServiceNodes, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	idx := serviceIndexTxn(tx, ws, name)
	it, err := tx.Get(tableServices, "service", name)
	if err != nil {
		return 0, nil, fmt.Errorf("service lookup: %w", err)
	}
	key := strings.ToLower(name)
	memo := s.health.get(key)
	next := make(map[*serviceRow]healthEntry, len(memo))
	type nodeInfo struct {
		node   *structs.Node
		checks structs.HealthChecks // node-level
	}
	nodes := map[string]*nodeInfo{}
	out := structs.CheckServiceNodes{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		r := raw.(*serviceRow)
		e, ok := memo[r]
		if !ok {
			nkey := strings.ToLower(r.Node)
			ni, ok := nodes[nkey]
			if !ok {
				n, err := getNodeTxn(tx, r.Node)
				if err != nil {
					return 0, nil, err
				}
				nc, err := checksOfServiceTxn(tx, r.Node, "")
				if err != nil {
					return 0, nil, err
				}
				ni = &nodeInfo{node: n, checks: nc}
				nodes[nkey] = ni
			}
			if ni.node == nil {
				continue // cannot happen: services go with their node
			}
			sc, err := checksOfServiceTxn(tx, r.Node, r.ServiceID)
			if err != nil {
				return 0, nil, err
			}
			checks := make(structs.HealthChecks, 0, len(ni.checks)+len(sc))
			checks = append(append(checks, ni.checks...), sc...)
			e = healthEntry{
				csn:    structs.CheckServiceNode{Node: ni.node, Service: r.Service, Checks: checks},
				status: checks.AggregatedStatus(),
			}
		}
		next[r] = e
		if !r.Service.HasTags(tags) || (passingOnly && e.status != structs.HealthPassing) {
			continue
		}
		out = append(out, e.csn)
	}
	s.health.put(key, next)
	return idx, out, nil
}
