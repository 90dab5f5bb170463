package http

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	gohttp "net/http"
	"strings"
	"time"

	"conclave/agent/structs"
)

// aclBackend is what the ACL handlers need beyond the RPC path: the
// agent's own tokens.
type aclBackend interface {
	// SetAgentToken sets one of the agent's tokens (/v1/agent/token/<kind>).
	SetAgentToken(kind, token string) error
	// ACLsEnabled tells whether acl.enabled is on.
	ACLsEnabled() bool
}

// maxACLBody bounds an ACL request body (a policy's rules included).
const maxACLBody = 1 << 20

// decodeBody reads an optional JSON body into v.
func decodeBody(r *gohttp.Request, v any) error {
	err := json.NewDecoder(io.LimitReader(r.Body, maxACLBody)).Decode(v)
	if err != nil && !errors.Is(err, io.EOF) {
		return badRequest("Request decode failed: %v", err)
	}
	return nil
}

// durationJSON is a duration sent as nanoseconds (the official client)
// or as a string such as "1h" (Consul accepts both).
type durationJSON time.Duration

func (d *durationJSON) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case float64:
		*d = durationJSON(x)
	case string:
		p, err := time.ParseDuration(x)
		if err != nil {
			return err
		}
		*d = durationJSON(p)
	case nil:
	default:
		return errors.New("ExpirationTTL must be a duration")
	}
	return nil
}

// tokenBody is a token as a client sends it.
type tokenBody struct {
	structs.ACLToken
	ExpirationTTL durationJSON
}

// aclWrite makes one ACL write on the RPC path.
func (h *Handler) aclWrite(r *gohttp.Request, method string, args *structs.ACLWriteRequest, reply any) error {
	args.Datacenter = parseDC(r)
	args.Token = token(r)
	return h.backend.RPC(r.Context(), method, args, reply)
}

// aclRead serves one ACL read on the read path (blocking, headers); out
// picks the value to encode from the reply, or the error to answer.
func aclRead[R any](h *Handler, w gohttp.ResponseWriter, r *gohttp.Request, method string, args *structs.ACLReadRequest,
	meta func(*R) *structs.QueryMeta, out func(*R) (any, error)) (any, error) {
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	args.Datacenter = parseDC(r)
	return h.serveRead(w, r, &args.QueryOptions, func(ctx context.Context) (any, *structs.QueryMeta, error) {
		var reply R
		if err := h.backend.RPC(ctx, method, args, &reply); err != nil {
			return nil, nil, err
		}
		v, err := out(&reply)
		return v, meta(&reply), err
	})
}

// aclBootstrap serves PUT /v1/acl/bootstrap: the new management token,
// with the secret the body's BootstrapSecret names, if any.
func (h *Handler) aclBootstrap(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	var body struct{ BootstrapSecret string }
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	args := &structs.ACLWriteRequest{}
	if body.BootstrapSecret != "" {
		args.ACLToken = &structs.ACLToken{SecretID: body.BootstrapSecret}
	}
	var reply structs.ACLTokenReply
	if err := h.aclWrite(r, "ACL.Bootstrap", args, &reply); err != nil {
		return nil, err
	}
	return reply.Token, nil
}

// aclTokenCreate serves PUT /v1/acl/token.
func (h *Handler) aclTokenCreate(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	return h.aclTokenSet(r, "", true)
}

func (h *Handler) aclTokenSet(r *gohttp.Request, id string, create bool) (any, error) {
	var body tokenBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	t := body.ACLToken
	t.ExpirationTTL = time.Duration(body.ExpirationTTL)
	if !create {
		if t.AccessorID != "" && t.AccessorID != id {
			return nil, badRequest("Token Accessor ID in URL and payload do not match")
		}
		t.AccessorID = id
	}
	var reply structs.ACLTokenReply
	if err := h.aclWrite(r, "ACL.TokenSet", &structs.ACLWriteRequest{ACLToken: &t, Create: create}, &reply); err != nil {
		return nil, err
	}
	return reply.Token, nil
}

