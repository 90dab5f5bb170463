package client

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// ACLLink names a policy or a role: by ID, by name, or both.
type ACLLink struct {
	ID   string `json:",omitempty"`
	Name string `json:",omitempty"`
}

// ACLServiceIdentity stands for the rules a service instance needs.
type ACLServiceIdentity struct {
	ServiceName string
	Datacenters []string `json:",omitempty"`
}

// ACLNodeIdentity stands for the rules an agent's node needs.
type ACLNodeIdentity struct {
	NodeName   string
	Datacenter string
}

// ACLToken is a token in Consul's JSON shape (and a list entry of
// /v1/acl/tokens).
type ACLToken struct {
	AccessorID        string                `json:",omitempty"`
	SecretID          string                `json:",omitempty"`
	Description       string                `json:",omitempty"`
	Policies          []*ACLLink            `json:",omitempty"`
	Roles             []*ACLLink            `json:",omitempty"`
	ServiceIdentities []*ACLServiceIdentity `json:",omitempty"`
	NodeIdentities    []*ACLNodeIdentity    `json:",omitempty"`
	Local             bool
	ExpirationTime    *time.Time    `json:",omitempty"`
	ExpirationTTL     time.Duration `json:",omitempty"`
	CreateTime        time.Time     `json:",omitempty"`
	Hash              []byte        `json:",omitempty"`
	CreateIndex       uint64        `json:",omitempty"`
	ModifyIndex       uint64        `json:",omitempty"`
}

// ACLPolicy is a policy (list entries carry no Rules).
type ACLPolicy struct {
	ID          string   `json:",omitempty"`
	Name        string   `json:",omitempty"`
	Description string   `json:",omitempty"`
	Rules       string   `json:",omitempty"`
	Datacenters []string `json:",omitempty"`
	Hash        []byte   `json:",omitempty"`
	CreateIndex uint64   `json:",omitempty"`
	ModifyIndex uint64   `json:",omitempty"`
}

// ACLRole is a role.
type ACLRole struct {
	ID                string                `json:",omitempty"`
	Name              string                `json:",omitempty"`
	Description       string                `json:",omitempty"`
	Policies          []*ACLLink            `json:",omitempty"`
	ServiceIdentities []*ACLServiceIdentity `json:",omitempty"`
	NodeIdentities    []*ACLNodeIdentity    `json:",omitempty"`
	Hash              []byte                `json:",omitempty"`
	CreateIndex       uint64                `json:",omitempty"`
	ModifyIndex       uint64                `json:",omitempty"`
}

// ACL is the /v1/acl endpoint.
type ACL struct{ c *Client }

// ACL returns the handle for the ACL endpoints.
func (c *Client) ACL() *ACL { return &ACL{c: c} }

// send makes one write with a JSON body (nil: none) and decodes the reply
// into out (nil: ignore it).
func (a *ACL) send(ctx context.Context, method, path string, body, out any, w *WriteOptions) error {
	r := a.c.newRequest(method, path)
	if body != nil {
		b, err := jsonBody(body)
		if err != nil {
			return err
		}
		r.body = b
		r.header.Set("Content-Type", "application/json")
	}
	_, err := a.c.writeDecode(ctx, r, w, out)
	return err
}

// read makes one read; a 404 is found=false.
func (a *ACL) read(ctx context.Context, path string, out any, q *QueryOptions) (bool, error) {
	found, _, err := a.c.query(ctx, a.c.newRequest("GET", path), q, out)
	return found, err
}

// Bootstrap creates the first management token.
func (a *ACL) Bootstrap(ctx context.Context, w *WriteOptions) (*ACLToken, error) {
	var out ACLToken
	if err := a.send(ctx, "PUT", "/v1/acl/bootstrap", nil, &out, w); err != nil {
		return nil, fmt.Errorf("bootstrapping ACLs: %w", err)
	}
	return &out, nil
}

