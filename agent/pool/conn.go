package pool

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"sync"

	msgpackrpc "github.com/hashicorp/net-rpc-msgpackrpc/v2"

	"conclave/agent/structs"
)

// conn is the client side of one RPCNetRPC connection. Calls are
// pipelined: each request carries a sequence number, the server answers in
// any order, and one reader goroutine hands each answer to its caller. It
// does what net/rpc's Client does, and also reads the kind of an error
// response (codec.go), so it is decoded once, here.
type conn struct {
	nc    net.Conn
	codec *msgpackrpc.MsgpackCodec

	mu      sync.Mutex
	seq     uint64
	pending map[uint64]*call
	// err is why the connection is finished; every later call fails with it.
	err error
}

// call is one request waiting for its answer. done receives exactly one
// value, after which the reply has been filled (on nil) or is untouched.
type call struct {
	reply any
	done  chan error
}

func newConn(nc net.Conn) *conn {
	c := &conn{
		nc:      nc,
		codec:   msgpackrpc.NewCodecFromHandle(true, true, nc, structs.MsgpackHandle),
		pending: map[uint64]*call{},
	}
	go c.read()
	return c
}

// send writes one request. The answer arrives on the returned channel;
// seq names the call for abandon.
func (c *conn) send(method string, args, reply any) (seq uint64, done <-chan error, err error) {
	cl := &call{reply: reply, done: make(chan error, 1)}
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return 0, nil, err
	}
	c.seq++
	seq = c.seq
	c.pending[seq] = cl
	c.mu.Unlock()
	if err := c.codec.WriteRequest(&rpc.Request{ServiceMethod: method, Seq: seq}, args); err != nil {
		if c.take(seq) == nil {
			// The reader failed the call first; take its answer so
			// nothing is left behind.
			<-cl.done
		}
		return 0, nil, err
	}
	return seq, cl.done, nil
}

// abandon forgets a call whose caller stopped waiting: its answer, when
// it comes, is skipped. It reports false when the answer is already being
// read into the reply; the caller must then wait for done.
func (c *conn) abandon(seq uint64) bool {
	return c.take(seq) != nil
}

func (c *conn) take(seq uint64) *call {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.pending[seq]
	delete(c.pending, seq)
	return cl
}

// read hands each answer to its call until the connection fails, then
// fails every call still waiting.
func (c *conn) read() {
	var err error
	for err == nil {
		var resp rpc.Response
		if err = c.codec.ReadResponseHeader(&resp); err != nil {
			break
		}
		cl := c.take(resp.Seq)
		switch {
		case resp.Error != "":
			var body errorBody
			err = c.codec.ReadResponseBody(&body)
			if cl != nil {
				cl.done <- structs.RemoteError(body.Kind, resp.Error)
			}
		case cl == nil:
			err = c.codec.ReadResponseBody(nil)
		default:
			if err = c.codec.ReadResponseBody(cl.reply); err != nil {
				err = fmt.Errorf("reading reply: %w", err)
			}
			cl.done <- err
		}
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = err
	for seq, cl := range c.pending {
		cl.done <- err
		delete(c.pending, seq)
	}
}

// close ends the connection; the reader then fails every waiting call.
// The codec's Close is not used: it races with the reader.
func (c *conn) close() { c.nc.Close() }
