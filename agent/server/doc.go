// Package server is what only server agents run: raft with its durable log
// and snapshots, the RPC endpoints, forwarding to the leader, and leader
// duties (consistent-read barrier, tombstone reaping, the catalog's
// serfHealth checks from gossip).
//
// Endpoints are plain net/rpc services. The agent calls them in-process
// through Server.RPC; other agents reach the same endpoints over the server
// port. Every endpoint starts with forward(), so it never matters where a
// request entered. Every read runs through the server's agent/blocking
// runner (s.queries), which the server feeds through blocking.Backend
// (query.go).
//
// Cluster membership lives here too (cluster.go, bootstrap.go,
// leader_cluster.go): the server's LAN and WAN gossip pools, bootstrap-expect,
// the leader's reconciliation of gossip into the raft configuration,
// autopilot, and peers.json / offline recovery.
//
// It may import agent/structs, agent/state, agent/fsm, agent/blocking,
// agent/pool, agent/router and libraries.
package server
