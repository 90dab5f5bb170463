package server

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"conclave/agent/acl"
	"conclave/agent/state"
	"conclave/agent/structs"
)

// ACLConfig is the acl block as a server (and a client agent's resolver)
// uses it.
type ACLConfig struct {
	Enabled bool
	// DefaultAllow is default_policy = "allow".
	DefaultAllow bool
	// DownPolicy is what a resolver answers when it cannot reach the
	// servers (or the primary datacenter): "extend-cache" (the default),
	// "async-cache", "allow" or "deny".
	DownPolicy string
	// TokenTTL is how long a resolved token is cached where it is not
	// stored (client agents, secondary datacenters).
	TokenTTL            time.Duration
	EnableKeyListPolicy bool
	// InitialManagement is acl.tokens.initial_management: the leader
	// creates this secret as a management token (bootstrapping ACLs).
	InitialManagement string
	// PrimaryDatacenter holds the global tokens and policies; a server of
	// another datacenter resolves them there.
	PrimaryDatacenter string
	// EnableTokenReplication replicates the primary's global tokens, not
	// only its policies and roles, into a secondary datacenter.
	EnableTokenReplication bool
	// ReplicationToken is the token replication lists the primary with
	// (acl.tokens.replication, changeable at run time).
	ReplicationToken func() string
}

func (c ACLConfig) options() acl.Options {
	return acl.Options{DefaultAllow: c.DefaultAllow, EnableKeyListPolicy: c.EnableKeyListPolicy}
}

// resolveInState gathers what a token grants from st: the token, and the
// rules of its policies, its roles' policies and its identities. An empty
// secret is the anonymous token's. A missing or expired token is
// structs.ErrACLNotFound.
func resolveInState(st *state.Store, dc, secret string, now time.Time) (*structs.ACLResolveReply, error) {
	if secret == "" {
		secret = structs.ACLAnonymousSecretID
	}
	_, tok, err := st.ACLTokenGetBySecret(nil, secret)
	if err != nil {
		return nil, err
	}
	if tok == nil && secret == structs.ACLAnonymousSecretID {
		// Before the leader has stored it, the anonymous token has no
		// policies: default_policy decides.
		tok = &structs.ACLToken{AccessorID: structs.ACLAnonymousAccessorID, SecretID: secret}
	}
	if tok == nil || tok.Expired(now) {
		return nil, structs.ErrACLNotFound
	}
	out := &structs.ACLResolveReply{Token: tok}
	links := slices.Clone(tok.Policies)
	sids, nids := slices.Clone(tok.ServiceIdentities), slices.Clone(tok.NodeIdentities)
	for _, rl := range tok.Roles {
		_, role, err := st.ACLRoleGet(nil, rl.ID)
		if err != nil {
			return nil, err
		}
		if role != nil {
			links = append(links, role.Policies...)
			sids = append(sids, role.ServiceIdentities...)
			nids = append(nids, role.NodeIdentities...)
		}
	}
	for _, l := range links {
		if l.ID == structs.ACLManagementPolicyID {
			out.Management = true
			continue
		}
		_, p, err := st.ACLPolicyGet(nil, l.ID)
		if err != nil {
			return nil, err
		}
		if p != nil && appliesIn(p.Datacenters, dc) {
			out.Policies = append(out.Policies, p)
		}
	}
	for _, si := range sids {
		if appliesIn(si.Datacenters, dc) {
			out.Policies = append(out.Policies, &structs.ACLPolicy{Name: "service-identity-" + si.ServiceName, Rules: serviceIdentityRules(si.ServiceName)})
		}
	}
	for _, ni := range nids {
		if ni.Datacenter == dc {
			out.Policies = append(out.Policies, &structs.ACLPolicy{Name: "node-identity-" + ni.NodeName, Rules: nodeIdentityRules(ni.NodeName)})
		}
	}
	return out, nil
}

func appliesIn(dcs []string, dc string) bool { return len(dcs) == 0 || slices.Contains(dcs, dc) }

