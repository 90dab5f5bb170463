//go:build jepsen_broken

package server

// ackBeforeCommit makes raftApply answer a KV write with "true" as soon as
// it is handed to raft, before it is stored on a quorum or applied, and
// whatever a CAS would have decided. This is deliberately wrong: it exists
// only in binaries built with -tags jepsen_broken, which the jepsen tests
// use to show that porcupine then reports a violation. Never ship it.
const ackBeforeCommit = true
