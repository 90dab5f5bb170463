// Package fsm is the raft finite state machine: it decodes committed log
// entries and calls the state store, and it writes and reads snapshots.
//
// Everything here must be deterministic: no clocks, no I/O besides the
// snapshot stream, no randomness. Decisions that need time (session TTLs,
// lock-delay, tombstone reaping) are made by the leader before Apply.
//
// ACL writes are one entry type (structs.ACLRequestType) and tokens,
// policies and roles are snapshot records 40-42 (acl.go).
//
// It may import agent/structs, agent/state, internal/snapfile (the record
// numbers of a snapshot) and libraries.
package fsm
