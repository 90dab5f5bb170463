package pool

import (
	"fmt"
	"io"
	"net"
	"net/rpc"
	"sync"
	"time"

	msgpackrpc "github.com/hashicorp/net-rpc-msgpackrpc/v2"
	"github.com/hashicorp/yamux"

	"conclave/agent/structs"
)

// RPCType is the first byte of a connection to the server port.
type RPCType byte

const (
	// RPCMultiplex: a yamux session of net/rpc streams follows.
	RPCMultiplex RPCType = 0x02
	// RPCRaft: the raft transport follows.
	RPCRaft RPCType = 0x03
)

// YamuxConfig is shared by both ends so their keep-alives agree.
func YamuxConfig() *yamux.Config {
	c := yamux.DefaultConfig()
	c.LogOutput = io.Discard
	c.EnableKeepAlive = true
	c.KeepAliveInterval = 10 * time.Second
	return c
}

// NewServerCodec wraps a stream for the server side of net/rpc.
func NewServerCodec(conn io.ReadWriteCloser) rpc.ServerCodec {
	return msgpackrpc.NewCodecFromHandle(true, true, conn, structs.MsgpackHandle)
}

// ConnPool keeps one yamux session per server address and opens a stream
// per call, so calls to one server share a TCP connection without blocking
// each other. It is safe for concurrent use.
type ConnPool struct {
	// Timeout bounds dialing a server.
	Timeout time.Duration

	mu       sync.Mutex
	sessions map[string]*yamux.Session
	closed   bool
}

// New returns an empty pool.
func New() *ConnPool {
	return &ConnPool{Timeout: 10 * time.Second, sessions: map[string]*yamux.Session{}}
}

// RPC calls method on the server at addr.
func (p *ConnPool) RPC(addr, method string, args, reply any) error {
	stream, err := p.stream(addr)
	if err != nil {
		return fmt.Errorf("rpc %s to %s: %w", method, addr, err)
	}
	codec := msgpackrpc.NewCodecFromHandle(true, true, stream, structs.MsgpackHandle)
	defer codec.Close()
	if err := msgpackrpc.CallWithCodec(codec, method, args, reply); err != nil {
		// A broken session must not poison later calls.
		if _, ok := err.(rpc.ServerError); !ok {
			p.drop(addr)
		}
		return err
	}
	return nil
}

func (p *ConnPool) stream(addr string) (net.Conn, error) {
	p.mu.Lock()
	sess := p.sessions[addr]
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("pool is shut down")
	}
	if sess != nil && !sess.IsClosed() {
		if s, err := sess.Open(); err == nil {
			return s, nil
		}
		p.drop(addr)
	}
	conn, err := net.DialTimeout("tcp", addr, p.Timeout)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write([]byte{byte(RPCMultiplex)}); err != nil {
		conn.Close()
		return nil, err
	}
	sess, err = yamux.Client(conn, YamuxConfig())
	if err != nil {
		conn.Close()
		return nil, err
	}
	p.mu.Lock()
	if old := p.sessions[addr]; old != nil {
		old.Close()
	}
	p.sessions[addr] = sess
	p.mu.Unlock()
	return sess.Open()
}

func (p *ConnPool) drop(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.sessions[addr]; s != nil {
		s.Close()
		delete(p.sessions, addr)
	}
}

// Shutdown closes every session.
func (p *ConnPool) Shutdown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for a, s := range p.sessions {
		s.Close()
		delete(p.sessions, a)
	}
}
