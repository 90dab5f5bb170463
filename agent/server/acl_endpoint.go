package server

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	memdb "github.com/hashicorp/go-memdb"
	"github.com/hashicorp/go-uuid"

	"conclave/agent/acl"
	"conclave/agent/blocking"
	"conclave/agent/state"
	"conclave/agent/structs"
)

// ACL is the ACL endpoint: bootstrap, tokens, policies, roles, and the
// resolution of a token for client agents and secondary datacenters.
type ACL struct{ srv *Server }

// validName is Consul's rule for policy and role names.
var validName = regexp.MustCompile(`^[A-Za-z0-9\-_]{1,128}$`)

func invalid(what, format string, args ...any) error {
	return structs.Errorf(structs.KindBadRequest, "Invalid "+what+": "+format, args...)
}

// check refuses when ACLs are off or the token may not do what ok says.
func (a *ACL) check(ok bool) error {
	if !a.srv.config.ACL.Enabled {
		return structs.ErrACLDisabled
	}
	if !ok {
		return structs.ErrPermissionDenied
	}
	return nil
}

// toPrimary forwards a write of global ACL data to the primary datacenter,
// which holds it, and reports whether it did.
func (a *ACL) toPrimary(method string, args *structs.ACLWriteRequest, reply any) (bool, error) {
	p := a.srv.config.ACL.PrimaryDatacenter
	if p == "" || p == a.srv.config.Datacenter || (args.ACLToken != nil && args.ACLToken.Local) {
		return false, nil
	}
	fwd := *args
	fwd.Datacenter = p
	return true, a.srv.RPC(args.Context(), method, &fwd, reply)
}

// apply commits one ACL write.
func (a *ACL) apply(req *structs.ACLRequest) error {
	_, err := a.srv.raftApply(structs.ACLRequestType, req)
	return err
}

// Bootstrap creates the first management token, once; args.ACLToken may
// name its secret.
func (a *ACL) Bootstrap(args *structs.ACLWriteRequest, reply *structs.ACLTokenReply) error {
	if err := a.check(true); err != nil {
		return err
	}
	if done, err := a.toPrimary("ACL.Bootstrap", args, reply); done {
		return err
	}
	secret := ""
	if args.ACLToken != nil {
		secret = args.ACLToken.SecretID
		if _, err := uuid.ParseUUID(secret); err != nil {
			return invalid("Token", "BootstrapSecret %q is not a valid UUID", secret)
		}
	}
	tok, err := newManagementToken(secret, structs.ACLBootstrapDescription)
	if err != nil {
		return err
	}
	if err := a.apply(&structs.ACLRequest{Op: structs.ACLBootstrap, Token: tok}); err != nil {
		return err
	}
	return a.readToken(tok.AccessorID, reply)
}

// newManagementToken makes a token with the global-management policy;
// an empty secret gets a new one.
func newManagementToken(secret, desc string) (*structs.ACLToken, error) {
	accessor, err := uuid.GenerateUUID()
	if err != nil {
		return nil, fmt.Errorf("token accessor: %w", err)
	}
	if secret == "" {
		if secret, err = uuid.GenerateUUID(); err != nil {
			return nil, fmt.Errorf("token secret: %w", err)
		}
	}
	t := &structs.ACLToken{AccessorID: accessor, SecretID: secret, Description: desc, CreateTime: time.Now(),
		Policies: []*structs.ACLTokenPolicyLink{{ID: structs.ACLManagementPolicyID, Name: structs.ACLManagementPolicyName}}}
	t.SetHash()
	return t, nil
}

// readToken answers a write with the token as stored.
func (a *ACL) readToken(accessor string, reply *structs.ACLTokenReply) error {
	st := a.srv.fsm.State()
	idx, t, err := st.ACLTokenGet(nil, accessor)
	if err != nil {
		return err
	}
	reply.Index, reply.Token = idx, withNames(st, t)
	return nil
}

