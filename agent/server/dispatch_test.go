package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"conclave/agent/acl"
	"conclave/agent/pool"
	"conclave/agent/structs"
)

// probeArgs is the request of a new endpoint: a datacenter, a token and
// a Validate that fails when Bad.
type probeArgs struct {
	Datacenter string
	Bad        bool
	structs.WriteRequest
}

func (a *probeArgs) RequestDatacenter() string { return a.Datacenter }

func (a *probeArgs) Validate() error {
	if a.Bad {
		return structs.BadRequestf("probe is bad")
	}
	return nil
}

// tokenAuthz is what recordingGate resolves a token to.
type tokenAuthz struct {
	acl.AllowAll
	token string
}

// recordingGate stands in for the server's routing and token resolution
// and remembers what it was asked. With forward set it answers every
// request it routes itself, as the leader would; authzErr fails every
// token.
type recordingGate struct {
	forward  bool
	authzErr error

	mu         sync.Mutex
	routed     []string // "Service.Method route"
	authorized []string // tokens
}

func (g *recordingGate) route(r route, method string, info structs.RPCInfo, args, reply any) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.routed = append(g.routed, fmt.Sprintf("%s %d", method, r))
	if g.forward {
		*reply.(*string) = "answered elsewhere"
		return true, nil
	}
	return false, nil
}

func (g *recordingGate) authorize(info structs.RPCInfo) (acl.Authorizer, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.authorized = append(g.authorized, info.TokenSecret())
	if g.authzErr != nil {
		return nil, g.authzErr
	}
	return tokenAuthz{token: info.TokenSecret()}, nil
}

func (g *recordingGate) asked() (routed, authorized []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.routed), slices.Clone(g.authorized)
}

// probe is a new endpoint written as docs/ARCHITECTURE.md asks: no
// forwarding, validation or token code of its own. Each method counts its
// runs and answers with what it was handed.
type probe struct{ ran *atomic.Int32 }

func (probe) routes() map[string]route {
	return map[string]route{"Leader": routeLeader, "Local": routeLocal}
}

func (p probe) Write(authz acl.Authorizer, args *probeArgs, reply *string) error {
	return p.answer(authz, reply)
}

func (p probe) Leader(authz acl.Authorizer, args *probeArgs, reply *string) error {
	return p.answer(authz, reply)
}

func (p probe) Local(args *probeArgs, reply *string) error {
	p.ran.Add(1)
	*reply = "served here"
	return nil
}

func (p probe) answer(authz acl.Authorizer, reply *string) error {
	p.ran.Add(1)
	ta, ok := authz.(tokenAuthz)
	if !ok {
		return fmt.Errorf("endpoint handed %T, want the gate's tokenAuthz", authz)
	}
	*reply = "token " + ta.token
	return nil
}

// TestDispatcherPreamble: a new endpoint gets routing, validation and its
// authorizer from the method table, in that order, whether it is called
// in-process or over the server port.
func TestDispatcherPreamble(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		forward    bool  // the gate answers what it routes
		authzErr   error // the gate fails every token
		method     string
		args       probeArgs
		reply      string
		kind       structs.Kind // of the error; KindInternal with text "" for none
		text       string
		ran        int32
		routed     []string
		authorized []string
	}{
		{name: "authorized endpoint", method: "Probe.Write",
			args:  probeArgs{WriteRequest: structs.WriteRequest{Token: "secret"}},
			reply: "token secret", ran: 1, routed: []string{"Probe.Write 0"}, authorized: []string{"secret"}},
		{name: "validated before the endpoint and the token", method: "Probe.Write",
			args: probeArgs{Bad: true, WriteRequest: structs.WriteRequest{Token: "secret"}},
			kind: structs.KindBadRequest, text: "Bad request: probe is bad", routed: []string{"Probe.Write 0"}},
		{name: "forwarded before validation", forward: true, method: "Probe.Write",
			args:  probeArgs{Bad: true},
			reply: "answered elsewhere", routed: []string{"Probe.Write 0"}},
		{name: "token refused", authzErr: structs.ErrPermissionDenied, method: "Probe.Write",
			args: probeArgs{WriteRequest: structs.WriteRequest{Token: "nope"}},
			kind: structs.KindPermissionDenied, text: structs.ErrPermissionDenied.Error(),
			routed: []string{"Probe.Write 0"}, authorized: []string{"nope"}},
		{name: "the method's route", method: "Probe.Leader",
			args:  probeArgs{WriteRequest: structs.WriteRequest{Token: "t"}},
			reply: "token t", ran: 1, routed: []string{"Probe.Leader 1"}, authorized: []string{"t"}},
		{name: "never forwarded", forward: true, method: "Probe.Local",
			args:  probeArgs{Datacenter: "dc2"},
			reply: "served here", ran: 1},
		{name: "never forwarded but validated", forward: true, method: "Probe.Local",
			args: probeArgs{Datacenter: "dc2", Bad: true},
			kind: structs.KindBadRequest, text: "Bad request: probe is bad"},
	}
	for _, tc := range tests {
		for _, remote := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/remote=%v", tc.name, remote), func(t *testing.T) {
				t.Parallel()
				g := &recordingGate{forward: tc.forward, authzErr: tc.authzErr}
				var ran atomic.Int32
				e, err := newEndpoints(g, map[string]any{"Probe": probe{ran: &ran}})
				if err != nil {
					t.Fatalf("newEndpoints(Probe) = %v", err)
				}
				args, reply := tc.args, ""
				if remote {
					p := pool.New()
					t.Cleanup(p.Shutdown)
					err = p.RPC(context.Background(), serveTest(t, e), tc.method, &args, &reply)
				} else {
					err = e.call(tc.method, &args, &reply)
				}
				wantErr := tc.text != ""
				if wantErr && (err == nil || structs.ErrorKind(err) != tc.kind || err.Error() != tc.text) || !wantErr && err != nil {
					t.Errorf("%s(%+v) = %v (kind %v), want %q (kind %v)", tc.method, tc.args, err, structs.ErrorKind(err), tc.text, tc.kind)
				}
				if reply != tc.reply {
					t.Errorf("%s(%+v) reply = %q, want %q", tc.method, tc.args, reply, tc.reply)
				}
				if n := ran.Load(); n != tc.ran {
					t.Errorf("%s(%+v) ran the endpoint %d times, want %d", tc.method, tc.args, n, tc.ran)
				}
				routed, authorized := g.asked()
				if !slices.Equal(routed, tc.routed) {
					t.Errorf("%s(%+v) routed %q, want %q", tc.method, tc.args, routed, tc.routed)
				}
				if !slices.Equal(authorized, tc.authorized) {
					t.Errorf("%s(%+v) resolved tokens %q, want %q", tc.method, tc.args, authorized, tc.authorized)
				}
			})
		}
	}
}

