package http

import (
	"context"
	"io"
	gohttp "net/http"

	"conclave/agent/structs"
)

// snapshotBackend runs snapshot streams: the archive flows beside the
// request path, never inside an RPC reply (agent/pool's RPCSnapshot).
type snapshotBackend interface {
	Snapshot(ctx context.Context, args *structs.SnapshotRequest, in io.Reader, begin structs.SnapshotBegin) error
}

// snapshot serves GET /v1/snapshot (the archive of the whole state, from
// the leader, or from this server with ?stale) and PUT /v1/snapshot (the
// body replaces the whole state, through the leader's raft).
func (h *Handler) snapshot(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args := structs.SnapshotRequest{Datacenter: parseDC(r), Token: token(r)}
	var q structs.QueryOptions
	if err := parseQuery(r, &q); err != nil {
		return nil, err
	}
	args.AllowStale = q.AllowStale
	var in io.Reader
	if r.Method == gohttp.MethodPut {
		args.Op = structs.SnapshotRestore
		in = r.Body
	}
	begun := false
	err := h.backend.Snapshot(r.Context(), &args, in, func(resp *structs.SnapshotResponse) (io.Writer, error) {
		begun = true
		setMeta(w, &q, &resp.QueryMeta)
		if args.Op == structs.SnapshotSave {
			w.Header().Set("Content-Type", "application/x-gzip")
		}
		w.WriteHeader(gohttp.StatusOK)
		return w, nil
	})
	if err != nil && begun {
		// The status is out; a cut-short body is what the client sees,
		// and its checks refuse it.
		h.logger.Error("snapshot stream failed", "method", r.Method, "error", err)
		return nil, nil
	}
	return nil, err
}
