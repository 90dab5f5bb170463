// Package state is the go-memdb state store: the only place the agent's
// replicated data lives.
//
// Writes are called by the FSM with the raft index of the log entry that
// carries them; they must be deterministic (no clocks, no randomness).
// Reads take a memdb.WatchSet that the caller blocks on, and return
// (index, value, error): the index is what X-Consul-Index reports and what a
// blocking query compares against.
//
// It may import agent/structs and libraries only.
package state
