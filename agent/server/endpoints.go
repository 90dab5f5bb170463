package server

import (
	"fmt"
	"io"
	"net/rpc"
	"reflect"
	"sync"

	"conclave/agent/acl"
	"conclave/agent/pool"
	"conclave/agent/structs"
)

// endpoints is the server's RPC method table, "Service.Method" → method,
// built once from the endpoint receivers. It replaces net/rpc's server so
// that an endpoint's error keeps its kind: net/rpc turns the error into
// its text before any codec sees it (see agent/pool/codec.go). In-process
// calls (call) get the endpoint's error value itself, with nothing
// encoded; remote calls (serve) get its text and kind.
//
// Both kinds of call run the steps every endpoint shares before the
// endpoint itself (prepare): routing, Validate, token resolution. An
// endpoint holds only its own work, and a request is answered the same
// wherever it entered.
type endpoints struct {
	methods map[string]*method
	gate    gate
}

// gate is the server as the method table sees it.
type gate interface {
	// route forwards a request that another server must serve, as r
	// says, and reports whether it did; reply then holds that server's
	// answer. It is never asked about routeLocal methods.
	route(r route, method string, info structs.RPCInfo, args, reply any) (bool, error)
	// authorize resolves the request's token. An authorizer with a
	// Denied method marks a reply it refused something for as filtered.
	authorize(info structs.RPCInfo) (acl.Authorizer, error)
}

// routed is implemented by an endpoint receiver some of whose methods are
// not routeDefault: it maps those methods' names to their routes.
type routed interface {
	routes() map[string]route
}

// filteredMeta is a reply with a structs.QueryMeta; denier an authorizer
// that remembers whether it refused anything.
type (
	filteredMeta interface{ FilteredByACLs() }
	denier       interface{ Denied() bool }
)

// validator is a request with its one validation (structs).
type validator interface {
	Validate() error
}

// method is one endpoint method, with the receiver bound:
// func(args *A, reply *R) error, or, for an endpoint that asks the
// authorizer about what it touches, func(authz acl.Authorizer, args *A,
// reply *R) error.
type method struct {
	name       string
	fn         reflect.Value
	argType    reflect.Type // *A
	replyType  reflect.Type // *R
	route      route
	authorizes bool // fn takes the request's Authorizer first
	// direct is fn as a plain call, for the hot paths' signatures
	// (directCall); nil for the rest, which go through reflect.
	direct func(authz acl.Authorizer, args, reply any) error
}

var (
	errorType      = reflect.TypeFor[error]()
	authorizerType = reflect.TypeFor[acl.Authorizer]()
	rpcInfoType    = reflect.TypeFor[structs.RPCInfo]()
)

// newEndpoints builds the table from receivers by service name. Every
// exported method of a receiver must have an endpoint signature, so a
// mistyped one fails start-up instead of being skipped; so does a route
// for a method that does not exist, and a request type the steps before
// the endpoint cannot handle.
func newEndpoints(g gate, receivers map[string]any) (*endpoints, error) {
	e := &endpoints{methods: map[string]*method{}, gate: g}
	for service, rcvr := range receivers {
		routes := map[string]route{}
		if r, ok := rcvr.(routed); ok {
			for name, rt := range r.routes() {
				routes[name] = rt
			}
		}
		v := reflect.ValueOf(rcvr)
		for i := 0; i < v.NumMethod(); i++ {
			name := v.Type().Method(i).Name
			m, err := newMethod(service+"."+name, v.Method(i), routes[name])
			if err != nil {
				return nil, err
			}
			m.direct = directCall(rcvr, v.Type().Method(i).Func)
			e.methods[m.name] = m
			delete(routes, name)
		}
		for name := range routes {
			return nil, fmt.Errorf("%s routes %s.%s, which is not one of its endpoints", service, service, name)
		}
	}
	return e, nil
}

func newMethod(name string, fn reflect.Value, r route) (*method, error) {
	t := fn.Type()
	authorizes := t.NumIn() == 3 && t.In(0) == authorizerType
	first := t.NumIn() - 2 // index of args
	if !(t.NumIn() == 2 || authorizes) || t.NumOut() != 1 || t.Out(0) != errorType ||
		t.In(first).Kind() != reflect.Pointer || t.In(first+1).Kind() != reflect.Pointer {
		return nil, fmt.Errorf("endpoint %s is %s, want func(args *A, reply *R) error or func(authz acl.Authorizer, args *A, reply *R) error", name, t)
	}
	// Routing reads the request's datacenter, consistency mode and
	// context; authorizing reads its token.
	if (r != routeLocal || authorizes) && !t.In(first).Implements(rpcInfoType) {
		return nil, fmt.Errorf("endpoint %s takes %s, which is no structs.RPCInfo: only a routeLocal endpoint without an authorizer may", name, t.In(first))
	}
	return &method{name: name, fn: fn, argType: t.In(first), replyType: t.In(first + 1), route: r, authorizes: authorizes}, nil
}

