package state

import (
	"fmt"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/structs"
)

// Catalog table names. Node names, service IDs and service names are
// compared without regard to case, as Consul does (DNS is
// case-insensitive), so every index over them lowercases.
const (
	tableNodes    = "nodes"
	tableServices = "services"
	tableChecks   = "checks"
)

// serviceIndexPrefix names the per-service-name rows of the index table.
// Each row holds the raft index of the last change to anything a health
// or catalog read of that service returns: an instance, one of its checks,
// its node or a node-level check. A blocking query on a service watches
// that one row, so a check flip wakes it through one channel whatever the
// number of instances (memdb's WatchSet degrades past 2048 channels, which
// is where a channel per instance would break down at 682 instances).
const serviceIndexPrefix = "service."

func serviceIndexKey(name string) string { return serviceIndexPrefix + strings.ToLower(name) }

// serviceRow is one row of the services table: an instance on a node.
// Service is immutable once inserted; writers replace the row.
type serviceRow struct {
	Node        string
	ServiceID   string
	ServiceName string
	Service     *structs.NodeService
}

func init() {
	registerTable(nodesTable)
	registerTable(servicesTable)
	registerTable(checksTable)
}

func nodesTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableNodes,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Node", Lowercase: true}},
			// uuid finds a node by its ID (/v1/health/node accepts either).
			"uuid": {Name: "uuid", AllowMissing: true, Indexer: &memdb.StringFieldIndex{Field: "ID", Lowercase: true}},
		},
	}
}

func servicesTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableServices,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				&memdb.StringFieldIndex{Field: "Node", Lowercase: true},
				&memdb.StringFieldIndex{Field: "ServiceID", Lowercase: true},
			}}},
			"node":    {Name: "node", Indexer: &memdb.StringFieldIndex{Field: "Node", Lowercase: true}},
			"service": {Name: "service", Indexer: &memdb.StringFieldIndex{Field: "ServiceName", Lowercase: true}},
		},
	}
}

func checksTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableChecks,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				&memdb.StringFieldIndex{Field: "Node", Lowercase: true},
				&memdb.StringFieldIndex{Field: "CheckID", Lowercase: true},
			}}},
			"node": {Name: "node", Indexer: &memdb.StringFieldIndex{Field: "Node", Lowercase: true}},
			// node_service finds a service's checks, and with ServiceID ""
			// a node's node-level checks.
			"node_service": {Name: "node_service", Indexer: nodeServiceIndexer{}},
			"service":      {Name: "service", AllowMissing: true, Indexer: &memdb.StringFieldIndex{Field: "ServiceName", Lowercase: true}},
			"status":       {Name: "status", Indexer: &memdb.StringFieldIndex{Field: "Status"}},
		},
	}
}

// nodeServiceIndexer indexes checks by (node, service ID), including an
// empty service ID: memdb's field indexers treat "" as missing, and
// node-level checks must still be found by it.
type nodeServiceIndexer struct{}

func (nodeServiceIndexer) key(node, serviceID string) []byte {
	return []byte(strings.ToLower(node) + "\x00" + strings.ToLower(serviceID) + "\x00")
}

func (x nodeServiceIndexer) FromObject(raw any) (bool, []byte, error) {
	hc, ok := raw.(*structs.HealthCheck)
	if !ok {
		return false, nil, fmt.Errorf("node_service index: unexpected %T", raw)
	}
	return true, x.key(hc.Node, hc.ServiceID), nil
}

func (x nodeServiceIndexer) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("node_service index: want node and service ID, got %d args", len(args))
	}
	node, ok1 := args[0].(string)
	sid, ok2 := args[1].(string)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("node_service index: arguments must be strings")
	}
	return x.key(node, sid), nil
}
