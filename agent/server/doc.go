// Package server is what only server agents run: raft with its durable log
// and snapshots, the RPC endpoints, forwarding to the leader, and leader
// duties (consistent-read barrier, tombstone reaping).
//
// Endpoints are plain net/rpc services. The agent calls them in-process
// through Server.RPC; other agents reach the same endpoints over the server
// port. Every endpoint starts with forward(), so it never matters where a
// request entered.
//
// It may import agent/structs, agent/state, agent/fsm, agent/pool and
// libraries.
package server