// aclToken serves /v1/acl/token/<accessor> (GET, PUT, DELETE),
// /v1/acl/token/self and PUT /v1/acl/token/<accessor>/clone.
func (h *Handler) aclToken(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/acl/token/")
	if src, ok := strings.CutSuffix(id, "/clone"); ok {
		if r.Method != gohttp.MethodPut {
			return methodNotAllowed(w, r, put)
		}
		var body struct{ Description string }
		if err := decodeBody(r, &body); err != nil {
			return nil, err
		}
		var reply structs.ACLTokenReply
		if err := h.aclWrite(r, "ACL.TokenClone", &structs.ACLWriteRequest{ID: src, Description: body.Description}, &reply); err != nil {
			return nil, err
		}
		return reply.Token, nil
	}
	if id == "" || strings.Contains(id, "/") {
		return nil, badRequest("Missing token ID")
	}
	switch r.Method {
	case gohttp.MethodPut:
		return h.aclTokenSet(r, id, false)
	case gohttp.MethodDelete:
		var ok bool
		return ok, h.aclWrite(r, "ACL.TokenDelete", &structs.ACLWriteRequest{ID: id}, &ok)
	}
	args := &structs.ACLReadRequest{ID: id}
	if id == "self" {
		args.ID, args.BySecret = token(r), true
	}
	return aclRead(h, w, r, "ACL.TokenRead", args,
		func(rp *structs.ACLTokenReply) *structs.QueryMeta { return &rp.QueryMeta },
		func(rp *structs.ACLTokenReply) (any, error) { return rp.Token, nil })
}

// aclTokenList serves GET /v1/acl/tokens (?policy, ?role).
func (h *Handler) aclTokenList(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	q := queryOf(r)
	args := &structs.ACLReadRequest{PolicyID: q.Get("policy"), RoleID: q.Get("role")}
	return aclRead(h, w, r, "ACL.TokenList", args,
		func(rp *structs.ACLTokensReply) *structs.QueryMeta { return &rp.QueryMeta },
		// A list entry is the token itself (Consul's list entries add
		// only Legacy, always false since the legacy ACL system is gone).
		func(rp *structs.ACLTokensReply) (any, error) { return rp.Tokens, nil })
}

// aclObject describes the policy or the role endpoints, which have one
// shape: PUT /v1/acl/<kind> creates, /v1/acl/<kind>/<id> reads, updates
// and deletes, GET /v1/acl/<kind>/name/<name> reads by name.
type aclObject[T, R any] struct {
	kind   string // "policy" or "role"
	id     func(*T) *string
	set    func(*structs.ACLWriteRequest, *T)
	meta   func(*R) *structs.QueryMeta
	object func(*R) any // nil when the reply holds none
	// missing is the answer to a read of a missing object.
	missing func() (any, error)
}

var aclPolicies = aclObject[structs.ACLPolicy, structs.ACLPolicyReply]{
	kind:   "policy",
	id:     func(p *structs.ACLPolicy) *string { return &p.ID },
	set:    func(w *structs.ACLWriteRequest, p *structs.ACLPolicy) { w.Policy = p },
	meta:   func(r *structs.ACLPolicyReply) *structs.QueryMeta { return &r.QueryMeta },
	object: func(r *structs.ACLPolicyReply) any { return nilIf(r.Policy) },
	// Consul answers a missing policy as a missing token.
	missing: func() (any, error) { return nil, structs.ErrACLNotFound },
}

var aclRoles = aclObject[structs.ACLRole, structs.ACLRoleReply]{
	kind:    "role",
	id:      func(r *structs.ACLRole) *string { return &r.ID },
	set:     func(w *structs.ACLWriteRequest, r *structs.ACLRole) { w.Role = r },
	meta:    func(r *structs.ACLRoleReply) *structs.QueryMeta { return &r.QueryMeta },
	object:  func(r *structs.ACLRoleReply) any { return nilIf(r.Role) },
	missing: func() (any, error) { return absent{}, nil }, // 404, no body, as Consul answers
}

// nilIf is p as an any that is nil when p is.
func nilIf[T any](p *T) any {
	if p == nil {
		return nil
	}
	return p
}

// method is the RPC method of an operation ("Set", "Read", "Delete").
func (o aclObject[T, R]) method(op string) string {
	return "ACL." + strings.ToUpper(o.kind[:1]) + o.kind[1:] + op
}

// create serves PUT /v1/acl/<kind>.
func (o aclObject[T, R]) create(h *Handler) handlerFunc {
	return func(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) { return o.write(h, r, "", true) }
}