// withNames is a copy of t whose links carry the current names of their
// policies and roles; links to deleted ones are dropped.
func withNames(st *state.Store, t *structs.ACLToken) *structs.ACLToken {
	if t == nil {
		return nil
	}
	out := *t
	out.Policies = policyNames(st, t.Policies)
	out.Roles = nil
	for _, l := range t.Roles {
		if _, r, err := st.ACLRoleGet(nil, l.ID); err == nil && r != nil {
			out.Roles = append(out.Roles, &structs.ACLTokenRoleLink{ID: r.ID, Name: r.Name})
		}
	}
	return &out
}

func policyNames(st *state.Store, links []*structs.ACLTokenPolicyLink) []*structs.ACLTokenPolicyLink {
	var out []*structs.ACLTokenPolicyLink
	for _, l := range links {
		if _, p, err := st.ACLPolicyGet(nil, l.ID); err == nil && p != nil {
			out = append(out, &structs.ACLTokenPolicyLink{ID: p.ID, Name: p.Name})
		}
	}
	return out
}

// linkPolicies resolves links given by ID or name to stored policies.
func linkPolicies(st *state.Store, what string, in []*structs.ACLTokenPolicyLink) ([]*structs.ACLTokenPolicyLink, error) {
	var out []*structs.ACLTokenPolicyLink
	for _, l := range in {
		var p *structs.ACLPolicy
		var err error
		if l.ID != "" {
			_, p, err = st.ACLPolicyGet(nil, l.ID)
		} else {
			_, p, err = st.ACLPolicyGetByName(nil, l.Name)
		}
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, invalid(what, "No such ACL policy with %s", idOrName(l.ID, l.Name))
		}
		if !slices.ContainsFunc(out, func(x *structs.ACLTokenPolicyLink) bool { return x.ID == p.ID }) {
			out = append(out, &structs.ACLTokenPolicyLink{ID: p.ID, Name: p.Name})
		}
	}
	return out, nil
}

func idOrName(id, name string) string {
	if id != "" {
		return fmt.Sprintf("ID %q", id)
	}
	return fmt.Sprintf("name %q", name)
}

// linkRoles resolves role links given by ID or name.
func linkRoles(st *state.Store, in []*structs.ACLTokenRoleLink) ([]*structs.ACLTokenRoleLink, error) {
	var out []*structs.ACLTokenRoleLink
	for _, l := range in {
		var r *structs.ACLRole
		var err error
		if l.ID != "" {
			_, r, err = st.ACLRoleGet(nil, l.ID)
		} else {
			_, r, err = st.ACLRoleGetByName(nil, l.Name)
		}
		if err != nil {
			return nil, err
		}
		if r == nil {
			return nil, invalid("Token", "No such ACL role with %s", idOrName(l.ID, l.Name))
		}
		if !slices.ContainsFunc(out, func(x *structs.ACLTokenRoleLink) bool { return x.ID == r.ID }) {
			out = append(out, &structs.ACLTokenRoleLink{ID: r.ID, Name: r.Name})
		}
	}
	return out, nil
}

func checkIdentities(what string, sids []*structs.ACLServiceIdentity, nids []*structs.ACLNodeIdentity) error {
	for _, s := range sids {
		if s.ServiceName == "" {
			return invalid(what, "Service identity is missing the service name field on this token")
		}
	}
	for _, n := range nids {
		if n.NodeName == "" || n.Datacenter == "" {
			return invalid(what, "Node identity is missing the node name or datacenter field")
		}
	}
	return nil
}