type misroutedEndpoint struct{}

func (misroutedEndpoint) routes() map[string]route { return map[string]route{"Gone": routeLocal} }
func (misroutedEndpoint) Here(args *probeArgs, reply *string) error {
	return nil
}

type unroutableEndpoint struct{}

func (unroutableEndpoint) Answer(args *kindArgs, reply *string) error { return nil }

type unauthorizableEndpoint struct{}

func (unauthorizableEndpoint) routes() map[string]route {
	return map[string]route{"Answer": routeLocal}
}
func (unauthorizableEndpoint) Answer(authz acl.Authorizer, args *kindArgs, reply *string) error {
	return nil
}

// TestNewEndpointsRefusesWhatPrepareCannotDo: a route for no endpoint, and
// an endpoint routed or authorized on a request with no datacenter or
// token, fail start-up.
func TestNewEndpointsRefusesWhatPrepareCannotDo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rcvr any
		want string
	}{
		{misroutedEndpoint{}, "X.Gone"},
		{unroutableEndpoint{}, "X.Answer"},
		{unauthorizableEndpoint{}, "X.Answer"},
	} {
		_, err := newEndpoints(&recordingGate{}, map[string]any{"X": tc.rcvr})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("newEndpoints(%T) = %v, want an error naming %s", tc.rcvr, err, tc.want)
		}
	}
}

// TestServerEndpointRoutes pins the routes of the server's own endpoints:
// the few that are not routeDefault, and which endpoints take an
// authorizer. A change here changes where requests are served.
func TestServerEndpointRoutes(t *testing.T) {
	t.Parallel()
	s := &Server{}
	if err := s.registerEndpoints(); err != nil {
		t.Fatalf("registerEndpoints() = %v", err)
	}
	routes := map[string]route{
		"Catalog.ListDatacenters":     routeLocal,
		"Coordinate.ListDatacenters":  routeLocal,
		"Status.Leader":               routeDC,
		"Status.Peers":                routeDC,
		"Status.Ping":                 routeLocal,
		"Status.ReadIndex":            routeLocal,
		"Status.RaftStats":            routeLocal,
		"Operator.ServerHealth":       routeLeader,
		"Operator.AutopilotState":     routeLeader,
		"Operator.RaftTransferLeader": routeLeader,
		"Session.Renew":               routeLeader,
		"Event.Fire":                  routeDC,
		"Internal.KeyringOperation":   routeDC,
		"ACL.ReplicationStatus":       routeLeader,
	}
	for name, m := range s.endpoints.methods {
		if want := routes[name]; m.route != want {
			t.Errorf("%s route = %d, want %d", name, m.route, want)
		}
		service, _, _ := strings.Cut(name, ".")
		// Bootstrap has no token to ask about yet; Resolve's secret is
		// the question itself; the replication status is public, as in
		// Consul.
		if want := service != "Status" && !strings.HasSuffix(name, ".ListDatacenters") && name != "ACL.Bootstrap" && name != "ACL.Resolve" &&
			name != "ACL.ReplicationStatus"; m.authorizes != want {
			t.Errorf("%s takes an authorizer = %v, want %v", name, m.authorizes, want)
		}
	}
	if n := len(s.endpoints.methods); n != 62 {
		t.Errorf("the server has %d endpoints, want 62", n)
	}
}

// TestServerRoute: the server's routing sends a request that names
// another datacenter there unless its method is routeLocal, and serves
// routeDC requests for its own datacenter itself.
func TestServerRoute(t *testing.T) {
	t.Parallel()
	s := &Server{config: &Config{Datacenter: "dc1"}}
	for _, tc := range []struct {
		r    route
		dc   string
		done bool
		err  error
	}{
		{routeDefault, "dc2", true, structs.ErrUnknownDatacenter},
		{routeLeader, "dc2", true, structs.ErrUnknownDatacenter},
		{routeDC, "dc2", true, structs.ErrUnknownDatacenter},
		{routeDC, "dc1", false, nil},
		{routeDC, "", false, nil},
		{routeLocal, "dc2", false, nil},
	} {
		args := &structs.DCSpecificRequest{Datacenter: tc.dc}
		var reply string
		done, err := s.route(tc.r, "Status.Leader", args, args, &reply)
		if done != tc.done || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("route(%d, dc %q) = %v, %v, want %v, %v", tc.r, tc.dc, done, err, tc.done, tc.err)
		}
	}
}