func (o aclObject[T, R]) write(h *Handler, r *gohttp.Request, id string, create bool) (any, error) {
	var v T
	if err := decodeBody(r, &v); err != nil {
		return nil, err
	}
	if !create {
		if got := o.id(&v); *got != "" && *got != id {
			return nil, badRequest("%s ID in URL and payload do not match", strings.ToUpper(o.kind[:1])+o.kind[1:])
		}
		*o.id(&v) = id
	}
	args := &structs.ACLWriteRequest{Create: create}
	o.set(args, &v)
	var reply R
	if err := h.aclWrite(r, o.method("Set"), args, &reply); err != nil {
		return nil, err
	}
	return o.object(&reply), nil
}

// one serves /v1/acl/<kind>/<id> (GET, PUT, DELETE) and GET
// /v1/acl/<kind>/name/<name>.
func (o aclObject[T, R]) one(h *Handler) handlerFunc {
	return func(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
		id := strings.TrimPrefix(r.URL.Path, "/v1/acl/"+o.kind+"/")
		args := &structs.ACLReadRequest{ID: id}
		if name, ok := strings.CutPrefix(id, "name/"); ok {
			if r.Method != gohttp.MethodGet {
				return methodNotAllowed(w, r, get)
			}
			args = &structs.ACLReadRequest{Name: name}
		} else if id == "" || strings.Contains(id, "/") {
			return nil, badRequest("Missing %s ID", o.kind)
		}
		switch r.Method {
		case gohttp.MethodPut:
			return o.write(h, r, id, false)
		case gohttp.MethodDelete:
			var ok bool
			return ok, h.aclWrite(r, o.method("Delete"), &structs.ACLWriteRequest{ID: id}, &ok)
		}
		return aclRead(h, w, r, o.method("Read"), args, o.meta, func(rp *R) (any, error) {
			if v := o.object(rp); v != nil {
				return v, nil
			}
			return o.missing()
		})
	}
}

// aclPolicyList serves GET /v1/acl/policies.
func (h *Handler) aclPolicyList(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	return aclRead(h, w, r, "ACL.PolicyList", &structs.ACLReadRequest{},
		func(rp *structs.ACLPoliciesReply) *structs.QueryMeta { return &rp.QueryMeta },
		func(rp *structs.ACLPoliciesReply) (any, error) {
			out := make([]*structs.ACLPolicyListEntry, 0, len(rp.Policies))
			for _, p := range rp.Policies {
				out = append(out, p.ListEntry())
			}
			return out, nil
		})
}

// aclRoleList serves GET /v1/acl/roles.
func (h *Handler) aclRoleList(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	return aclRead(h, w, r, "ACL.RoleList", &structs.ACLReadRequest{},
		func(rp *structs.ACLRolesReply) *structs.QueryMeta { return &rp.QueryMeta },
		func(rp *structs.ACLRolesReply) (any, error) { return rp.Roles, nil })
}

// aclReplication serves GET /v1/acl/replication: the ACL replication of
// the datacenter's leader (?dc: another datacenter's).
func (h *Handler) aclReplication(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args := structs.DCSpecificRequest{Datacenter: parseDC(r)}
	var out structs.ACLReplicationStatus
	if err := h.backend.RPC(r.Context(), "ACL.ReplicationStatus", &args, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// agentToken serves PUT /v1/agent/token/<kind>: {"Token": "..."}. It
// needs acl:write, as in Consul.
func (h *Handler) agentToken(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	if !h.backend.ACLsEnabled() {
		return nil, structs.ErrACLDisabled
	}
	authz, err := h.authz(r)
	if err != nil {
		return nil, err
	}
	if !authz.ACLWrite() {
		return nil, structs.ErrPermissionDenied
	}
	var body struct{ Token string }
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if err := h.backend.SetAgentToken(strings.TrimPrefix(r.URL.Path, "/v1/agent/token/"), body.Token); err != nil {
		return nil, err
	}
	w.WriteHeader(gohttp.StatusOK)
	return nil, nil
}

// methodNotAllowed answers a method a sub-path of a route does not take,
// as ServeHTTP answers one a route does not take.
func methodNotAllowed(w gohttp.ResponseWriter, r *gohttp.Request, methods []string) (any, error) {
	w.Header().Set("Allow", strings.Join(methods, ", "))
	gohttp.Error(w, "method "+r.Method+" not allowed", gohttp.StatusMethodNotAllowed)
	return nil, nil
}