// TokenSet creates (args.Create) or updates a token.
func (a *ACL) TokenSet(authz acl.Authorizer, args *structs.ACLWriteRequest, reply *structs.ACLTokenReply) error {
	if err := a.check(authz.ACLWrite()); err != nil {
		return err
	}
	if args.ACLToken == nil {
		return invalid("Token", "no token given")
	}
	if done, err := a.toPrimary("ACL.TokenSet", args, reply); done {
		return err
	}
	st := a.srv.fsm.State()
	t := *args.ACLToken
	_, cur, err := st.ACLTokenGet(nil, t.AccessorID)
	if err != nil {
		return err
	}
	now := time.Now()
	switch {
	case args.Create:
		if err := a.newToken(st, &t, cur, now); err != nil {
			return err
		}
	case cur == nil:
		return invalid("Token", "Cannot find token %q", t.AccessorID)
	default:
		if t.SecretID != "" && t.SecretID != cur.SecretID {
			return invalid("Token", "Changing a token's SecretID is not permitted")
		}
		if t.Local != cur.Local {
			return invalid("Token", "Cannot toggle local mode of %s", t.AccessorID)
		}
		if (t.ExpirationTime != nil && (cur.ExpirationTime == nil || !t.ExpirationTime.Equal(*cur.ExpirationTime))) || t.ExpirationTTL != 0 {
			return invalid("Token", "Cannot change expiration time of %s", t.AccessorID)
		}
		t.SecretID, t.CreateTime, t.ExpirationTime = cur.SecretID, cur.CreateTime, cur.ExpirationTime
	}
	if err := checkIdentities("Token", t.ServiceIdentities, t.NodeIdentities); err != nil {
		return err
	}
	if t.Policies, err = linkPolicies(st, "Token", t.Policies); err != nil {
		return err
	}
	if t.Roles, err = linkRoles(st, t.Roles); err != nil {
		return err
	}
	t.ExpirationTTL = 0
	t.SetHash()
	if err := a.apply(&structs.ACLRequest{Op: structs.ACLTokenSet, Token: &t}); err != nil {
		return err
	}
	return a.readToken(t.AccessorID, reply)
}

// newToken fills in a new token's IDs, creation and expiration times.
func (a *ACL) newToken(st *state.Store, t, cur *structs.ACLToken, now time.Time) error {
	var err error
	if cur != nil {
		return invalid("Token", "AccessorID is already in use")
	}
	for _, id := range []*string{&t.AccessorID, &t.SecretID} {
		if *id == "" {
			if *id, err = uuid.GenerateUUID(); err != nil {
				return fmt.Errorf("token ID: %w", err)
			}
		} else if _, err := uuid.ParseUUID(*id); err != nil {
			return invalid("Token", "%q is not a valid UUID", *id)
		}
	}
	if t.ExpirationTTL < 0 {
		return invalid("Token", "Token Expiration TTL '%s' should be > 0", t.ExpirationTTL)
	}
	if t.ExpirationTTL != 0 {
		if t.ExpirationTime != nil {
			return invalid("Token", "Expiration TTL and Expiration Time cannot both be set")
		}
		exp := now.Add(t.ExpirationTTL)
		t.ExpirationTime = &exp
	}
	if t.ExpirationTime != nil && !t.ExpirationTime.After(now) {
		return invalid("Token", "ExpirationTime cannot be in the past")
	}
	t.CreateTime = now
	return nil
}

// TokenClone copies a token with new IDs (and args.Description, if set).
func (a *ACL) TokenClone(authz acl.Authorizer, args *structs.ACLWriteRequest, reply *structs.ACLTokenReply) error {
	if err := a.check(authz.ACLWrite()); err != nil {
		return err
	}
	st := a.srv.fsm.State()
	_, src, err := st.ACLTokenGet(nil, args.ID)
	if err != nil {
		return err
	}
	if src == nil || src.Expired(time.Now()) {
		return structs.ErrACLNotFound
	}
	if done, err := a.toPrimary("ACL.TokenClone", &structs.ACLWriteRequest{ID: args.ID, Description: args.Description, ACLToken: src, WriteRequest: args.WriteRequest}, reply); done {
		return err
	}
	t := *src
	t.AccessorID, t.SecretID = "", ""
	if args.Description != "" {
		t.Description = args.Description
	}
	exp := t.ExpirationTime
	t.ExpirationTime = nil
	if err := a.newToken(st, &t, nil, time.Now()); err != nil {
		return err
	}
	t.ExpirationTime = exp
	t.SetHash()
	if err := a.apply(&structs.ACLRequest{Op: structs.ACLTokenSet, Token: &t}); err != nil {
		return err
	}
	return a.readToken(t.AccessorID, reply)
}

// TokenRead reads a token by accessor ID (acl:read; the secret is shown
// with acl:write only), or by secret (token/self: the secret is the
// permission).
func (a *ACL) TokenRead(authz acl.Authorizer, args *structs.ACLReadRequest, reply *structs.ACLTokenReply) error {
	if err := a.check(args.BySecret || authz.ACLRead()); err != nil {
		return err
	}
	return a.srv.queries.Run(args.Context(), &args.QueryOptions, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) error {
			get := st.ACLTokenGet
			if args.BySecret {
				get = st.ACLTokenGetBySecret
			}
			idx, t, err := get(ws, args.ID)
			if err != nil {
				return err
			}
			if t == nil || t.Expired(time.Now()) {
				return structs.ErrACLNotFound
			}
			reply.Index, reply.Token = idx, redact(authz, args.BySecret, withNames(st, t))
			return nil
		})
}

