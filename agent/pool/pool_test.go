package pool_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/rpc"
	"sync"
	"testing"

	msgpackrpc "github.com/hashicorp/net-rpc-msgpackrpc/v2"

	"conclave/agent/pool"
	"conclave/agent/structs"
)

// listen accepts connections on a loopback port, checks their first byte
// and hands each to serve; everything stops at the test's end.
func listen(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen() = %v", err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			var b [1]byte
			if _, err := io.ReadFull(c, b[:]); err != nil || pool.RPCType(b[0]) != pool.RPCNetRPC {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// answer serves one connection with ServerCodec: each request's body is a
// string; fn answers it. written, when set, is called once each answer is
// on the wire.
func answer(fn func(method, arg string) (string, error), written ...func(method string)) func(net.Conn) {
	return func(c net.Conn) {
		codec := pool.NewServerCodec(c)
		var wg sync.WaitGroup
		defer func() { wg.Wait(); codec.Close() }()
		for {
			req := new(rpc.Request)
			if err := codec.ReadRequestHeader(req); err != nil {
				return
			}
			var arg string
			if err := codec.ReadRequestBody(&arg); err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := fn(req.ServiceMethod, arg)
				_ = codec.WriteResponse(req, &out, err)
				for _, w := range written {
					w(req.ServiceMethod)
				}
			}()
		}
	}
}

func newPool(t *testing.T) *pool.ConnPool {
	p := pool.New()
	t.Cleanup(p.Shutdown)
	return p
}

// TestRPCErrorKind: the kind and text of an endpoint's error are decoded
// into a remote structs.Error; a reply arrives in full.
func TestRPCErrorKind(t *testing.T) {
	t.Parallel()
	addr := listen(t, answer(func(method, arg string) (string, error) {
		if method == "Fail" {
			return "", structs.Errorf(structs.KindPermissionDenied, "Permission denied: %s", arg)
		}
		return "hello " + arg, nil
	}))
	p := newPool(t)
	var out string
	err := p.RPC(context.Background(), addr, "Fail", "kv/secret", &out)
	if !errors.Is(err, structs.ErrPermissionDenied) || !structs.IsRemote(err) || err.Error() != "Permission denied: kv/secret" {
		t.Errorf("RPC(Fail) = %v (kind %v, remote %v), want remote permission denied", err, structs.ErrorKind(err), structs.IsRemote(err))
	}
	if out != "" {
		t.Errorf("RPC(Fail) filled the reply with %q, want it untouched", out)
	}
	if err := p.RPC(context.Background(), addr, "Echo", "you", &out); err != nil || out != "hello you" {
		t.Errorf("RPC(Echo) = %q, %v, want %q, nil", out, err, "hello you")
	}
}

// TestRPCTransportError: a server that hangs up fails the call with an
// error that is not remote, so the router may try another server.
func TestRPCTransportError(t *testing.T) {
	t.Parallel()
	addr := listen(t, func(c net.Conn) { c.Close() })
	var out string
	err := newPool(t).RPC(context.Background(), addr, "Echo", "x", &out)
	if err == nil || structs.IsRemote(err) {
		t.Errorf("RPC to a server that hangs up = %v (remote %v), want a transport error", err, structs.IsRemote(err))
	}
}

// TestRPCAbandoned: a caller whose context ends returns at once; the
// answer that comes later is skipped, never written into its reply, and
// the connection serves on.
func TestRPCAbandoned(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	answered := make(chan struct{})
	addr := listen(t, answer(func(method, arg string) (string, error) {
		if method == "Slow" {
			<-release
		}
		return "late " + arg, nil
	}, func(method string) {
		if method == "Slow" {
			close(answered)
		}
	}))
	p := newPool(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out string
	done := make(chan error, 1)
	go func() { done <- p.RPC(ctx, addr, "Slow", "x", &out) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RPC(Slow) after cancel = %v, want context.Canceled", err)
	}
	close(release)
	<-answered
	// Every connection answers after the skipped reply (calls go round
	// the pool's connections in turn), so the late answer has been read
	// by the time they have.
	for i := 0; i < 8; i++ {
		var got string
		if err := p.RPC(context.Background(), addr, "Echo", "y", &got); err != nil || got != "late y" {
			t.Fatalf("RPC(Echo) after an abandoned call = %q, %v, want %q, nil", got, err, "late y")
		}
	}
	if out != "" {
		t.Errorf("abandoned reply = %q, want it untouched", out)
	}
}

type plainService struct{}

func (plainService) Fail(arg string, reply *string) error { return errors.New("boom: " + arg) }

// TestRPCPlainNetRPCPeers: the wire stays net/rpc's. A plain net/rpc
// server's error (an empty body) reaches our client as a remote internal
// error, and a plain net/rpc client reads our error response as its
// rpc.ServerError.
func TestRPCPlainNetRPCPeers(t *testing.T) {
	t.Parallel()
	srv := rpc.NewServer()
	if err := srv.RegisterName("Plain", plainService{}); err != nil {
		t.Fatalf("RegisterName() = %v", err)
	}
	plainAddr := listen(t, func(c net.Conn) {
		srv.ServeCodec(msgpackrpc.NewCodecFromHandle(true, true, c, structs.MsgpackHandle))
	})
	var out string
	err := newPool(t).RPC(context.Background(), plainAddr, "Plain.Fail", "x", &out)
	if err == nil || err.Error() != "boom: x" || structs.ErrorKind(err) != structs.KindInternal || !structs.IsRemote(err) {
		t.Errorf("RPC(plain server) = %v (kind %v, remote %v), want remote internal %q", err, structs.ErrorKind(err), structs.IsRemote(err), "boom: x")
	}

	ourAddr := listen(t, answer(func(string, string) (string, error) {
		return "", structs.Errorf(structs.KindNotFound, "no such raft peer")
	}))
	conn, err := net.Dial("tcp", ourAddr)
	if err != nil {
		t.Fatalf("Dial() = %v", err)
	}
	if _, err := conn.Write([]byte{byte(pool.RPCNetRPC)}); err != nil {
		t.Fatalf("Write() = %v", err)
	}
	client := rpc.NewClientWithCodec(msgpackrpc.NewCodecFromHandle(true, true, conn, structs.MsgpackHandle))
	defer conn.Close()
	// Twice: the second answer shows the client skipped the first body
	// and stayed in step.
	for i := 0; i < 2; i++ {
		err = client.Call("Any", "x", &out)
		if se, ok := err.(rpc.ServerError); !ok || string(se) != "no such raft peer" {
			t.Errorf("plain client Call() #%d = %#v, want rpc.ServerError(%q)", i+1, err, "no such raft peer")
		}
	}
}
