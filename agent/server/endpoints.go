package server

import (
	"fmt"
	"io"
	"net/rpc"
	"reflect"
	"sync"

	"conclave/agent/pool"
)

// endpoints is the server's RPC method table, "Service.Method" → method,
// built once from the endpoint receivers. It replaces net/rpc's server so
// that an endpoint's error keeps its kind: net/rpc turns the error into
// its text before any codec sees it (see agent/pool/codec.go). In-process
// calls (call) get the endpoint's error value itself, with nothing
// encoded; remote calls (serve) get its text and kind.
type endpoints map[string]*method

// method is one endpoint method: func(args *A, reply *R) error, with the
// receiver bound.
type method struct {
	fn        reflect.Value
	argType   reflect.Type // *A
	replyType reflect.Type // *R
}

var errorType = reflect.TypeFor[error]()

// newEndpoints builds the table from receivers by service name. Every
// exported method of a receiver must have the endpoint signature, so a
// mistyped one fails start-up instead of being skipped.
func newEndpoints(receivers map[string]any) (endpoints, error) {
	e := endpoints{}
	for service, rcvr := range receivers {
		v := reflect.ValueOf(rcvr)
		for i := 0; i < v.NumMethod(); i++ {
			name := service + "." + v.Type().Method(i).Name
			fn := v.Method(i)
			t := fn.Type()
			if t.NumIn() != 2 || t.NumOut() != 1 || t.Out(0) != errorType ||
				t.In(0).Kind() != reflect.Pointer || t.In(1).Kind() != reflect.Pointer {
				return nil, fmt.Errorf("endpoint %s is %s, want func(args *A, reply *R) error", name, t)
			}
			e[name] = &method{fn: fn, argType: t.In(0), replyType: t.In(1)}
		}
	}
	return e, nil
}

// call runs an endpoint in-process. args is copied first, as decoding it
// from the wire would: endpoints mark their request (a read that passed
// the read-index check, defaults filled in) and must not mark the
// caller's, which it may send again. reply is filled only on success.
func (e endpoints) call(name string, args, reply any) error {
	m := e[name]
	if m == nil {
		return fmt.Errorf("rpc: can't find method %s", name)
	}
	av, rv := reflect.ValueOf(args), reflect.ValueOf(reply)
	if !av.IsValid() || av.Type() != m.argType || av.IsNil() ||
		!rv.IsValid() || rv.Type() != m.replyType || rv.IsNil() {
		return fmt.Errorf("rpc: %s takes %s and %s, not %T and %T", name, m.argType, m.replyType, args, reply)
	}
	argv := reflect.New(m.argType.Elem())
	argv.Elem().Set(av.Elem())
	out, err := m.invoke(argv)
	if err != nil {
		return err
	}
	rv.Elem().Set(out.Elem())
	return nil
}

// invoke runs the method on decoded arguments with a fresh reply.
func (m *method) invoke(argv reflect.Value) (reflect.Value, error) {
	replyv := reflect.New(m.replyType.Elem())
	switch m.replyType.Elem().Kind() {
	case reflect.Map:
		replyv.Elem().Set(reflect.MakeMap(m.replyType.Elem()))
	case reflect.Slice:
		replyv.Elem().Set(reflect.MakeSlice(m.replyType.Elem(), 0, 0))
	}
	err, _ := m.fn.Call([]reflect.Value{argv, replyv})[0].Interface().(error)
	return replyv, err
}

// serve answers the requests of one connection until it fails or closes.
// Each request runs in its own goroutine, since a client pipelines many
// calls on one connection and a blocking query must not hold up the calls
// behind it. The connection is closed once every answer is written.
func (e endpoints) serve(conn io.ReadWriteCloser) {
	codec := pool.NewServerCodec(conn)
	var wg sync.WaitGroup
	for {
		req := new(rpc.Request)
		if err := codec.ReadRequestHeader(req); err != nil {
			break // closed, or not a request: the conversation is over
		}
		m := e[req.ServiceMethod]
		if m == nil {
			if err := codec.ReadRequestBody(nil); err != nil {
				break
			}
			_ = codec.WriteResponse(req, nil, fmt.Errorf("rpc: can't find method %s", req.ServiceMethod))
			continue
		}
		argv := reflect.New(m.argType.Elem())
		if err := codec.ReadRequestBody(argv.Interface()); err != nil {
			_ = codec.WriteResponse(req, nil, fmt.Errorf("rpc: decoding the arguments of %s: %w", req.ServiceMethod, err))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			reply, err := m.invoke(argv)
			// A failed write means the connection is gone; the reader
			// above notices and ends the conversation.
			_ = codec.WriteResponse(req, reply.Interface(), err)
		}()
	}
	wg.Wait()
	_ = codec.Close()
}
