package server

import (
	"context"
	"errors"
	"net/rpc"
	"reflect"
	"time"

	"conclave/agent/acl"
	"github.com/hashicorp/raft"

	"conclave/agent/structs"
)

// RPC calls an endpoint in-process, through the same net/rpc dispatch that
// serves remote calls, so both paths run identical code. ctx travels on the
// request (structs.RequestContext): a caller that gives up (an HTTP client
// that hung up) ends its blocking query and its forwarding at once.
func (s *Server) RPC(ctx context.Context, method string, args, reply any) error {
	if rc, ok := args.(structs.RequestContext); ok {
		rc.SetContext(ctx)
	}
	codec := &inmemCodec{method: method, args: args, reply: reply}
	if err := s.rpcServer.ServeRequest(codec); err != nil {
		return err
	}
	return codec.err
}

// inmemCodec hands args and reply across without encoding them.
type inmemCodec struct {
	method string
	args   any
	reply  any
	err    error
}

func (c *inmemCodec) ReadRequestHeader(req *rpc.Request) error {
	req.ServiceMethod = c.method
	return nil
}

func (c *inmemCodec) ReadRequestBody(args any) error {
	if args == nil {
		return nil
	}
	reflect.Indirect(reflect.ValueOf(args)).Set(reflect.Indirect(reflect.ValueOf(c.args)))
	return nil
}

func (c *inmemCodec) WriteResponse(resp *rpc.Response, reply any) error {
	if resp.Error != "" {
		c.err = errors.New(resp.Error)
		return nil
	}
	reflect.Indirect(reflect.ValueOf(c.reply)).Set(reflect.Indirect(reflect.ValueOf(reply)))
	return nil
}

func (c *inmemCodec) Close() error { return nil }

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
