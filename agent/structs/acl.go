package structs

import (
	"crypto/sha256"
	"encoding/json"
	"time"
)

// ACLRequestType is the raft entry of every ACL write (40-49: ACLs).
const ACLRequestType MessageType = 40

// Well-known ACL identities, the same as Consul's.
const (
	ACLAnonymousAccessorID   = "00000000-0000-0000-0000-000000000002"
	ACLAnonymousSecretID     = "anonymous"
	ACLManagementPolicyID    = "00000000-0000-0000-0000-000000000001"
	ACLManagementPolicyName  = "global-management"
	ACLBootstrapDescription  = "Bootstrap Token (Global Management)"
	ACLInitialMgmtDesc       = "Initial Management Token"
	ACLAnonymousDescription  = "Anonymous Token"
	ACLManagementPolicyRules = `acl = "write"
agent_prefix "" { policy = "write" }
event_prefix "" { policy = "write" }
key_prefix "" { policy = "write" }
keyring = "write"
node_prefix "" { policy = "write" }
operator = "write"
query_prefix "" { policy = "write" }
service_prefix "" { policy = "write" }
session_prefix "" { policy = "write" }`
	ACLManagementPolicyDesc = "Builtin Policy that grants unlimited access"
	// ACLRedacted replaces a SecretID shown to a token without acl:write.
	ACLRedacted = "<hidden>"
)

// ACLTokenPolicyLink names a policy (or a role's policy) by ID, and by
// name on the way out.
type ACLTokenPolicyLink struct {
	ID   string `json:",omitempty"`
	Name string `json:",omitempty"`
}

// ACLTokenRoleLink names a role.
type ACLTokenRoleLink struct {
	ID   string `json:",omitempty"`
	Name string `json:",omitempty"`
}

// ACLServiceIdentity grants what a service instance needs: write on the
// service (and its sidecar proxy), read on every service and node.
type ACLServiceIdentity struct {
	ServiceName string
	Datacenters []string `json:",omitempty"`
}

// ACLNodeIdentity grants what an agent needs: write on its node, read on
// every service.
type ACLNodeIdentity struct {
	NodeName   string
	Datacenter string
}

// ACLToken is a token, in Consul's JSON shape and field order.
type ACLToken struct {
	AccessorID        string
	SecretID          string
	Description       string
	Policies          []*ACLTokenPolicyLink `json:",omitempty"`
	Roles             []*ACLTokenRoleLink   `json:",omitempty"`
	ServiceIdentities []*ACLServiceIdentity `json:",omitempty"`
	NodeIdentities    []*ACLNodeIdentity    `json:",omitempty"`
	Local             bool
	ExpirationTime    *time.Time    `json:",omitempty"`
	ExpirationTTL     time.Duration `json:",omitempty"`
	CreateTime        time.Time
	Hash              []byte `json:",omitempty"`
	CreateIndex       uint64
	ModifyIndex       uint64
}

// Expired tells whether the token has passed its expiration time at now.
func (t *ACLToken) Expired(now time.Time) bool {
	return t.ExpirationTime != nil && !now.Before(*t.ExpirationTime)
}

// SetHash records a digest of what the token grants, as Consul's Hash
// does: it changes when the token's permissions or description change.
func (t *ACLToken) SetHash() {
	t.Hash = digest(t.Description, t.Policies, t.Roles, t.ServiceIdentities, t.NodeIdentities, t.Local)
}

// ACLPolicy is a named set of rules.
type ACLPolicy struct {
	ID          string
	Name        string
	Description string
	Rules       string
	Datacenters []string `json:",omitempty"`
	Hash        []byte   `json:",omitempty"`
	CreateIndex uint64
	ModifyIndex uint64
}

// SetHash records a digest of the policy's rules and description.
func (p *ACLPolicy) SetHash() { p.Hash = digest(p.Name, p.Description, p.Rules, p.Datacenters) }

// ACLPolicyListEntry is a policy as /v1/acl/policies lists it (no rules).
type ACLPolicyListEntry struct {
	ID          string
	Name        string
	Description string
	Datacenters []string `json:",omitempty"`
	Hash        []byte
	CreateIndex uint64
	ModifyIndex uint64
}

// ListEntry is the policy's list form.
func (p *ACLPolicy) ListEntry() *ACLPolicyListEntry {
	return &ACLPolicyListEntry{ID: p.ID, Name: p.Name, Description: p.Description,
		Datacenters: p.Datacenters, Hash: p.Hash, CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex}
}

// ACLRole is a named set of policies and identities tokens can share.
type ACLRole struct {
	ID                string
	Name              string
	Description       string
	Policies          []*ACLTokenPolicyLink `json:",omitempty"`
	ServiceIdentities []*ACLServiceIdentity `json:",omitempty"`
	NodeIdentities    []*ACLNodeIdentity    `json:",omitempty"`
	Hash              []byte                `json:",omitempty"`
	CreateIndex       uint64
	ModifyIndex       uint64
}