// serviceIdentityRules are the rules a service identity stands for:
// write on the service and its sidecar proxy, read on what discovery
// needs.
func serviceIdentityRules(name string) string {
	return fmt.Sprintf(`service %q { policy = "write" }
service %q { policy = "write" }
service_prefix "" { policy = "read" }
node_prefix "" { policy = "read" }`, name, name+"-sidecar-proxy")
}

// nodeIdentityRules are the rules a node identity stands for: write on
// the node, read on every service.
func nodeIdentityRules(name string) string {
	return fmt.Sprintf(`node %q { policy = "write" }
service_prefix "" { policy = "read" }`, name)
}

// AuthorizerFor compiles a resolved token into its Authorizer.
func AuthorizerFor(opts acl.Options, r *structs.ACLResolveReply) (acl.Authorizer, error) {
	if r.Management {
		return acl.AllowAll{}, nil
	}
	sets := make([]*acl.Rules, 0, len(r.Policies))
	for _, p := range r.Policies {
		rs, err := acl.ParseRules(p.Rules)
		if err != nil {
			return nil, fmt.Errorf("policy %q: %w", p.Name, err)
		}
		sets = append(sets, rs)
	}
	return acl.Compile(opts, sets...), nil
}

// stateResolver resolves tokens from this server's state store. Compiled
// authorizers are kept while no ACL write commits (and the store is the
// same one: a snapshot restore replaces it), so a request costs a map
// lookup and an atomic read.
type stateResolver struct {
	srv *Server
	// remote, on a server outside the primary datacenter, resolves the
	// tokens this datacenter does not hold.
	remote *RemoteResolver

	mu    sync.RWMutex
	store *state.Store
	gen   uint64 // the store's ACLGeneration the cache holds
	cache map[string]cachedAuthz
}

type cachedAuthz struct {
	authz   acl.Authorizer
	expires *time.Time
}

// ResolveToken returns the token's Authorizer.
func (r *stateResolver) ResolveToken(secret string) (acl.Authorizer, error) {
	st := r.srv.fsm.State()
	gen := st.ACLGeneration()
	now := time.Now()
	r.mu.RLock()
	c, ok := r.cache[secret]
	fresh := ok && r.store == st && r.gen == gen && (c.expires == nil || now.Before(*c.expires))
	r.mu.RUnlock()
	if fresh {
		return c.authz, nil
	}
	cfg := r.srv.config
	if r.remote != nil && r.srv.anonymousInPrimary(st, secret) {
		return r.remote.ResolveToken(secret)
	}
	// Outside the primary, what is here is this datacenter's local tokens
	// and, with token replication, the primary's global ones; the
	// policies and roles they link to are replicated. A token not here
	// yet (not replicated, or not yet) is asked of the primary.
	res, err := resolveInState(st, cfg.Datacenter, secret, now)
	if errors.Is(err, structs.ErrACLNotFound) && r.remote != nil {
		return r.remote.ResolveToken(secret)
	}
	if err != nil {
		return nil, err
	}
	authz, err := AuthorizerFor(cfg.ACL.options(), res)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.store != st || r.gen != gen {
		r.store, r.gen, r.cache = st, gen, map[string]cachedAuthz{}
	}
	r.cache[secret] = cachedAuthz{authz: authz, expires: res.Token.ExpirationTime}
	r.mu.Unlock()
	return authz, nil
}

// anonymousInPrimary tells whether secret is the anonymous token's and a
// secondary datacenter must ask the primary what it grants: unless it
// holds the primary's anonymous token, replicated with the global tokens.
func (s *Server) anonymousInPrimary(st *state.Store, secret string) bool {
	if !s.isSecondaryACL() || (secret != "" && secret != structs.ACLAnonymousSecretID) {
		return false
	}
	if !s.config.ACL.EnableTokenReplication {
		return true
	}
	_, t, err := st.ACLTokenGet(nil, structs.ACLAnonymousAccessorID)
	return err != nil || t == nil
}

