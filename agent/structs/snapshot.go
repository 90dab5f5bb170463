package structs

import "io"

// SnapshotOp says what a snapshot stream does.
type SnapshotOp uint8

const (
	// SnapshotSave streams the archive from the server to the caller.
	SnapshotSave SnapshotOp = iota
	// SnapshotRestore streams an archive from the caller to the leader,
	// which replaces the whole state with it.
	SnapshotRestore
)

// SnapshotRequest opens a snapshot stream (GET and PUT /v1/snapshot). It
// is not an RPC: the archive may be gigabytes, so it travels on a
// connection of its own after this header (agent/pool's RPCSnapshot).
type SnapshotRequest struct {
	Datacenter string
	Token      string
	// AllowStale lets any server save its own state (?stale); otherwise
	// the leader saves after a barrier. A restore always goes to the
	// leader.
	AllowStale bool
	Op         SnapshotOp
}

// SnapshotResponse is the header the server answers with before the
// archive (save) or once the restore is done. Error is set, with its
// Kind, when the operation failed; then no archive follows.
type SnapshotResponse struct {
	Error string
	Kind  Kind
	QueryMeta
}

// SnapshotBegin is told the answer before any of a saved archive is
// written and returns where to write it (an HTTP handler sets its headers
// here). A restore calls it once the restore is done, and writes nothing.
type SnapshotBegin func(*SnapshotResponse) (io.Writer, error)
