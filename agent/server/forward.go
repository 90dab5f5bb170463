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

// route says where an endpoint's requests are served. An endpoint is
// routeDefault unless its receiver's routes method names it.
type route int

const (
	// routeDefault: a server of another datacenter when the request
	// names one (?dc); else this server for a ?stale read, or for a
	// default read a follower may serve after a read-index check
	// (readindex.go); else the leader.
	routeDefault route = iota
	// routeLeader: another datacenter when asked, else the leader,
	// whatever the consistency mode asks: for what only the leader knows.
	routeLeader
	// routeDC: another datacenter when asked, else this server, which
	// answers with what it sees itself.
	routeDC
	// routeLocal: this server, always. For calls between servers about
	// the answering server itself (a read index, raft stats), where
	// forwarding would defeat the question.
	routeLocal
)

// route sends a request where r says it must be served, unless that is
// here, and reports whether it did; reply then holds the answer of the
// server that served it. The method table calls it before an endpoint
// runs (endpoints.prepare).
func (s *Server) route(r route, method string, info structs.RPCInfo, args, reply any) (bool, error) {
	if r == routeLocal {
		return false, nil
	}
	ctx := info.Context()
	if dc := info.RequestDatacenter(); dc != "" && dc != s.config.Datacenter {
		return true, s.forwardDC(ctx, dc, method, args, reply)
	}
	switch r {
	case routeDC:
		return false, nil
	case routeDefault:
		if info.IsRead() && info.AllowStaleRead() {
			return false, nil
		}
		if s.followerRead(args) {
			return false, nil
		}
	}
	return s.forwardLeader(ctx, method, info, args, reply)
}

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