// directCall returns a plain call of the method expression fn (receiver
// first) on rcvr when it is one of the request paths every client hammers:
// KV writes and reads, transactions, health and catalog service reads.
// reflect.Value.Call cost each request about 1.5 µs and four allocations,
// some 4 % of a server's CPU under KV PUT load; so did calling the method
// value reflect.Value.Method gives as a func, which goes through reflect's
// trampoline too. A method expression from the receiver's type is the
// method's own code. The others are not worth a line each.
func directCall(rcvr any, fn reflect.Value) func(acl.Authorizer, any, any) error {
	switch f := fn.Interface().(type) {
	case func(*KVS, acl.Authorizer, *structs.KVSRequest, *bool) error:
		return bound(rcvr, f)
	case func(*KVS, acl.Authorizer, *structs.KeyRequest, *structs.IndexedDirEntries) error:
		return bound(rcvr, f)
	case func(*KVS, acl.Authorizer, *structs.KeyListRequest, *structs.IndexedDirEntries) error:
		return bound(rcvr, f)
	case func(*Txn, acl.Authorizer, *structs.TxnRequest, *structs.TxnResponse) error:
		return bound(rcvr, f)
	case func(*Health, acl.Authorizer, *structs.ServiceSpecificRequest, *structs.IndexedCheckServiceNodes) error:
		return bound(rcvr, f)
	case func(*Catalog, acl.Authorizer, *structs.ServiceSpecificRequest, *structs.IndexedServiceNodes) error:
		return bound(rcvr, f)
	}
	return nil
}

func bound[T, A, R any](rcvr any, f func(T, acl.Authorizer, *A, *R) error) func(acl.Authorizer, any, any) error {
	r := rcvr.(T)
	return func(authz acl.Authorizer, args, reply any) error { return f(r, authz, args.(*A), reply.(*R)) }
}

// call runs an endpoint in-process. args is copied first, as decoding it
// from the wire would: endpoints mark their request (a read that passed
// the read-index check, defaults filled in) and must not mark the
// caller's, which it may send again. reply is filled only on success.
func (e *endpoints) call(name string, args, reply any) error {
	m := e.methods[name]
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
	out, err := e.invoke(m, argv)
	if err != nil {
		return err
	}
	rv.Elem().Set(out.Elem())
	return nil
}

// invoke answers a request with decoded arguments, in a fresh reply: by
// prepare alone, or by the method.
func (e *endpoints) invoke(m *method, argv reflect.Value) (reflect.Value, error) {
	replyv := reflect.New(m.replyType.Elem())
	switch m.replyType.Elem().Kind() {
	case reflect.Map:
		replyv.Elem().Set(reflect.MakeMap(m.replyType.Elem()))
	case reflect.Slice:
		replyv.Elem().Set(reflect.MakeSlice(m.replyType.Elem(), 0, 0))
	}
	authz, done, err := e.prepare(m, argv.Interface(), replyv.Interface())
	if done {
		return replyv, err
	}
	if m.direct != nil {
		err = m.direct(authz, argv.Interface(), replyv.Interface())
	} else {
		in := []reflect.Value{argv, replyv}
		if m.authorizes {
			in = append([]reflect.Value{reflect.ValueOf(&authz).Elem()}, in...)
		}
		err, _ = m.fn.Call(in)[0].Interface().(error)
	}
	// A read narrowed by ACL says so in its reply: the gate hands out an
	// authorizer that remembers its refusals (acl.Tracking) when ACLs
	// are on.
	if d, ok := authz.(denier); ok && err == nil && d.Denied() {
		if fm, ok := replyv.Interface().(filteredMeta); ok {
			fm.FilteredByACLs()
		}
	}
	return replyv, err
}

// prepare runs what every endpoint would otherwise open with, in this
// order: route the request, and stop if another server answered it
// (reply holds its answer); validate it, on the server that serves it,
// so a client agent and a server refuse a bad request alike; resolve its
// token, for a method that takes an Authorizer. done reports that the
// request is answered, with err, without the method.
func (e *endpoints) prepare(m *method, args, reply any) (authz acl.Authorizer, done bool, err error) {
	info, _ := args.(structs.RPCInfo) // newMethod made sure it is one where needed
	if m.route != routeLocal {
		if done, err := e.gate.route(m.route, m.name, info, args, reply); done {
			return nil, true, err
		}
	}
	if v, ok := args.(validator); ok {
		if err := v.Validate(); err != nil {
			return nil, true, err
		}
	}
	if m.authorizes {
		if authz, err = e.gate.authorize(info); err != nil {
			return nil, true, err
		}
	}
	return authz, false, nil
}

// serve answers the requests of one connection until it fails or closes.
// Each request runs in its own goroutine, since a client pipelines many
// calls on one connection and a blocking query must not hold up the calls
// behind it. The connection is closed once every answer is written.
func (e *endpoints) serve(conn io.ReadWriteCloser) {
	codec := pool.NewServerCodec(conn)
	var wg sync.WaitGroup
	for {
		req := new(rpc.Request)
		if err := codec.ReadRequestHeader(req); err != nil {
			break // closed, or not a request: the conversation is over
		}
		rpcRequests.Add(1)
		m := e.methods[req.ServiceMethod]
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
			reply, err := e.invoke(m, argv)
			// A failed write means the connection is gone; the reader
			// above notices and ends the conversation.
			_ = codec.WriteResponse(req, reply.Interface(), err)
		}()
	}
	wg.Wait()
	_ = codec.Close()
}
