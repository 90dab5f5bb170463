package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"conclave/agent/acl"
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

// authorize resolves the request's token for the method table, which hands
// the Authorizer to every endpoint that takes one.
func (s *Server) authorize(info structs.RPCInfo) (acl.Authorizer, error) {
	authz, err := s.config.ACLResolver.ResolveToken(info.TokenSecret())
	if err != nil || !s.config.ACL.Enabled {
		return authz, err
	}
	if _, all := authz.(acl.AllowAll); all {
		return authz, nil // a management token is refused nothing
	}
	return acl.Track(authz), nil
}

// raftApply commits one command and returns what the FSM returned. The
// reply is sent only after raft has stored the entry on a quorum's disks
// and applied it here.
func (s *Server) raftApply(t structs.MessageType, msg any) (any, error) {
	buf, err := structs.Encode(t, msg)
	if err != nil {
		return nil, err
	}
	return s.raftApplyBytes(buf)
}

// raftApplyBytes is raftApply of an encoded command (its first byte the
// message type).
func (s *Server) raftApplyBytes(buf []byte) (any, error) {
	t := structs.MessageType(buf[0])
	if !s.applies.enter() {
		return nil, structs.ErrNoLeader // shutting down
	}
	defer s.applies.leave()
	f := s.raft.Apply(buf, 30*time.Second)
	if ackBeforeCommit && t == structs.KVSRequestType {
		return true, nil // only in -tags jepsen_broken builds; see ackearly.go
	}
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrRaftShutdown) {
			return nil, structs.ErrNoLeader
		}
		return nil, err
	}
	if err, ok := f.Response().(error); ok {
		return nil, err
	}
	return f.Response(), nil
}

// applyDrainTimeout bounds how long Shutdown waits for commands under
// way: a leader that lost its quorum answers them within its lease.
const applyDrainTimeout = 5 * time.Second

// applyGate counts the commands between raft.Apply and their answer.
// raft never answers a future still queued in its apply channel when it
// shuts down (hashicorp/raft#498, open), so Shutdown closes the gate and
// lets those under way finish before it stops raft; every raft state
// drains that channel meanwhile, a follower or candidate answering "not
// leader". Each writer then waits on its future itself: the goroutine per
// command that used to wait beside a select on shutdownCh, and its
// channel, cost about 3 % of a server's CPU under PUT load.
type applyGate struct {
	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup
}

// enter admits a command unless the gate is closed.
func (g *applyGate) enter() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return false
	}
	g.wg.Add(1)
	return true
}

func (g *applyGate) leave() { g.wg.Done() }

// close refuses new commands and waits up to d for those under way. It
// reports whether they all finished; when raft itself is stuck they may
// not, and their callers stay blocked until the process exits.
func (g *applyGate) close(d time.Duration) bool {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	done := make(chan struct{})
	go func() {
		g.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
