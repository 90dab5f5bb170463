package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/hashicorp/raft"

	"conclave/agent/pool"
	"conclave/agent/structs"
	"conclave/internal/snapfile"
)

// Snapshot runs a snapshot save or restore (GET and PUT /v1/snapshot)
// wherever it must run: a server of another datacenter when args names
// one, else this server for a ?stale save, else the leader. in is the
// archive of a restore. begin is told the answer before the archive of a
// save is written to what it returns.
func (s *Server) Snapshot(ctx context.Context, args *structs.SnapshotRequest, in io.Reader, begin structs.SnapshotBegin) error {
	authz, err := s.config.ACLResolver.ResolveToken(args.Token)
	if err != nil {
		return err
	}
	// A snapshot holds everything and a restore replaces everything:
	// operator rights either way, as Consul asks for a management token.
	if !authz.OperatorWrite() {
		return structs.ErrPermissionDenied
	}
	if dc := args.Datacenter; dc != "" && dc != s.config.Datacenter {
		if s.cluster.router == nil {
			return fmt.Errorf("%w %q", structs.ErrUnknownDatacenter, dc)
		}
		srv, err := s.cluster.router.FindServer(dc)
		if err != nil {
			return err
		}
		return s.pool.Snapshot(ctx, srv.Addr.String(), args, in, begin)
	}
	if args.Op == structs.SnapshotSave && args.AllowStale {
		return s.snapshotSave(begin, false)
	}
	leader, err := s.waitLeader(ctx)
	if err != nil {
		return err
	}
	if leader != "" {
		return s.pool.Snapshot(ctx, leader, args, in, begin)
	}
	if args.Op == structs.SnapshotRestore {
		return s.snapshotRestore(in, begin)
	}
	return s.snapshotSave(begin, true)
}

// waitLeader returns the leader's address, or "" when this server leads.
// As forwarded RPCs do, it waits up to RPCHoldTimeout for an election.
func (s *Server) waitLeader(ctx context.Context) (string, error) {
	deadline := time.Now().Add(s.config.RPCHoldTimeout)
	for {
		if s.IsLeader() {
			return "", nil
		}
		if l := s.Leader(); l != "" {
			return l, nil
		}
		if time.Now().After(deadline) {
			return "", structs.ErrNoLeader
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-s.shutdownCh:
			return "", structs.ErrNoLeader
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// snapshotSave has raft take a snapshot now and streams it as an archive.
// raft writes the FSM snapshot to its store first (to disk, with a data
// dir), so the archive streams from a file and memory stays flat however
// large the state. consistent (not ?stale) first applies a barrier, so the
// snapshot holds every write acknowledged before the request.
func (s *Server) snapshotSave(begin structs.SnapshotBegin, consistent bool) error {
	if consistent {
		if err := s.raft.Barrier(time.Minute).Error(); err != nil {
			return fmt.Errorf("snapshot barrier: %w", err)
		}
	}
	meta, rc, err := s.takeSnapshot()
	if err != nil {
		return err
	}
	defer rc.Close()
	resp := &structs.SnapshotResponse{QueryMeta: structs.QueryMeta{Index: meta.Index}}
	s.SetQueryMeta(&resp.QueryMeta)
	w, err := begin(resp)
	if err != nil {
		return err
	}
	return snapfile.Write(w, meta, rc)
}

// takeSnapshot asks raft for a snapshot. When nothing was applied since
// the last one (a follower's ?stale save on an idle cluster), that last
// one is the current state, and it is used as it is.
func (s *Server) takeSnapshot() (*raft.SnapshotMeta, io.ReadCloser, error) {
	f := s.raft.Snapshot()
	err := f.Error()
	if err == nil {
		return f.Open()
	}
	if !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		return nil, nil, fmt.Errorf("snapshot: %w", err)
	}
	list, lerr := s.snapshots.List()
	if lerr != nil || len(list) == 0 {
		return nil, nil, fmt.Errorf("snapshot: %w", err)
	}
	return s.snapshots.Open(list[0].ID)
}

// snapshotRestore checks the whole archive, into a temporary file, before
// anything is touched; then raft restores it on the leader. raft.Restore
// installs it as a snapshot past the end of the log, so every follower
// receives it as one, and a restarted server loads it from its store.
func (s *Server) snapshotRestore(in io.Reader, begin structs.SnapshotBegin) error {
	dir := s.config.DataDir
	if dir == "" {
		dir = os.TempDir()
	}
	start := time.Now()
	tmp, err := os.CreateTemp(dir, "snapshot-restore-*.bin")
	if err != nil {
		return fmt.Errorf("snapshot restore: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()

	bw := bufio.NewWriterSize(tmp, 1<<20)
	meta, err := snapfile.Read(in, bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = checkState(tmp)
	}
	if err != nil {
		return structs.Errorf(structs.KindBadRequest, "snapshot refused, nothing was changed: %v", err)
	}
	checked := time.Since(start)
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("snapshot restore: %w", err)
	}
	if err := s.raft.Restore(meta, bufio.NewReaderSize(tmp, 1<<20), 0); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return structs.ErrNoLeader
		}
		return fmt.Errorf("snapshot restore: %w", err)
	}
	// The sessions are the restored ones now: their TTL timers start
	// afresh, as on a new leader.
	s.sessionTimers.stop()
	if err := s.sessionTimers.start(s.fsm.State(), s.expireSession); err != nil {
		s.logger.Error("session timers not restarted after restore", "error", err)
	}
	s.logger.Info("snapshot restored", "index", meta.Index, "term", meta.Term,
		"checked_in", checked.Round(time.Millisecond), "took", time.Since(start).Round(time.Millisecond))
	resp := &structs.SnapshotResponse{}
	s.SetQueryMeta(&resp.QueryMeta)
	_, err = begin(resp)
	return err
}

// checkState refuses a state.bin whose records this FSM would not know:
// sums only prove the archive is whole, not that it is ours.
func checkState(f *os.File) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	stats, _, err := snapfile.Inspect(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return err
	}
	for _, st := range stats {
		if !snapfile.Known(st.Name) {
			return fmt.Errorf("%w: state.bin holds records of type %s", snapfile.ErrInvalid, st.Name)
		}
	}
	return nil
}

// serveSnapshotConn serves one snapshot stream from another agent.
func (s *Server) serveSnapshotConn(conn net.Conn) {
	defer conn.Close()
	if !s.rpcConns.add(conn) {
		return
	}
	defer s.rpcConns.remove(conn)
	br := bufio.NewReader(conn)
	args, err := pool.ReadSnapshotRequest(br)
	if err != nil {
		s.logger.Warn("bad snapshot stream", "from", conn.RemoteAddr(), "error", err)
		return
	}
	var in io.Reader
	if args.Op == structs.SnapshotRestore {
		in = br
	}
	ctx, cancel := context.WithCancel(s.shutdownCtx)
	defer cancel()
	bw := bufio.NewWriterSize(conn, 1<<16)
	answered := false
	err = s.Snapshot(ctx, args, in, func(resp *structs.SnapshotResponse) (io.Writer, error) {
		answered = true
		return bw, pool.WriteSnapshotResponse(bw, resp, nil)
	})
	if err != nil && !answered {
		_ = pool.WriteSnapshotResponse(bw, nil, err)
	} else if err != nil {
		// The archive is cut short; the reader's checks refuse it.
		s.logger.Error("snapshot stream failed", "to", conn.RemoteAddr(), "error", err)
		return
	}
	_ = bw.Flush()
}
