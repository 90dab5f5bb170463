package server

import (
	metrics "github.com/hashicorp/go-metrics/compat"
)

// The metrics the endpoints emit, under Consul's names (each agent adds
// its metrics_prefix, "consul" by default: consul.kvs.apply). Keys are
// package variables so that emitting one allocates nothing; the
// go-metrics hub (agent/telemetry) never writes into them.
var (
	// rpcRequestKey counts every request this server's endpoint table
	// answers. Consul counts only those that arrive over the network; here
	// the HTTP API of a server reaches the same table in-process, and
	// counts too.
	rpcRequestKey = []string{"rpc", "request"}
	// rpcQueryKey counts the reads run (blocking or not).
	rpcQueryKey = []string{"rpc", "query"}

	kvsApplyKey          = []string{"kvs", "apply"}
	txnApplyKey          = []string{"txn", "apply"}
	txnReadKey           = []string{"txn", "read"}
	sessionApplyKey      = []string{"session", "apply"}
	catalogRegisterKey   = []string{"catalog", "register"}
	catalogDeregisterKey = []string{"catalog", "deregister"}

	healthServiceQueryKey    = []string{"health", "service", "query"}
	healthServiceQueryTagKey = []string{"health", "service", "query-tag"}
	catalogServiceQueryKey   = []string{"catalog", "service", "query"}
	catalogServiceQueryTag   = []string{"catalog", "service", "query-tag"}
)

// countServiceQuery counts a read of a service's instances, labelled with
// the service and, for a tagged read, its tags, as Consul does.
func countServiceQuery(key, tagKey []string, service string, tags []string) {
	labels := []metrics.Label{{Name: "service", Value: service}}
	if len(tags) == 0 {
		metrics.IncrCounterWithLabels(key, 1, labels)
		return
	}
	for _, tag := range tags {
		metrics.IncrCounterWithLabels(tagKey, 1, append(labels, metrics.Label{Name: "tag", Value: tag}))
	}
}
