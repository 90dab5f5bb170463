package router

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/rpc"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/serf/serf"

	"conclave/agent/structs"
)

// CallFunc sends one RPC to the server at addr and waits at most timeout
// for the whole call (zero: no bound), or until ctx ends. An error the remote endpoint
// returned must be an rpc.ServerError, so the router can tell it from a
// transport failure. It is called concurrently.
type CallFunc func(ctx context.Context, addr, method string, args, reply any, timeout time.Duration) error

// Config tunes a Router. The zero value of every duration picks its
// default.
type Config struct {
	// Datacenter is the local datacenter.
	Datacenter string
	// Call is the transport (normally the connection pool). Required for RPC.
	Call CallFunc
	// HoldTimeout bounds how long RPC keeps trying other servers, and how
	// long it waits for a first server of the local datacenter to be
	// known. Default 2s, like the servers' own wait for a leader.
	HoldTimeout time.Duration
	// CallTimeout bounds one call to one server, on top of the time a
	// blocking query may legitimately wait. Default 10s: long enough for a
	// raft commit under load, short enough that a call to a frozen server
	// (SIGSTOP, partition) fails while the cluster elects a new leader.
	CallTimeout time.Duration
	// Logger gets one line per failed call.
	Logger hclog.Logger
}

// Router tracks the servers of every known datacenter. It is safe for
// concurrent use.
type Router struct {
	cfg    Config
	logger hclog.Logger

	mu sync.RWMutex
	// dcs holds each datacenter's servers in this agent's preference
	// order: the first one gets the next call.
	dcs map[string][]*Server
}

// New returns an empty router.
func New(cfg Config) *Router {
	if cfg.HoldTimeout <= 0 {
		cfg.HoldTimeout = 2 * time.Second
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	return &Router{cfg: cfg, logger: cfg.Logger.Named("router"), dcs: map[string][]*Server{}}
}

// HandleMember updates the router from one member's gossip state: an alive
// server is added (or its address updated), any other state removes it.
// Members that are not servers are ignored.
func (r *Router) HandleMember(m serf.Member) {
	s, ok := IsServer(m)
	if !ok {
		return
	}
	if m.Status == serf.StatusAlive {
		r.Upsert(s)
	} else {
		r.Remove(s.Datacenter, s.Name)
	}
}

// Upsert adds a server, or replaces the entry of the same name in its
// datacenter (keeping its place). A new server goes to a random place, so
// every agent has its own order and load spreads.
func (r *Router) Upsert(s *Server) {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := r.dcs[s.Datacenter]
	for i, old := range list {
		if old.Name == s.Name {
			next := append([]*Server(nil), list...)
			next[i] = s
			r.dcs[s.Datacenter] = next
			return
		}
	}
	at := rand.IntN(len(list) + 1)
	next := make([]*Server, 0, len(list)+1)
	next = append(next, list[:at]...)
	next = append(next, s)
	next = append(next, list[at:]...)
	r.dcs[s.Datacenter] = next
}

// Remove forgets a server. A datacenter without servers is forgotten too.
func (r *Router) Remove(dc, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := r.dcs[dc]
	next := make([]*Server, 0, len(list))
	for _, s := range list {
		if s.Name != name {
			next = append(next, s)
		}
	}
	if len(next) == 0 {
		delete(r.dcs, dc)
		return
	}
	r.dcs[dc] = next
}

// RemoveDatacenter forgets every server of dc.
func (r *Router) RemoveDatacenter(dc string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.dcs, dc)
}

// FindServer returns the preferred server of dc.
func (r *Router) FindServer(dc string) (*Server, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	list := r.dcs[dc]
	if len(list) == 0 {
		if dc == r.cfg.Datacenter {
			return nil, structs.ErrNoServers
		}
		// Consul's text, which clients look for, naming the datacenter.
		return nil, fmt.Errorf("%w %q", structs.ErrUnknownDatacenter, dc)
	}
	return list[0], nil
}

// NotifyFailed moves s to the back of its datacenter's list, so the next
// call tries another server.
func (r *Router) NotifyFailed(s *Server) {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := r.dcs[s.Datacenter]
	if len(list) < 2 || list[0].Name != s.Name {
		return
	}
	next := make([]*Server, 0, len(list))
	next = append(next, list[1:]...)
	next = append(next, list[0])
	r.dcs[s.Datacenter] = next
}

// Servers returns a copy of dc's servers in preference order.
func (r *Router) Servers(dc string) []*Server {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return append([]*Server(nil), r.dcs[dc]...)
}

// Datacenters lists every datacenter with a known server: the local one
// first (also when it has none yet), then the others by name.
func (r *Router) Datacenters() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := []string{r.cfg.Datacenter}
	others := make([]string, 0, len(r.dcs))
	for dc := range r.dcs {
		if dc != r.cfg.Datacenter {
			others = append(others, dc)
		}
	}
	sort.Strings(others)
	return append(out, others...)
}

// RPC sends a request to a server of dc. A server that cannot be reached
// moves to the back and the next one is tried, until HoldTimeout has
// passed. A transport failure after the request went out is retried only
// for reads: a write may have been applied, and repeating it is not ours to
// decide. An error from the endpoint itself is returned as is.
//
// ctx ends the wait for a server and the call (see pool.RPCTimeout).
func (r *Router) RPC(ctx context.Context, dc, method string, args, reply any) error {
	if r.cfg.Call == nil {
		return errors.New("router has no transport")
	}
	deadline := time.Now().Add(r.cfg.HoldTimeout)
	timeout := r.cfg.CallTimeout
	if b, ok := args.(interface{ BlockingWait() time.Duration }); ok {
		timeout += b.BlockingWait()
	}
	var lastErr error
	for {
		s, err := r.FindServer(dc)
		if err != nil {
			// Another datacenter that is not known fails at once. The local
			// one may just not have been learned yet (a client agent that
			// is still joining): wait a little.
			if dc != r.cfg.Datacenter || time.Now().After(deadline) {
				if lastErr != nil {
					return lastErr
				}
				return err
			}
			if err := sleepCtx(ctx, r.cfg.HoldTimeout/32); err != nil {
				return err
			}
			continue
		}
		err = r.cfg.Call(ctx, s.Addr.String(), method, args, reply, timeout)
		if err == nil {
			return nil
		}
		if IsRemoteError(err) || ctx.Err() != nil {
			return err
		}
		r.logger.Warn("RPC to server failed", "server", s.String(), "method", method, "error", err)
		r.NotifyFailed(s)
		lastErr = err
		if !canRetry(args, err) || time.Now().After(deadline) {
			return err
		}
		// Give a failed server's peers a moment (an election, a restart)
		// before going round again.
		if err := sleepCtx(ctx, r.cfg.HoldTimeout/32); err != nil {
			return err
		}
	}
}

// sleepCtx waits d, or less when ctx ends first (then it returns ctx's error).
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// IsRemoteError tells whether err came from the endpoint (and crossed the
// wire as a message) rather than from the transport.
func IsRemoteError(err error) bool {
	var se rpc.ServerError
	return errors.As(err, &se)
}

// canRetry tells whether a failed call may safely go to another server:
// always when the request never left (the dial failed), and for reads
// whatever happened, since reading twice is harmless.
func canRetry(args any, err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	if info, ok := args.(structs.RPCInfo); ok && info.IsRead() {
		return true
	}
	return false
}
