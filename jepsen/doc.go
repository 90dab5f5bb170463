// Package jepsen checks that conclave loses no acknowledged write and stays
// linearizable while servers are killed, paused and partitioned.
//
// It runs the built binary as real processes: a cluster of servers (each
// on its own loopback IP, or in its own network namespace), concurrent
// clients doing get, put and cas over the HTTP API, and a nemesis that
// injects faults. Every operation is recorded with its call and return
// time; a write whose answer was lost is recorded as open-ended, as
// porcupine expects. github.com/anishathalye/porcupine then checks the
// history against a per-key register model with CAS. Zero violations is the
// only pass; on a violation the visualization is written to a temporary
// HTML file whose path the test prints.
//
// The tests (see the _test files) are:
//
//   - TestLinearizable: the check above; ~20 s of load in `make test`
//     (in network namespaces with partitions too when run as root, else on
//     loopback), and in `make jepsen` (CONCLAVE_JEPSEN=long) two minutes
//     each of default reads, ?consistent reads and partitions, with more
//     clients and longer faults.
//   - TestLeaderLoss: SIGKILL the leader of 3 servers; a new one takes over
//     and every acknowledged write is still there.
//   - TestPartition: network namespaces; the leader is cut off, the
//     minority refuses writes, the majority goes on, and after healing all
//     converge with no acknowledged write lost. Needs root.
//   - TestLockSafety: five `conclave lock` processes on a lock and five
//     on a semaphore of 3, through two client agents, while the leader is
//     killed, the leader paused and, in network namespaces (root), a
//     client agent cut off while a child holds through it; the children's
//     start/stop log must never show more holders than allowed
//     (internal/lockcheck, whose test shows it catches a planted overlap).
//   - TestSnapshotLinearizable: a snapshot saved and later restored while
//     clients work; the save is recorded as a read of every key with the
//     archive's values, the restore as a write of them, and porcupine
//     checks the whole history.
//   - TestCheckerCatchesAckBeforeCommit: a binary built with
//     -tags jepsen_broken acknowledges writes before raft commits them; the
//     checker must report a violation, or the test fails.
//
// Only tests use this package. It imports no conclave package but the
// test-only internal/lockcheck and internal/snapfile (to read a saved
// archive as a user's tools would): it sees the agent exactly as a user
// does.
package jepsen