// SetHash records a digest of what the role grants.
func (r *ACLRole) SetHash() {
	r.Hash = digest(r.Name, r.Description, r.Policies, r.ServiceIdentities, r.NodeIdentities)
}

func digest(parts ...any) []byte {
	b, _ := json.Marshal(parts) // plain data: cannot fail
	sum := sha256.Sum256(b)
	return sum[:]
}

// ACLOp is what an ACL raft entry does.
type ACLOp string

// The ACL writes.
const (
	ACLBootstrap    ACLOp = "bootstrap"
	ACLTokenSet     ACLOp = "token-set"
	ACLTokenDelete  ACLOp = "token-delete"
	ACLPolicySet    ACLOp = "policy-set"
	ACLPolicyDelete ACLOp = "policy-delete"
	ACLRoleSet      ACLOp = "role-set"
	ACLRoleDelete   ACLOp = "role-delete"
	// ACLBatch applies Batch, every write or none: a secondary
	// datacenter's replication commits a round of changes in few entries.
	ACLBatch ACLOp = "batch"
)

// ACLRequest is one ACL write as raft carries it. The leader has filled
// in every ID, secret, time and hash, so the FSM stays deterministic.
type ACLRequest struct {
	Op     ACLOp
	Token  *ACLToken  `json:",omitempty"`
	Policy *ACLPolicy `json:",omitempty"`
	Role   *ACLRole   `json:",omitempty"`
	// ID names what a delete removes.
	ID string `json:",omitempty"`
	// Batch holds the writes of an ACLBatch (none of them a batch or a
	// bootstrap).
	Batch []*ACLRequest `json:",omitempty"`
}

// ACLReplicationType is what a secondary datacenter replicates: roles and
// policies, or those and the global tokens.
type ACLReplicationType string

// Consul's names of the replication types.
const (
	ACLReplicatePolicies ACLReplicationType = "policies"
	ACLReplicateTokens   ACLReplicationType = "tokens"
)

// ACLReplicationStatus is a datacenter leader's report of its ACL
// replication (/v1/acl/replication), in Consul's shape. The indexes are
// the primary's, of the last list applied here.
type ACLReplicationStatus struct {
	Enabled              bool
	Running              bool
	SourceDatacenter     string
	ReplicationType      ACLReplicationType
	ReplicatedIndex      uint64
	ReplicatedRoleIndex  uint64
	ReplicatedTokenIndex uint64
	LastSuccess          time.Time
	LastError            time.Time
	LastErrorMessage     string
}

// ACLWriteRequest creates, updates or deletes a token, policy or role:
// one of them is set, or ID for a delete or a clone.
type ACLWriteRequest struct {
	Datacenter string
	// ACLToken is named so because the embedded WriteRequest's Token is
	// the request's secret.
	ACLToken *ACLToken
	Policy   *ACLPolicy
	Role     *ACLRole
	// ID is the accessor ID (or policy, role ID) a delete or a clone
	// names; Description is a clone's.
	ID          string
	Description string
	// Create is set by PUT /v1/acl/token (and policy, role): an ID in the
	// body must then be new.
	Create bool
	WriteRequest
}

// RequestDatacenter routes the request.
func (r *ACLWriteRequest) RequestDatacenter() string { return r.Datacenter }

// ACLReadRequest reads one token (by accessor or secret), policy or role
// (by ID or name), or lists them.
type ACLReadRequest struct {
	Datacenter string
	ID         string
	// Name is a policy's or role's name; for ACL.Resolve, the datacenter
	// the token is used in.
	Name string
	// BySecret makes ID a token's secret (token/self).
	BySecret bool
	// PolicyID and RoleID narrow a token list (?policy, ?role).
	PolicyID string
	RoleID   string
	QueryOptions
}

// RequestDatacenter routes the request.
func (r *ACLReadRequest) RequestDatacenter() string { return r.Datacenter }

// ACLTokenReply answers a token read or write.
type ACLTokenReply struct {
	Token *ACLToken
	QueryMeta
}

// ACLTokensReply answers a token list.
type ACLTokensReply struct {
	Tokens []*ACLToken
	QueryMeta
}

// ACLPolicyReply answers a policy read or write.
type ACLPolicyReply struct {
	Policy *ACLPolicy
	QueryMeta
}

// ACLPoliciesReply answers a policy list, and the resolution of a token
// (its policies, with rules).
type ACLPoliciesReply struct {
	Policies []*ACLPolicy
	QueryMeta
}

// ACLRoleReply answers a role read or write.
type ACLRoleReply struct {
	Role *ACLRole
	QueryMeta
}

// ACLRolesReply answers a role list.
type ACLRolesReply struct {
	Roles []*ACLRole
	QueryMeta
}

// ACLResolveReply is a token with everything it grants, as a client
// agent or a secondary datacenter caches it.
type ACLResolveReply struct {
	Token *ACLToken
	// Management is set for a token with the global-management policy.
	Management bool
	// Policies holds the rules of the token's own policies, its roles'
	// policies and the identities' synthesised policies.
	Policies []*ACLPolicy
	QueryMeta
}
