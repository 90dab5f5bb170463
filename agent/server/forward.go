package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"conclave/agent/router"
	"conclave/agent/structs"
)

// forwardDC sends a request to a server of another datacenter, found
// through the WAN pool. A datacenter no server of which is known gets
// "No path to datacenter".
func (s *Server) forwardDC(ctx context.Context, dc, method string, args, reply any) error {
	if s.cluster.router == nil {
		return fmt.Errorf("%w %q", structs.ErrUnknownDatacenter, dc)
	}
	return s.cluster.router.RPC(ctx, dc, method, args, reply)
}

// forwardLeader hands the request to the leader, unless this server is
// it. An election in progress is normal for a moment: it waits up to
// RPCHoldTimeout for a leader rather than failing at once, but never hangs:
// with no leader the request fails with "No cluster leader", and a call to
// a leader that stopped answering is cut off after CallTimeout (plus the
// wait of a blocking query).
//
// A failed call is tried again (against whoever leads by then) only when
// that is safe: the request never reached the leader (dial failed), or it
// is a read. A write whose fate is unknown is reported, not repeated.
func (s *Server) forwardLeader(ctx context.Context, method string, info structs.RPCInfo, args, reply any) (bool, error) {
	deadline := time.Now().Add(s.config.RPCHoldTimeout)
	timeout := s.config.Cluster.CallTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if b, ok := args.(interface{ BlockingWait() time.Duration }); ok {
		timeout += b.BlockingWait()
	}
	for {
		if s.IsLeader() {
			return false, nil
		}
		leader := s.Leader()
		if leader != "" {
			err := s.pool.RPCTimeout(ctx, leader, method, args, reply, timeout)
			if err == nil || router.IsRemoteError(err) || ctx.Err() != nil {
				return true, err
			}
			var op *net.OpError
			dialFailed := errors.As(err, &op) && op.Op == "dial"
			if !dialFailed && !info.IsRead() {
				return true, err
			}
			s.logger.Debug("forwarding to the leader failed, retrying", "leader", leader, "method", method, "error", err)
			if time.Now().After(deadline) {
				return true, structs.ErrNoLeader
			}
		} else if time.Now().After(deadline) {
			return true, structs.ErrNoLeader
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-s.shutdownCh:
			return true, structs.ErrNoLeader
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
}