// RemoteResolver resolves tokens by asking servers (ACL.Resolve): a
// client agent asks its datacenter's servers, a server of a secondary
// datacenter asks the primary. Answers are cached for the token TTL; when
// the servers cannot be reached the down policy decides.
type RemoteResolver struct {
	cfg   ACLConfig
	fetch func(secret string) (*structs.ACLResolveReply, error)
	now   func() time.Time

	mu    sync.Mutex
	cache map[string]*remoteEntry
}

type remoteEntry struct {
	authz      acl.Authorizer
	fetched    time.Time
	refreshing bool
}

// NewRemoteResolver resolves with fetch, which makes the ACL.Resolve call.
func NewRemoteResolver(cfg ACLConfig, fetch func(secret string) (*structs.ACLResolveReply, error)) *RemoteResolver {
	return &RemoteResolver{cfg: cfg, fetch: fetch, now: time.Now, cache: map[string]*remoteEntry{}}
}

// ResolveToken returns the token's Authorizer, from the cache while it is
// fresh.
func (r *RemoteResolver) ResolveToken(secret string) (acl.Authorizer, error) {
	r.mu.Lock()
	e := r.cache[secret]
	switch {
	case e != nil && r.now().Sub(e.fetched) < r.cfg.TokenTTL:
		r.mu.Unlock()
		return e.authz, nil
	case e != nil && r.cfg.DownPolicy == "async-cache":
		// Answer from the stale entry at once and refresh behind it.
		if !e.refreshing {
			e.refreshing = true
			go func() { _, _ = r.refresh(secret, e) }()
		}
		r.mu.Unlock()
		return e.authz, nil
	}
	r.mu.Unlock()
	return r.refresh(secret, e)
}

// refresh asks the servers; old is the stale entry, if any.
func (r *RemoteResolver) refresh(secret string, old *remoteEntry) (acl.Authorizer, error) {
	res, err := r.fetch(secret)
	if err == nil {
		var authz acl.Authorizer
		if authz, err = AuthorizerFor(r.cfg.options(), res); err == nil {
			r.mu.Lock()
			r.cache[secret] = &remoteEntry{authz: authz, fetched: r.now()}
			r.mu.Unlock()
			return authz, nil
		}
	}
	r.mu.Lock()
	if old != nil {
		old.refreshing = false
	}
	r.mu.Unlock()
	if structs.ErrorKind(err) == structs.KindPermissionDenied {
		// The servers answered: the token is gone or expired.
		r.mu.Lock()
		delete(r.cache, secret)
		r.mu.Unlock()
		return nil, err
	}
	return r.down(old), nil
}

// down is the answer while the servers cannot be reached.
func (r *RemoteResolver) down(old *remoteEntry) acl.Authorizer {
	switch r.cfg.DownPolicy {
	case "allow":
		return acl.AllowAll{}
	case "deny":
		return acl.DenyAll{}
	}
	if old != nil {
		return old.authz // extend-cache and async-cache
	}
	return acl.DenyAll{}
}

// newStateResolver resolves from this server's state; outside the primary
// datacenter, tokens it does not hold are resolved in the primary.
func (s *Server) newStateResolver() *stateResolver {
	r := &stateResolver{srv: s}
	if p := s.config.ACL.PrimaryDatacenter; p != "" && p != s.config.Datacenter {
		r.remote = NewRemoteResolver(s.config.ACL, func(secret string) (*structs.ACLResolveReply, error) {
			// Name: the datacenter the token is used in, for the
			// policies and identities valid in some datacenters only.
			args := structs.ACLReadRequest{Datacenter: p, ID: secret, BySecret: true, Name: s.config.Datacenter,
				QueryOptions: structs.QueryOptions{AllowStale: true}}
			var reply structs.ACLResolveReply
			if err := s.RPC(s.shutdownCtx, "ACL.Resolve", &args, &reply); err != nil {
				return nil, err
			}
			return &reply, nil
		})
	}
	return r
}