// redact hides a secret from a token without acl:write.
func redact(authz acl.Authorizer, own bool, t *structs.ACLToken) *structs.ACLToken {
	if !own && !authz.ACLWrite() {
		t.SecretID = structs.ACLRedacted
	}
	return t
}

// TokenDelete deletes a token by accessor ID.
func (a *ACL) TokenDelete(authz acl.Authorizer, args *structs.ACLWriteRequest, reply *bool) error {
	if err := a.check(authz.ACLWrite()); err != nil {
		return err
	}
	_, t, err := a.srv.fsm.State().ACLTokenGet(nil, args.ID)
	if err != nil {
		return err
	}
	switch {
	case t == nil:
		return structs.ErrACLNotFound
	case t.AccessorID == structs.ACLAnonymousAccessorID:
		return invalid("Token", "Delete operation not permitted on the anonymous token")
	case t.SecretID == args.Token:
		return invalid("Token", "Deletion of the request's authorization token is not permitted")
	}
	if done, err := a.toPrimary("ACL.TokenDelete", &structs.ACLWriteRequest{ID: args.ID, ACLToken: t, WriteRequest: args.WriteRequest}, reply); done {
		return err
	}
	*reply = true
	return a.apply(&structs.ACLRequest{Op: structs.ACLTokenDelete, ID: t.AccessorID})
}

// TokenList lists tokens (acl:read), narrowed by ?policy and ?role.
func (a *ACL) TokenList(authz acl.Authorizer, args *structs.ACLReadRequest, reply *structs.ACLTokensReply) error {
	if err := a.check(authz.ACLRead()); err != nil {
		return err
	}
	now := time.Now()
	return a.srv.queries.Run(args.Context(), &args.QueryOptions, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) error {
			idx, ts, err := st.ACLTokenList(ws)
			if err != nil {
				return err
			}
			reply.Index, reply.Tokens = idx, []*structs.ACLToken{}
			for _, t := range ts {
				if t.Expired(now) ||
					(args.PolicyID != "" && !slices.ContainsFunc(t.Policies, func(l *structs.ACLTokenPolicyLink) bool { return l.ID == args.PolicyID })) ||
					(args.RoleID != "" && !slices.ContainsFunc(t.Roles, func(l *structs.ACLTokenRoleLink) bool { return l.ID == args.RoleID })) {
					continue
				}
				reply.Tokens = append(reply.Tokens, redact(authz, false, withNames(st, t)))
			}
			return nil
		})
}

// PolicySet creates (args.Create) or updates a policy.
func (a *ACL) PolicySet(authz acl.Authorizer, args *structs.ACLWriteRequest, reply *structs.ACLPolicyReply) error {
	if err := a.check(authz.ACLWrite()); err != nil {
		return err
	}
	if args.Policy == nil {
		return invalid("Policy", "no policy given")
	}
	if done, err := a.toPrimary("ACL.PolicySet", args, reply); done {
		return err
	}
	p := *args.Policy
	if !validName.MatchString(p.Name) {
		return invalid("Policy", "Name %q is invalid (names are 1-128 letters, digits, '-' and '_')", p.Name)
	}
	if _, err := acl.ParseRules(p.Rules); err != nil {
		return invalid("Policy", "%v", err)
	}
	st := a.srv.fsm.State()
	if err := setID(&p.ID, args.Create, "Policy", func(id string) (bool, error) {
		_, cur, err := st.ACLPolicyGet(nil, id)
		if cur != nil && cur.ID == structs.ACLManagementPolicyID && (p.Rules != cur.Rules || p.Name != cur.Name) {
			return true, invalid("Policy", "Changing the Rules or the Name of the builtin global-management policy is not permitted")
		}
		return cur != nil, err
	}); err != nil {
		return err
	}
	p.SetHash()
	if err := a.apply(&structs.ACLRequest{Op: structs.ACLPolicySet, Policy: &p}); err != nil {
		return err
	}
	idx, out, err := st.ACLPolicyGet(nil, p.ID)
	reply.Index, reply.Policy = idx, out
	return err
}

