//go:build !jepsen_broken

package server

// ackBeforeCommit is false in every real build. The jepsen tests build the
// binary once more with -tags jepsen_broken (ackearly_broken.go), where it
// is true, to prove that their checker notices a server that acknowledges
// KV writes before raft commits them. A constant, so the compiler drops the
// broken branch here and no flag or setting can turn it on.
const ackBeforeCommit = false
