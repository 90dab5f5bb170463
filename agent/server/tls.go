package server

import (
	"context"
	"crypto/tls"
	"io"
	"net"

	"conclave/agent/pool"
)

// TLS is what the server port needs of the agent's TLS settings
// (agent/tlsutil's Configurator satisfies it). Its methods are called
// concurrently, for every connection, so a reload shows on the next one.
type TLS interface {
	// IncomingRPC is the configuration of an incoming TLS connection, or
	// nil when this server has no certificate.
	IncomingRPC() *tls.Config
	// VerifyIncomingRPC refuses plaintext connections and TLS ones
	// without a client certificate from the CA.
	VerifyIncomingRPC() bool
	// OutgoingRPC makes this server speak TLS to other servers.
	OutgoingRPC() bool
	// WrapRPC is the client side of the handshake with a server of dc.
	WrapRPC(ctx context.Context, conn net.Conn, dc string) (net.Conn, error)
}

// setupTLS makes the connections this server opens (RPC and raft) TLS
// ones when verify_outgoing asks for it. The choice is made at start;
// certificates and CAs are read again on reload.
func (s *Server) setupTLS() {
	t := s.config.TLS
	if t == nil || !t.OutgoingRPC() {
		return
	}
	s.pool.TLS = func(ctx context.Context, addr string, conn net.Conn) (net.Conn, error) {
		return t.WrapRPC(ctx, conn, s.datacenterOf(addr))
	}
	// Raft peers are servers of this datacenter, and raft dials before
	// gossip (and its router) exists.
	s.raftTLS = func(ctx context.Context, _ string, conn net.Conn) (net.Conn, error) {
		return t.WrapRPC(ctx, conn, s.config.Datacenter)
	}
}

// datacenterOf names the datacenter of the server at addr, as gossip
// tells it, so a call across datacenters checks the name the other
// datacenter's servers carry; an address gossip does not know is taken
// for one of this datacenter (raft peers before gossip has seen them).
func (s *Server) datacenterOf(addr string) string {
	r := s.cluster.router
	if r == nil {
		return s.config.Datacenter
	}
	for _, dc := range r.Datacenters() {
		for _, srv := range r.Servers(dc) {
			if srv.Addr.String() == addr {
				return dc
			}
		}
	}
	return s.config.Datacenter
}

// connType reads what a connection to the server port is: its first byte,
// and for RPCTLS the handshake and the byte inside TLS. It refuses
// plaintext when verify_incoming is on, and TLS when this server has no
// certificate, with a log line naming the peer either way.
func (s *Server) connType(conn net.Conn) (net.Conn, pool.RPCType, bool) {
	kind, err := readType(conn)
	if err != nil {
		return conn, 0, false
	}
	t := s.config.TLS
	if kind != pool.RPCTLS {
		if t != nil && t.VerifyIncomingRPC() {
			s.logger.Warn("refused a plaintext connection: verify_incoming is set", "from", conn.RemoteAddr())
			return conn, 0, false
		}
		return conn, kind, true
	}
	var cfg *tls.Config
	if t != nil {
		cfg = t.IncomingRPC()
	}
	if cfg == nil {
		s.logger.Warn("refused a TLS connection: this server has no certificate", "from", conn.RemoteAddr())
		return conn, 0, false
	}
	tconn := tls.Server(conn, cfg)
	if err := tconn.Handshake(); err != nil {
		s.logger.Warn("TLS handshake failed", "from", conn.RemoteAddr(), "error", err)
		return conn, 0, false
	}
	kind, err = readType(tconn)
	if err != nil {
		return tconn, 0, false
	}
	return tconn, kind, true
}

func readType(conn net.Conn) (pool.RPCType, error) {
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		return 0, err
	}
	return pool.RPCType(b[0]), nil
}
