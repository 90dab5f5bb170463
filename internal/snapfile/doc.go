// Package snapfile is the snapshot archive as `GET /v1/snapshot` hands it
// out and `PUT /v1/snapshot` takes it back: Consul's layout, a gzipped tar
// of meta.json (raft's snapshot metadata), state.bin (the FSM snapshot,
// our own format) and SHA256SUMS over both. Write builds one; Read and
// Verify check every byte against the sums before anything is used; Inspect
// counts state.bin's records by type for `conclave snapshot inspect`.
//
// The record types of state.bin are declared here, not in agent/fsm, so
// that the CLI can name them without importing the agent: agent/fsm writes
// records with these numbers.
//
// It is shared by the agent (agent/server) and the snapshot tool
// (snapshot/), and may import only libraries.
package snapfile
