package pool

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

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
	// RPCTLS: a TLS handshake follows, then, inside TLS, one of the
	// bytes above (Consul's RPCTLS byte).
	RPCTLS RPCType = 0x04
	// RPCSnapshot: one snapshot stream follows (snapshot.go), as after
	// Consul's byte of the same value.
	RPCSnapshot RPCType = 0x05
)

// TLSWrapper runs the client side of a TLS handshake on a connection to
// the server at addr, after the RPCTLS byte. It must honour ctx.
type TLSWrapper func(ctx context.Context, addr string, conn net.Conn) (net.Conn, error)

// Dial opens a connection of kind to the server port at addr: TCP
// keep-alives on, and, when wrap is set, TLS (RPCTLS, the handshake,
// then kind inside it); without wrap, plaintext after kind.
func Dial(addr string, kind RPCType, timeout time.Duration, wrap TLSWrapper) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		// A server that vanishes without a FIN (power loss, partition)
		// is noticed by the keep-alives even when no call is waiting.
		_ = tcp.SetKeepAlivePeriod(10 * time.Second)
	}
	if wrap != nil {
		if _, err := conn.Write([]byte{byte(RPCTLS)}); err != nil {
			conn.Close()
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		tconn, err := wrap(ctx, addr, conn)
		if err != nil {
			conn.Close()
			return nil, err
		}
		conn = tconn
	}
	if _, err := conn.Write([]byte{byte(kind)}); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// ConnPool keeps a few long-lived connections per server address, each a
// TCP connection of its own. Calls are pipelined on a connection (the
// server answers each in its own goroutine), so a forwarded request costs
// one message each way, with no stream multiplexer between the codec and
// the socket to add a goroutine hop and a second write per message; and a
// blocking query holds up nobody. It is safe for concurrent use.
type ConnPool struct {
	// Timeout bounds dialing a server (and its TLS handshake).
	Timeout time.Duration
	// TLS, when set, makes every new connection a TLS one (verify_outgoing);
	// set it before the first call.
	TLS TLSWrapper

	mu      sync.Mutex
	clients map[string]*clientSet
	closed  bool
}

// clientsPerServer spreads calls over a few connections so one large reply
// does not delay every other call to that server.
const clientsPerServer = 4

type clientSet struct {
	conns []*conn
	next  atomic.Uint32
}

// close ends the set by closing its connections, which fails their
// pending calls.
func (cs *clientSet) close() {
	for _, c := range cs.conns {
		c.close()
	}
}

func (cs *clientSet) pick() *conn {
	return cs.conns[cs.next.Add(1)%uint32(len(cs.conns))]
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
// An error the endpoint returned comes back as it was made there: its
// kind and text (structs.RemoteError, for which structs.IsRemote is true);
// any other error is the transport's.
//
// When ctx ends first the call returns ctx's error at once and the
// connections stay: other calls share them, and the caller that left is
// no sign of a dead server. Its answer, when it comes, is skipped; the
// remote server runs the request to its end (there is no cancel message).
// Nothing writes into reply after RPCTimeout returns.
func (p *ConnPool) RPCTimeout(ctx context.Context, addr, method string, args, reply any, timeout time.Duration) error {
	cs, err := p.clientsFor(addr)
	if err != nil {
		return fmt.Errorf("rpc %s to %s: %w", method, addr, err)
	}
	c := cs.pick()
	seq, done, err := c.send(method, args, reply)
	if err != nil {
		p.drop(addr)
		return fmt.Errorf("rpc %s to %s: %w", method, addr, err)
	}
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	select {
	case err = <-done:
	case <-ctx.Done():
		if !c.abandon(seq) {
			<-done // the reply is being read into reply right now
		}
		return ctx.Err()
	case <-expired:
		// Closing the connections ends the call; wait for it so nothing
		// writes into reply after we return.
		p.drop(addr)
		<-done
		return fmt.Errorf("rpc %s to %s: no answer within %v", method, addr, timeout)
	}
	if err != nil {
		if structs.IsRemote(err) {
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
		nc, err := p.dial(addr)
		if err != nil {
			cs.close()
			return nil, err
		}
		cs.conns = append(cs.conns, newConn(nc))
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

func (p *ConnPool) dial(addr string) (net.Conn, error) { return p.dialType(addr, RPCNetRPC) }

// dialType opens a connection of its own to addr and says what follows.
func (p *ConnPool) dialType(addr string, t RPCType) (net.Conn, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("pool is shut down")
	}
	return Dial(addr, t, p.Timeout, p.TLS)
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
