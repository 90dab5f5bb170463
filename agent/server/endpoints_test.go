package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"conclave/agent/pool"
	"conclave/agent/structs"
)

// kindArgs asks testEndpoint.Answer to fail with the error of Kind, or to
// echo Text.
type kindArgs struct {
	Fail bool
	Kind structs.Kind
	Text string
}

type testEndpoint struct{}

// kindArgs carry no datacenter or token: Answer is served where it is
// asked.
func (testEndpoint) routes() map[string]route { return map[string]route{"Answer": routeLocal} }

// kindErrors holds one error value per kind, so an in-process caller can
// check it got that very value back.
var kindErrors = func() map[structs.Kind]error {
	m := map[structs.Kind]error{}
	for k := structs.KindInternal; k.Known(); k++ {
		m[k] = structs.Errorf(k, "failed with kind %v", k)
	}
	m[structs.KindInternal] = errors.New("a plain error")
	return m
}()

func (testEndpoint) Answer(args *kindArgs, reply *string) error {
	if args.Fail {
		return kindErrors[args.Kind]
	}
	*reply = "echo: " + args.Text
	return nil
}

func newTestEndpoints(t *testing.T) *endpoints {
	t.Helper()
	e, err := newEndpoints(&recordingGate{}, map[string]any{"Test": testEndpoint{}})
	if err != nil {
		t.Fatalf("newEndpoints() = %v", err)
	}
	return e
}

// serveTest serves e on a real TCP port through the server port's own
// accept loop (mux.go) and returns its address.
func serveTest(t *testing.T, e *endpoints) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen() = %v", err)
	}
	s := &Server{config: &Config{}, endpoints: e, logger: hclog.NewNullLogger(), shutdownCh: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.listen(ln)
	}()
	t.Cleanup(func() {
		close(s.shutdownCh)
		ln.Close()
		<-done
		s.rpcConns.closeAll()
	})
	return ln.Addr().String()
}

// TestEndpointErrorKinds: an endpoint's error reaches an in-process caller
// as the very value it returned, and a caller on another agent with its
// kind and text, marked remote; a reply crosses both ways.
func TestEndpointErrorKinds(t *testing.T) {
	t.Parallel()
	e := newTestEndpoints(t)
	addr := serveTest(t, e)
	p := pool.New()
	t.Cleanup(p.Shutdown)
	ctx := context.Background()

	for k := structs.KindInternal; k.Known(); k++ {
		want := kindErrors[k]
		args := &kindArgs{Fail: true, Kind: k}
		var reply string
		if err := e.call("Test.Answer", args, &reply); err != want || structs.IsRemote(err) {
			t.Errorf("in-process Test.Answer(%v) = %v, want the endpoint's own error %v", k, err, want)
		}
		err := p.RPC(ctx, addr, "Test.Answer", args, &reply)
		if err == nil || structs.ErrorKind(err) != k || err.Error() != want.Error() || !structs.IsRemote(err) {
			t.Errorf("remote Test.Answer(%v) = %v (kind %v, remote %v), want %q of kind %v, remote",
				k, err, structs.ErrorKind(err), structs.IsRemote(err), want, k)
		}
		if k != structs.KindInternal && !errors.Is(err, want) {
			t.Errorf("errors.Is(remote %v, %v) = false, want true", err, want)
		}
	}

	for name, call := range map[string]func(args *kindArgs, reply *string) error{
		"in-process": func(args *kindArgs, reply *string) error { return e.call("Test.Answer", args, reply) },
		"remote":     func(args *kindArgs, reply *string) error { return p.RPC(ctx, addr, "Test.Answer", args, reply) },
	} {
		var reply string
		if err := call(&kindArgs{Text: "hi"}, &reply); err != nil || reply != "echo: hi" {
			t.Errorf("%s Test.Answer(hi) = %q, %v, want %q, nil", name, reply, err, "echo: hi")
		}
	}
}

func TestEndpointUnknownMethod(t *testing.T) {
	t.Parallel()
	e := newTestEndpoints(t)
	addr := serveTest(t, e)
	p := pool.New()
	t.Cleanup(p.Shutdown)
	var reply string
	want := "rpc: can't find method Test.Nope"
	if err := e.call("Test.Nope", &kindArgs{}, &reply); err == nil || err.Error() != want {
		t.Errorf("in-process Test.Nope = %v, want %q", err, want)
	}
	err := p.RPC(context.Background(), addr, "Test.Nope", &kindArgs{}, &reply)
	if err == nil || err.Error() != want || !structs.IsRemote(err) {
		t.Errorf("remote Test.Nope = %v, want remote %q", err, want)
	}
	// Connections serve on after a refused call. The pool spreads calls
	// over a few connections in turn; enough calls reach every one.
	for i := 0; i < 8; i++ {
		_ = p.RPC(context.Background(), addr, "Test.Nope", &kindArgs{}, &reply)
		if err := p.RPC(context.Background(), addr, "Test.Answer", &kindArgs{Text: "x"}, &reply); err != nil || reply != "echo: x" {
			t.Errorf("Test.Answer after Test.Nope = %q, %v, want echo: x", reply, err)
		}
	}
	if err := e.call("Test.Answer", &struct{}{}, &reply); err == nil || !strings.Contains(err.Error(), "takes") {
		t.Errorf("in-process Test.Answer with the wrong argument type = %v, want an error naming the types", err)
	}
}

type badEndpoint struct{}

func (badEndpoint) routes() map[string]route                 { return map[string]route{"Fine": routeLocal} }
func (badEndpoint) Fine(args *kindArgs, reply *string) error { return nil }
func (badEndpoint) Helper(n int) string                      { return fmt.Sprint(n) }

// TestNewEndpointsRefusesOtherMethods: an exported method that is not an
// endpoint fails start-up rather than silently going unserved.
func TestNewEndpointsRefusesOtherMethods(t *testing.T) {
	t.Parallel()
	_, err := newEndpoints(&recordingGate{}, map[string]any{"Bad": badEndpoint{}})
	if err == nil || !strings.Contains(err.Error(), "Bad.Helper") {
		t.Errorf("newEndpoints(Bad) = %v, want an error naming Bad.Helper", err)
	}
}

// TestHotEndpointsCallDirect: the request paths directCall names bind as
// plain calls. A signature change there would silently fall back to
// reflect.Value.Call, which the write-path profile showed at 4 % of a
// server's CPU.
func TestHotEndpointsCallDirect(t *testing.T) {
	t.Parallel()
	s := &Server{}
	if err := s.registerEndpoints(); err != nil {
		t.Fatalf("registerEndpoints() = %v", err)
	}
	for _, name := range []string{"KVS.Apply", "KVS.Get", "KVS.List", "Txn.Apply", "Health.ServiceNodes", "Catalog.ServiceNodes"} {
		if m := s.endpoints.methods[name]; m == nil || m.direct == nil {
			t.Errorf("%s is not called directly", name)
		}
	}
	if m := s.endpoints.methods["Status.Leader"]; m == nil || m.direct != nil {
		t.Errorf("Status.Leader: want a reflect call (not in directCall's list)")
	}
}
