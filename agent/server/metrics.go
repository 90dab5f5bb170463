package server

import (
	metrics "github.com/hashicorp/go-metrics/compat"

	"conclave/agent/telemetry"
)

// The metrics the endpoints emit, under Consul's names (each agent adds
// its metrics_prefix, "consul" by default: consul.kvs.apply). Keys are
// package variables so that emitting one allocates nothing; the
// go-metrics hub (agent/telemetry) never writes into them.
var (
	// rpcRequests counts the requests that reach this server over the
	// server port (from client agents and other servers), as Consul's
	// does; its own HTTP API's calls are in-process and not counted, which
	// keeps a metric off a server's hottest path.
	rpcRequests = telemetry.NewCounter("rpc", "request")
	// rpcQueries counts the reads run (blocking or not).
	rpcQueries = telemetry.NewCounter("rpc", "query")

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

// AutopilotHealth is what the leader's autopilot last found: whether every
// server is healthy, and how many may fail without losing quorum. ok is
// false on a follower, or before autopilot's first round; the agent
// exports it as consul.autopilot.healthy and
// consul.autopilot.failure_tolerance, which Consul's leader emits too.
func (s *Server) AutopilotHealth() (healthy bool, failureTolerance int, ok bool) {
	if !s.IsLeader() {
		return false, 0, false
	}
	st := s.cluster.apState.Load()
	if st == nil {
		return false, 0, false
	}
	return st.Healthy, st.FailureTolerance, true
}
