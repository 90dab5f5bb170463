// Package telemetry gives each agent its metrics: Consul's metric names
// (consul.raft.apply, consul.kvs.apply, consul.runtime.*, ...) kept in an
// in-memory sink for /v1/agent/metrics, in a Prometheus registry for
// ?format=prometheus, and sent to statsd, statsite or DogStatsD when the
// telemetry block names them.
//
// Metrics are emitted through go-metrics' process-wide functions
// (github.com/hashicorp/go-metrics/compat), the same ones raft, serf and
// memberlist call, so the libraries' metrics and conclave's own reach the
// same sinks whichever go-metrics implementation the build selects. The
// process-wide object is a fan-out (hub.go) that every running agent
// joins with its own go-metrics object, which applies that agent's
// metrics_prefix, hostname and prefix_filter. An agent alone in its
// process (the normal case) sees exactly its own metrics; agents started
// together in one test process each see everything emitted in it.
// Counters on hot paths are batched (counter.go): conclave's own through
// Counter, and a library's per-request counter (raft.apply) inside the
// hub.
//
// It may import agent/config (the telemetry block) and libraries.
package telemetry
