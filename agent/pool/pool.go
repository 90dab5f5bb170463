package pool

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"sync"
	"sync/atomic"
	"time"

	msgpackrpc "github.com/hashicorp/net-rpc-msgpackrpc/v2"

	"conclave/agent/structs"
)

// RPCType is the first byte of a connection to the server port.
type RPCType byte

const (
	// RPCNetRPC: one net/rpc conversation in msgpack follows, as after
	// Consul's RPCConsul byte. The client pipelines calls on it.
	RPCNetRPC RPCType = 0x00
	// RPCRaft: the raft transport follows.
	RPCRaft RPCType = 0x03
)

// NewServerCodec wraps a connection for the server side of net/rpc.
func NewServerCodec(conn io.ReadWriteCloser) rpc.ServerCodec {
	return msgpackrpc.NewCodecFromHandle(true, true, conn, structs.MsgpackHandle)
}

// ConnPool keeps a few long-lived net/rpc clients per server address, each
// on a TCP connection of its own. net/rpc pipelines calls on a connection
// (the server answers each in its own goroutine), so a forwarded request
// costs one message each way, with no stream multiplexer between the codec
// and the socket to add a goroutine hop and a second write per message;
// and a blocking query holds up nobody. It is safe for concurrent use.
type ConnPool struct {
	// Timeout bounds dialing a server.
	Timeout time.Duration

	mu      sync.Mutex
	clients map[string]*clientSet
	closed  bool
}

// clientsPerServer spreads calls over a few connections so one large reply
// does not delay every other call to that server.
const clientsPerServer = 4

type clientSet struct {
	clients []*rpc.Client
	conns   []net.Conn
	next    atomic.Uint32
}

// close ends the set by closing its connections. Client.Close is not used:
// the msgpack codec's Close races with the client's reader goroutine; a
// closed connection ends that goroutine and fails pending calls cleanly
// instead.
func (cs *clientSet) close() {
	for _, c := range cs.conns {
		c.Close()
	}
}

func (cs *clientSet) pick() *rpc.Client {
	return cs.clients[cs.next.Add(1)%uint32(len(cs.clients))]
}

// New returns an empty pool.
func New() *ConnPool {
	return &ConnPool{Timeout: 10 * time.Second, clients: map[string]*clientSet{}}
}

// RPC calls method on the server at addr.
func (p *ConnPool) RPC(ctx context.Context, addr, method string, args, reply any) error {
	return p.RPCTimeout(ctx, addr, method, args, reply, 0)
}

// RPCTimeout is RPC with a bound on the whole call: a server that accepted
// the connection but never answers (stopped, partitioned after the dial)
// costs at most timeout, not the minutes TCP keep-alives take to
// notice. Zero means no bound. A call that fails in transport or times out
// drops the server's connections: the server is presumed gone.
//
// When ctx ends first the call returns ctx's error at once and the
// connections stay: other calls share them, and the caller that left is
// no sign of a dead server. The reply, when it comes, lands in reply,
// which the caller has abandoned; the remote server runs the request to
// its end (net/rpc has no cancel message).
func (p *ConnPool) RPCTimeout(ctx context.Context, addr, method string, args, reply any, timeout time.Duration) error {
	cs, err := p.clientsFor(addr)
	if err != nil {
		return fmt.Errorf("rpc %s to %s: %w", method, addr, err)
	}
	call := cs.pick().Go(method, args, reply, make(chan *rpc.Call, 1))
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-call.Done:
	case <-ctx.Done():
		return ctx.Err()
	case <-expired:
		// Closing the connections ends the call; wait for it so nothing
		// writes into reply after we return.
		p.drop(addr)
		<-call.Done
		return fmt.Errorf("rpc %s to %s: no answer within %v", method, addr, timeout)
	}
	if err := call.Error; err != nil {
		if _, ok := err.(rpc.ServerError); ok {
			return err
		}
		p.drop(addr)
		return fmt.Errorf("rpc %s to %s: %w", method, addr, err)
	}
	return nil
}

func (p *ConnPool) clientsFor(addr string) (*clientSet, error) {
	p.mu.Lock()
	cs := p.clients[addr]
	p.mu.Unlock()
	if cs != nil {
		return cs, nil
	}
	cs = &clientSet{}
	for i := 0; i < clientsPerServer; i++ {
		conn, err := p.dial(addr)
		if err != nil {
			cs.close()
			return nil, err
		}
		cs.conns = append(cs.conns, conn)
		cs.clients = append(cs.clients, rpc.NewClientWithCodec(
			msgpackrpc.NewCodecFromHandle(true, true, conn, structs.MsgpackHandle)))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		cs.close()
		return nil, fmt.Errorf("pool is shut down")
	}
	if old := p.clients[addr]; old != nil {
		// Another caller won the race: use its set.
		cs.close()
		return old, nil
	}
	p.clients[addr] = cs
	return cs, nil
}

func (p *ConnPool) dial(addr string) (net.Conn, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("pool is shut down")
	}
	conn, err := net.DialTimeout("tcp", addr, p.Timeout)
	if err != nil {
		return nil, err
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		// A server that vanishes without a FIN (power loss, partition)
		// is noticed by the keep-alives even when no call is waiting.
		_ = tcp.SetKeepAlivePeriod(10 * time.Second)
	}
	if _, err := conn.Write([]byte{byte(RPCNetRPC)}); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func (p *ConnPool) drop(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropLocked(addr)
}

func (p *ConnPool) dropLocked(addr string) {
	if cs := p.clients[addr]; cs != nil {
		cs.close()
		delete(p.clients, addr)
	}
}

// Shutdown closes every connection.
func (p *ConnPool) Shutdown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for a := range p.clients {
		p.dropLocked(a)
	}
}
