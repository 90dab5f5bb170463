package server

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"conclave/agent/acl"
	"conclave/agent/structs"
)

// fakeFetch answers ACL.Resolve with a token granting key_prefix "app/"
// read, or fails with err.
type fakeFetch struct {
	calls atomic.Int32
	err   atomic.Pointer[error]
}

func (f *fakeFetch) fetch(string) (*structs.ACLResolveReply, error) {
	f.calls.Add(1)
	if e := f.err.Load(); e != nil {
		return nil, *e
	}
	return &structs.ACLResolveReply{Token: &structs.ACLToken{AccessorID: "a"},
		Policies: []*structs.ACLPolicy{{Name: "p", Rules: `key_prefix "app/" { policy = "read" }`}}}, nil
}

func (f *fakeFetch) fail(err error) { f.err.Store(&err) }

// TestRemoteResolverDownPolicy: a resolved token is cached for the TTL;
// past it, a failure to reach the servers is answered per down_policy,
// while a refusal by the servers is passed on and drops the entry.
func TestRemoteResolverDownPolicy(t *testing.T) {
	t.Parallel()
	unreachable := errors.New("dial tcp: connection refused")
	cases := []struct {
		down             string
		cachedRead       bool // KeyRead("app/x") once the servers are gone, after a resolve
		uncachedReadable bool // KeyRead("app/x") for a token never resolved
	}{
		{"extend-cache", true, false},
		{"async-cache", true, false},
		{"allow", true, true},
		{"deny", false, false},
	}
	for _, tc := range cases {
		f := &fakeFetch{}
		now := time.Unix(1000, 0)
		r := NewRemoteResolver(ACLConfig{DownPolicy: tc.down, TokenTTL: 30 * time.Second}, f.fetch)
		r.now = func() time.Time { return now }
		authz, err := r.ResolveToken("s")
		if err != nil || !authz.KeyRead("app/x") || authz.KeyWrite("app/x") {
			t.Fatalf("%s: ResolveToken(s) = %v, want read on app/", tc.down, err)
		}
		if _, err := r.ResolveToken("s"); err != nil || f.calls.Load() != 1 {
			t.Errorf("%s: second ResolveToken within the TTL asked the servers again (%d calls)", tc.down, f.calls.Load())
		}
		f.fail(unreachable)
		now = now.Add(time.Minute)
		authz, err = r.ResolveToken("s")
		if err != nil || authz.KeyRead("app/x") != tc.cachedRead {
			t.Errorf("%s: ResolveToken(s) with the servers gone = %v, KeyRead %v, want %v", tc.down, err, err == nil && authz.KeyRead("app/x"), tc.cachedRead)
		}
		authz, err = r.ResolveToken("never-seen")
		if err != nil || authz.KeyRead("app/x") != tc.uncachedReadable {
			t.Errorf("%s: ResolveToken(never-seen) with the servers gone = %v, want KeyRead %v", tc.down, err, tc.uncachedReadable)
		}
		f.fail(structs.ErrACLNotFound)
		now = now.Add(time.Minute)
		if tc.down != "async-cache" {
			if _, err := r.ResolveToken("s"); !errors.Is(err, structs.ErrACLNotFound) {
				t.Errorf("%s: ResolveToken(s) after the servers refused it = %v, want ACL not found", tc.down, err)
			}
		}
	}
}

// TestAuthorizerForIdentities: a management token is AllowAll, and a
// service identity grants write on its service and read on the others.
func TestAuthorizerForIdentities(t *testing.T) {
	t.Parallel()
	if a, err := AuthorizerFor(acl.Options{}, &structs.ACLResolveReply{Management: true}); err != nil || a != (acl.AllowAll{}) {
		t.Errorf("AuthorizerFor(management) = %T, %v, want AllowAll", a, err)
	}
	a, err := AuthorizerFor(acl.Options{}, &structs.ACLResolveReply{Policies: []*structs.ACLPolicy{{Rules: serviceIdentityRules("web")}}})
	if err != nil {
		t.Fatalf("AuthorizerFor(service identity) = %v", err)
	}
	if !a.ServiceWrite("web") || !a.ServiceWrite("web-sidecar-proxy") || a.ServiceWrite("db") || !a.ServiceRead("db") || !a.NodeRead("n") || a.KeyRead("k") {
		t.Errorf("service identity web: write web %v, write sidecar %v, write db %v, read db %v, read node %v, read key %v; want true true false true true false",
			a.ServiceWrite("web"), a.ServiceWrite("web-sidecar-proxy"), a.ServiceWrite("db"), a.ServiceRead("db"), a.NodeRead("n"), a.KeyRead("k"))
	}
}
