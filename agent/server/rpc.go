package server

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/acl"
	"github.com/hashicorp/raft"

	"conclave/agent/state"
	"conclave/agent/structs"
)

// RPC calls an endpoint in-process, through the same method table that
// serves remote calls, so both paths run identical code. The endpoint's
// error comes back as it was made, kind included. ctx travels on the
// request (structs.RequestContext): a caller that gives up (an HTTP client
// that hung up) ends its blocking query and its forwarding at once.
func (s *Server) RPC(ctx context.Context, method string, args, reply any) error {
	if rc, ok := args.(structs.RequestContext); ok {
		rc.SetContext(ctx)
	}
	return s.endpoints.call(method, args, reply)
}

// forward sends the request where it must be served: another datacenter, or
// the leader. It returns true when it handled the request.
func (s *Server) forward(method string, info structs.RPCInfo, args, reply any) (bool, error) {
	ctx := info.Context()
	if dc := info.RequestDatacenter(); dc != "" && dc != s.config.Datacenter {
		return true, s.forwardDC(ctx, dc, method, args, reply)
	}
	if info.IsRead() && info.AllowStaleRead() {
		return false, nil
	}
	if s.followerRead(args) {
		return false, nil
	}
	return s.forwardLeader(ctx, method, info, args, reply)
}

// authorize resolves the request's token; endpoints then ask the returned
// Authorizer about the resources they touch.
func (s *Server) authorize(info structs.RPCInfo) (acl.Authorizer, error) {
	return s.config.ACLResolver.ResolveToken(info.TokenSecret())
}

// raftApply commits one command and returns what the FSM returned. The
// reply is sent only after raft has stored the entry on a quorum's disks
// and applied it here.
func (s *Server) raftApply(t structs.MessageType, msg any) (any, error) {
	buf, err := structs.Encode(t, msg)
	if err != nil {
		return nil, err
	}
	f := s.raft.Apply(buf, 30*time.Second)
	if ackBeforeCommit && t == structs.KVSRequestType {
		return true, nil // only in -tags jepsen_broken builds; see ackearly.go
	}
	// raft never answers a future still queued in its apply channel when it
	// shuts down (hashicorp/raft#498, open): waiting on f.Error() alone hung
	// Shutdown, whose wg.Wait waits for leader goroutines stuck here. Stop
	// waiting once the server stops. Only in that case does the waiter
	// below stay blocked, until the process exits.
	errCh := make(chan error, 1)
	go func() { errCh <- f.Error() }()
	select {
	case err = <-errCh:
	case <-s.shutdownCh:
		return nil, structs.ErrNoLeader
	}
	if err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return nil, structs.ErrNoLeader
		}
		return nil, err
	}
	if err, ok := f.Response().(error); ok {
		return nil, err
	}
	return f.Response(), nil
}

// queryFn runs a read against one store; it fills the reply and its index.
type queryFn func(ws memdb.WatchSet, st *state.Store) error

// blockingQuery is the one helper every read runs through. Without a
// MinQueryIndex it runs fn once. With one, it re-runs fn each time a watched
// channel fires until the index passes MinQueryIndex or the wait runs out.
// When ctx ends first (the client hung up) it returns ctx's error at once.
func (s *Server) blockingQuery(ctx context.Context, q *structs.QueryOptions, m *structs.QueryMeta, fn queryFn) error {
	if err := s.readReady(q); err != nil {
		return err
	}
	caller := ctx
	if q.MinQueryIndex > 0 {
		wait := q.MaxQueryTime
		if wait <= 0 {
			wait = structs.DefaultQueryTime
		}
		if wait > structs.MaxQueryTime {
			wait = structs.MaxQueryTime
		}
		// Jitter spreads out the herd of clients whose waits started together.
		wait += rand.N(wait/16 + 1)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	for {
		st := s.fsm.State()
		ws := memdb.NewWatchSet()
		ws.Add(st.AbandonCh())
		// A shutting-down server must not keep blocked readers for the
		// rest of their wait: they get what there is now.
		ws.Add(s.shutdownCh)
		err := fn(ws, st)
		s.setQueryMeta(m)
		if m.Index == 0 {
			// Index 0 would make a client's next query non-blocking and
			// spin; 1 is below every real index.
			m.Index = 1
		}
		if err != nil || q.MinQueryIndex == 0 || m.Index > q.MinQueryIndex {
			return err
		}
		if ws.WatchCtx(ctx) != nil {
			if err := caller.Err(); err != nil {
				return err
			}
			// Timed out: return what we have, as Consul does.
			return nil
		}
		select {
		case <-s.shutdownCh:
			return nil
		default:
		}
	}
}

// readReady checks the consistency mode before a read: stale reads go
// anywhere; default reads need a leader that has caught up; consistent reads
// also confirm leadership with a quorum.
func (s *Server) readReady(q *structs.QueryOptions) error {
	if q.AllowStale || q.ReadIndexed() {
		return nil
	}
	if q.RequireConsistent {
		if err := s.raft.VerifyLeader().Error(); err != nil {
			return structs.ErrNoLeader
		}
	}
	if !s.readyForReads.Load() {
		return structs.ErrNotReadyForReads
	}
	return nil
}

func (s *Server) setQueryMeta(m *structs.QueryMeta) {
	if s.IsLeader() {
		m.LastContact = 0
		m.KnownLeader = true
		return
	}
	m.LastContact = s.LastContact()
	m.KnownLeader = s.Leader() != ""
}