// setID gives a new policy or role its ID, or checks that an update names
// an existing one; exists looks an ID up.
func setID(id *string, create bool, what string, exists func(string) (bool, error)) error {
	if !create {
		found, err := exists(*id)
		if err != nil {
			return err
		}
		if !found {
			return invalid(what, "Cannot find %s %q", what, *id)
		}
		return nil
	}
	if *id != "" {
		found, err := exists(*id)
		if err != nil {
			return err
		}
		if found {
			return invalid(what, "ID %q is already in use", *id)
		}
		return nil
	}
	var err error
	if *id, err = uuid.GenerateUUID(); err != nil {
		return fmt.Errorf("%s ID: %w", what, err)
	}
	return nil
}

// PolicyRead reads a policy by ID or name (acl:read).
func (a *ACL) PolicyRead(authz acl.Authorizer, args *structs.ACLReadRequest, reply *structs.ACLPolicyReply) error {
	if err := a.check(authz.ACLRead()); err != nil {
		return err
	}
	return a.srv.queries.Run(args.Context(), &args.QueryOptions, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) error {
			get, key := st.ACLPolicyGet, args.ID
			if args.Name != "" {
				get, key = st.ACLPolicyGetByName, args.Name
			}
			idx, p, err := get(ws, key)
			if err != nil {
				return err
			}
			reply.Index, reply.Policy = idx, p
			if p == nil {
				return blocking.ErrNotFound
			}
			return nil
		})
}

// PolicyDelete deletes a policy; tokens and roles linking to it lose the
// link.
func (a *ACL) PolicyDelete(authz acl.Authorizer, args *structs.ACLWriteRequest, reply *bool) error {
	if err := a.check(authz.ACLWrite()); err != nil {
		return err
	}
	if args.ID == structs.ACLManagementPolicyID {
		return invalid("Policy", "Delete operation not permitted on the builtin global-management policy")
	}
	if done, err := a.toPrimary("ACL.PolicyDelete", args, reply); done {
		return err
	}
	*reply = true
	return a.apply(&structs.ACLRequest{Op: structs.ACLPolicyDelete, ID: args.ID})
}

// PolicyList lists every policy (acl:read).
func (a *ACL) PolicyList(authz acl.Authorizer, args *structs.ACLReadRequest, reply *structs.ACLPoliciesReply) error {
	if err := a.check(authz.ACLRead()); err != nil {
		return err
	}
	return a.srv.queries.Run(args.Context(), &args.QueryOptions, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) error {
			var err error
			reply.Index, reply.Policies, err = st.ACLPolicyList(ws)
			return err
		})
}

// RoleSet creates (args.Create) or updates a role.
func (a *ACL) RoleSet(authz acl.Authorizer, args *structs.ACLWriteRequest, reply *structs.ACLRoleReply) error {
	if err := a.check(authz.ACLWrite()); err != nil {
		return err
	}
	if args.Role == nil {
		return invalid("Role", "no role given")
	}
	if done, err := a.toPrimary("ACL.RoleSet", args, reply); done {
		return err
	}
	r := *args.Role
	if !validName.MatchString(r.Name) {
		return invalid("Role", "Name %q is invalid (names are 1-128 letters, digits, '-' and '_')", r.Name)
	}
	if err := checkIdentities("Role", r.ServiceIdentities, r.NodeIdentities); err != nil {
		return err
	}
	st := a.srv.fsm.State()
	var err error
	if r.Policies, err = linkPolicies(st, "Role", r.Policies); err != nil {
		return err
	}
	if err := setID(&r.ID, args.Create, "Role", func(id string) (bool, error) {
		_, cur, err := st.ACLRoleGet(nil, id)
		return cur != nil, err
	}); err != nil {
		return err
	}
	r.SetHash()
	if err := a.apply(&structs.ACLRequest{Op: structs.ACLRoleSet, Role: &r}); err != nil {
		return err
	}
	idx, out, err := st.ACLRoleGet(nil, r.ID)
	reply.Index, reply.Role = idx, roleWithNames(st, out)
	return err
}

