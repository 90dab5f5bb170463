// Package state is the go-memdb state store: the only place the agent's
// replicated data lives.
//
// Writes are called by the FSM with the raft index of the log entry that
// carries them; they must be deterministic (no clocks, no randomness).
// Reads take a memdb.WatchSet that the caller blocks on, and return
// (index, value, error): the index is what X-Consul-Index reports and what a
// blocking query compares against.
//
// Sessions (session.go) live here with their links to checks; invalidating
// a session, and applying its behaviour to the locks it holds, happens in
// the transaction of the write that caused it. The store reports released
// keys through OnLockRelease and keeps no clock.
//
// Network coordinates (coordinate.go) live as long as their catalog node;
// prepared queries (prepared_query.go) as long as their session, when
// they name one.
// Transactions (txn.go) run KV steps and, through the same writes as
// catalog registrations, Node, Service and Check steps (txn_catalog.go),
// all or nothing in one memdb transaction.
// ACL tokens, policies and roles (acl.go) live here too; the bootstrap is
// an index-table row, and ACLGeneration tells resolvers when to drop
// their caches.
//
// It may import agent/structs and libraries only.
package state
