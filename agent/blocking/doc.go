// Package blocking runs every read of the server's RPC endpoints: the
// consistency check before it, the read itself against the current state
// store, and, for a blocking query (a request with MinQueryIndex), the
// wait on the read's watch channels until its answer changes, the wait
// runs out, the server stops or the caller hangs up.
//
// Queries is the one helper; the server owns one and satisfies Backend.
// The agent's event buffer (agent/event) owns another, over agent-local
// data: its Backend has no state store.
// A read that names one thing (a KV key, a node) returns ErrNotFound when
// it is absent, so a blocking read of a missing thing sleeps through
// writes that cannot make it exist. Queries.Waiting is the number of
// blocking queries waiting now, for metrics and tests.
//
// It may import agent/structs, agent/state, go-memdb and the standard
// library; the server imports it, never the other way round.
package blocking