func roleWithNames(st *state.Store, r *structs.ACLRole) *structs.ACLRole {
	if r == nil {
		return nil
	}
	out := *r
	out.Policies = policyNames(st, r.Policies)
	return &out
}

// RoleRead reads a role by ID or name (acl:read).
func (a *ACL) RoleRead(authz acl.Authorizer, args *structs.ACLReadRequest, reply *structs.ACLRoleReply) error {
	if err := a.check(authz.ACLRead()); err != nil {
		return err
	}
	return a.srv.queries.Run(args.Context(), &args.QueryOptions, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) error {
			get, key := st.ACLRoleGet, args.ID
			if args.Name != "" {
				get, key = st.ACLRoleGetByName, args.Name
			}
			idx, r, err := get(ws, key)
			if err != nil {
				return err
			}
			reply.Index, reply.Role = idx, roleWithNames(st, r)
			if r == nil {
				return blocking.ErrNotFound
			}
			return nil
		})
}

// RoleDelete deletes a role.
func (a *ACL) RoleDelete(authz acl.Authorizer, args *structs.ACLWriteRequest, reply *bool) error {
	if err := a.check(authz.ACLWrite()); err != nil {
		return err
	}
	if done, err := a.toPrimary("ACL.RoleDelete", args, reply); done {
		return err
	}
	*reply = true
	return a.apply(&structs.ACLRequest{Op: structs.ACLRoleDelete, ID: args.ID})
}

// RoleList lists every role (acl:read).
func (a *ACL) RoleList(authz acl.Authorizer, args *structs.ACLReadRequest, reply *structs.ACLRolesReply) error {
	if err := a.check(authz.ACLRead()); err != nil {
		return err
	}
	return a.srv.queries.Run(args.Context(), &args.QueryOptions, &reply.QueryMeta,
		func(ws memdb.WatchSet, st *state.Store) error {
			idx, rs, err := st.ACLRoleList(ws)
			if err != nil {
				return err
			}
			reply.Index, reply.Roles = idx, make([]*structs.ACLRole, 0, len(rs))
			for _, r := range rs {
				reply.Roles = append(reply.Roles, roleWithNames(st, r))
			}
			return nil
		})
}

// Resolve answers what a token (args.ID, a secret) grants, for a client
// agent or a server of another datacenter (args.Name: the datacenter the
// token is used in) to compile and cache. Knowing the secret is the
// permission.
func (a *ACL) Resolve(args *structs.ACLReadRequest, reply *structs.ACLResolveReply) error {
	if err := a.check(true); err != nil {
		return err
	}
	dc := args.Name
	if dc == "" {
		dc = a.srv.config.Datacenter
	}
	st := a.srv.fsm.State()
	res, err := resolveInState(st, dc, args.ID, time.Now())
	if a.srv.isSecondaryACL() && (errors.Is(err, structs.ErrACLNotFound) || a.srv.anonymousInPrimary(st, args.ID)) {
		// A client agent of this secondary datacenter asks about a token
		// replication has not brought here: the primary holds it.
		fwd := *args
		fwd.Datacenter, fwd.Name = a.srv.config.ACL.PrimaryDatacenter, dc
		return a.srv.RPC(args.Context(), "ACL.Resolve", &fwd, reply)
	}
	if err != nil {
		return err
	}
	*reply = *res
	return nil
}

// ReplicationStatus reports the leader's ACL replication. It needs no
// permission, as in Consul: it tells nothing secret, and health checks
// poll it.
func (a *ACL) ReplicationStatus(_ *structs.DCSpecificRequest, reply *structs.ACLReplicationStatus) error {
	if err := a.check(true); err != nil {
		return err
	}
	*reply = a.srv.aclRepl.get()
	if reply.SourceDatacenter == "" {
		reply.SourceDatacenter = a.srv.config.ACL.PrimaryDatacenter
	}
	return nil
}

// ReplicationStatus is the leader's: only it replicates.
func (*ACL) routes() map[string]route {
	return map[string]route{"ReplicationStatus": routeLeader}
}