// TokenCreate creates a token.
func (a *ACL) TokenCreate(ctx context.Context, t *ACLToken, w *WriteOptions) (*ACLToken, error) {
	var out ACLToken
	if err := a.send(ctx, "PUT", "/v1/acl/token", t, &out, w); err != nil {
		return nil, fmt.Errorf("creating token: %w", err)
	}
	return &out, nil
}

// TokenUpdate replaces token t.AccessorID.
func (a *ACL) TokenUpdate(ctx context.Context, t *ACLToken, w *WriteOptions) (*ACLToken, error) {
	var out ACLToken
	if err := a.send(ctx, "PUT", "/v1/acl/token/"+url.PathEscape(t.AccessorID), t, &out, w); err != nil {
		return nil, fmt.Errorf("updating token %s: %w", t.AccessorID, err)
	}
	return &out, nil
}

// TokenClone copies a token with new IDs and, if not empty, description.
func (a *ACL) TokenClone(ctx context.Context, accessor, description string, w *WriteOptions) (*ACLToken, error) {
	var out ACLToken
	body := map[string]string{"Description": description}
	if err := a.send(ctx, "PUT", "/v1/acl/token/"+url.PathEscape(accessor)+"/clone", body, &out, w); err != nil {
		return nil, fmt.Errorf("cloning token %s: %w", accessor, err)
	}
	return &out, nil
}

// TokenDelete deletes a token.
func (a *ACL) TokenDelete(ctx context.Context, accessor string, w *WriteOptions) error {
	if err := a.send(ctx, "DELETE", "/v1/acl/token/"+url.PathEscape(accessor), nil, nil, w); err != nil {
		return fmt.Errorf("deleting token %s: %w", accessor, err)
	}
	return nil
}

// TokenRead reads a token by accessor ID ("self": the request's token).
func (a *ACL) TokenRead(ctx context.Context, accessor string, q *QueryOptions) (*ACLToken, error) {
	var out ACLToken
	if _, err := a.read(ctx, "/v1/acl/token/"+url.PathEscape(accessor), &out, q); err != nil {
		return nil, fmt.Errorf("reading token %s: %w", accessor, err)
	}
	return &out, nil
}

// TokenList lists every token.
func (a *ACL) TokenList(ctx context.Context, q *QueryOptions) ([]*ACLToken, error) {
	var out []*ACLToken
	if _, err := a.read(ctx, "/v1/acl/tokens", &out, q); err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	return out, nil
}

// PolicyCreate creates a policy.
func (a *ACL) PolicyCreate(ctx context.Context, p *ACLPolicy, w *WriteOptions) (*ACLPolicy, error) {
	var out ACLPolicy
	if err := a.send(ctx, "PUT", "/v1/acl/policy", p, &out, w); err != nil {
		return nil, fmt.Errorf("creating policy: %w", err)
	}
	return &out, nil
}

// PolicyUpdate replaces policy p.ID.
func (a *ACL) PolicyUpdate(ctx context.Context, p *ACLPolicy, w *WriteOptions) (*ACLPolicy, error) {
	var out ACLPolicy
	if err := a.send(ctx, "PUT", "/v1/acl/policy/"+url.PathEscape(p.ID), p, &out, w); err != nil {
		return nil, fmt.Errorf("updating policy %s: %w", p.ID, err)
	}
	return &out, nil
}

// PolicyDelete deletes a policy.
func (a *ACL) PolicyDelete(ctx context.Context, id string, w *WriteOptions) error {
	if err := a.send(ctx, "DELETE", "/v1/acl/policy/"+url.PathEscape(id), nil, nil, w); err != nil {
		return fmt.Errorf("deleting policy %s: %w", id, err)
	}
	return nil
}

// PolicyRead reads a policy by ID, or by name when byName.
func (a *ACL) PolicyRead(ctx context.Context, idOrName string, byName bool, q *QueryOptions) (*ACLPolicy, error) {
	path := "/v1/acl/policy/" + url.PathEscape(idOrName)
	if byName {
		path = "/v1/acl/policy/name/" + url.PathEscape(idOrName)
	}
	var out ACLPolicy
	if _, err := a.read(ctx, path, &out, q); err != nil {
		return nil, fmt.Errorf("reading policy %s: %w", idOrName, err)
	}
	return &out, nil
}

