package server

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"conclave/agent/pool"
)

// listen accepts connections on the server port and routes each by its first
// byte: raft connections go to the raft layer, RPC connections are served
// here (endpoints.serve).
func (s *Server) listen(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			select {
			case <-s.shutdownCh:
				return
			default:
			}
			s.logger.Error("failed to accept connection", "error", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		go s.handleConn(conn)
	}
}

func (s *Server) handleConn(conn net.Conn) {
	// A peer that connects and says nothing (or never finishes its TLS
	// handshake) must not hold a goroutine forever.
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	conn, kind, ok := s.connType(conn)
	if !ok {
		conn.Close()
		return
	}
	_ = conn.SetDeadline(time.Time{})
	switch kind {
	case pool.RPCRaft:
		s.raftLayer.handoff(conn)
	case pool.RPCNetRPC:
		s.serveConn(conn)
	case pool.RPCSnapshot:
		s.serveSnapshotConn(conn)
	default:
		s.logger.Warn("unknown connection type", "byte", byte(kind), "from", conn.RemoteAddr())
		conn.Close()
	}
}

func (s *Server) serveConn(conn net.Conn) {
	if !s.rpcConns.add(conn) {
		conn.Close()
		return
	}
	defer s.rpcConns.remove(conn)
	s.endpoints.serve(conn)
}

// raftLayer is raft's StreamLayer over the shared server port.
type raftLayer struct {
	addr   net.Addr
	connCh chan net.Conn
	// tls, when set, makes the connections raft opens TLS ones.
	tls pool.TLSWrapper

	closeOnce sync.Once
	closed    chan struct{}
}

var _ raft.StreamLayer = (*raftLayer)(nil)

func newRaftLayer(addr net.Addr, tls pool.TLSWrapper) *raftLayer {
	return &raftLayer{addr: addr, tls: tls, connCh: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *raftLayer) handoff(c net.Conn) {
	select {
	case l.connCh <- c:
	case <-l.closed:
		c.Close()
	}
}

func (l *raftLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.connCh:
		return c, nil
	case <-l.closed:
		return nil, errors.New("raft layer closed")
	}
}

func (l *raftLayer) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *raftLayer) Addr() net.Addr { return l.addr }

func (l *raftLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return pool.Dial(string(addr), pool.RPCRaft, timeout, l.tls)
}

// hclogWriter lets raft's network transport log through hclog.
func hclogWriter(l hclog.Logger) io.Writer {
	return l.StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true})
}

// connSet tracks open connections so shutdown can close them.
type connSet struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// add reports false once closeAll has run.
func (c *connSet) add(conn net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	if c.conns == nil {
		c.conns = map[net.Conn]struct{}{}
	}
	c.conns[conn] = struct{}{}
	return true
}

func (c *connSet) remove(conn net.Conn) {
	c.mu.Lock()
	delete(c.conns, conn)
	c.mu.Unlock()
}

func (c *connSet) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}
