package server

import (
	"context"
	"errors"
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