// PolicyList lists every policy (without rules).
func (a *ACL) PolicyList(ctx context.Context, q *QueryOptions) ([]*ACLPolicy, error) {
	var out []*ACLPolicy
	if _, err := a.read(ctx, "/v1/acl/policies", &out, q); err != nil {
		return nil, fmt.Errorf("listing policies: %w", err)
	}
	return out, nil
}

// RoleCreate creates a role.
func (a *ACL) RoleCreate(ctx context.Context, r *ACLRole, w *WriteOptions) (*ACLRole, error) {
	var out ACLRole
	if err := a.send(ctx, "PUT", "/v1/acl/role", r, &out, w); err != nil {
		return nil, fmt.Errorf("creating role: %w", err)
	}
	return &out, nil
}

// RoleUpdate replaces role r.ID.
func (a *ACL) RoleUpdate(ctx context.Context, r *ACLRole, w *WriteOptions) (*ACLRole, error) {
	var out ACLRole
	if err := a.send(ctx, "PUT", "/v1/acl/role/"+url.PathEscape(r.ID), r, &out, w); err != nil {
		return nil, fmt.Errorf("updating role %s: %w", r.ID, err)
	}
	return &out, nil
}

// RoleDelete deletes a role.
func (a *ACL) RoleDelete(ctx context.Context, id string, w *WriteOptions) error {
	if err := a.send(ctx, "DELETE", "/v1/acl/role/"+url.PathEscape(id), nil, nil, w); err != nil {
		return fmt.Errorf("deleting role %s: %w", id, err)
	}
	return nil
}

// RoleRead reads a role by ID, or by name when byName; a missing role is
// (nil, nil).
func (a *ACL) RoleRead(ctx context.Context, idOrName string, byName bool, q *QueryOptions) (*ACLRole, error) {
	path := "/v1/acl/role/" + url.PathEscape(idOrName)
	if byName {
		path = "/v1/acl/role/name/" + url.PathEscape(idOrName)
	}
	var out ACLRole
	found, err := a.read(ctx, path, &out, q)
	if err != nil {
		return nil, fmt.Errorf("reading role %s: %w", idOrName, err)
	}
	if !found {
		return nil, nil
	}
	return &out, nil
}

// RoleList lists every role.
func (a *ACL) RoleList(ctx context.Context, q *QueryOptions) ([]*ACLRole, error) {
	var out []*ACLRole
	if _, err := a.read(ctx, "/v1/acl/roles", &out, q); err != nil {
		return nil, fmt.Errorf("listing roles: %w", err)
	}
	return out, nil
}

// SetAgentToken sets one of the agent's tokens: "default", "agent",
// "agent_recovery" or "replication".
func (a *ACL) SetAgentToken(ctx context.Context, kind, token string, w *WriteOptions) error {
	body := map[string]string{"Token": token}
	if err := a.send(ctx, "PUT", "/v1/agent/token/"+url.PathEscape(kind), body, nil, w); err != nil {
		return fmt.Errorf("setting the agent's %s token: %w", kind, err)
	}
	return nil
}

// ACLReplicationStatus is a datacenter's ACL replication, as its leader
// reports it.
type ACLReplicationStatus struct {
	Enabled              bool
	Running              bool
	SourceDatacenter     string
	ReplicationType      string
	ReplicatedIndex      uint64
	ReplicatedRoleIndex  uint64
	ReplicatedTokenIndex uint64
	LastSuccess          time.Time
	LastError            time.Time
	LastErrorMessage     string
}

// Replication reads the ACL replication status (q.Datacenter: another
// datacenter's). It needs no permission.
func (a *ACL) Replication(ctx context.Context, q *QueryOptions) (*ACLReplicationStatus, error) {
	var out ACLReplicationStatus
	if _, err := a.read(ctx, "/v1/acl/replication", &out, q); err != nil {
		return nil, fmt.Errorf("reading the ACL replication status: %w", err)
	}
	return &out, nil
}
