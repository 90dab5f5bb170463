package structs

import (
	"context"
	"time"
)

// MessageType is the first byte of every raft log entry: it tells the FSM
// which request type the msgpack body decodes into.
type MessageType uint8

const (
	KVSRequestType       MessageType = 1
	TxnRequestType       MessageType = 2
	TombstoneRequestType MessageType = 3

	// 10-19: cluster membership and autopilot.
	AutopilotRequestType MessageType = 10
	// 20-29: catalog.
	RegisterRequestType   MessageType = 20
	DeregisterRequestType MessageType = 21
	// 30-39: sessions, events and the rest of the agent's tools.
)

// Limits that Consul documents and clients depend on.
const (
	// MaxKVSize is the largest value a single key may hold (Consul's
	// kv_max_value_size default, 512 KiB).
	MaxKVSize = 512 * 1024
	// MaxTxnOps is the most operations one transaction may carry.
	MaxTxnOps = 64
	// DefaultQueryTime is the blocking-query wait when the client names none.
	DefaultQueryTime = 5 * time.Minute
	// MaxQueryTime caps any blocking-query wait a client asks for.
	MaxQueryTime = 10 * time.Minute
)

// QueryOptions are the read-side knobs every read request carries.
type QueryOptions struct {
	// Token is the ACL token (X-Consul-Token, Authorization: Bearer, ?token).
	Token string
	// MinQueryIndex makes the read block until the result's index passes it.
	MinQueryIndex uint64
	// MaxQueryTime bounds the block; zero means DefaultQueryTime.
	MaxQueryTime time.Duration
	// AllowStale lets any server answer from its own state.
	AllowStale bool
	// RequireConsistent makes the leader confirm leadership with a quorum
	// before it answers.
	RequireConsistent bool
	// Filter is a go-bexpr expression applied to the result.
	Filter string

	// readIndexed is set by the server that will answer a default read
	// from its own state after catching up to the leader's read index. It
	// is unexported, so it never crosses the wire.
	readIndexed bool

	// ctx is the caller's context (see RequestContext). Unexported, so it
	// never crosses the wire.
	ctx context.Context
}

// IsRead lets the RPC layer tell reads from writes without a type switch.
func (q *QueryOptions) IsRead() bool { return true }

// Options gives the RPC layer the read options of any read request.
func (q *QueryOptions) Options() *QueryOptions { return q }

// MarkReadIndexed records that this server caught up to the leader's read
// index for this read, so it may answer from its own state.
func (q *QueryOptions) MarkReadIndexed() { q.readIndexed = true }

// ReadIndexed tells whether MarkReadIndexed was called.
func (q *QueryOptions) ReadIndexed() bool { return q.readIndexed }

// TokenSecret returns the request's token for the authorization seam.
func (q *QueryOptions) TokenSecret() string { return q.Token }

// WriteRequest is embedded by every write.
type WriteRequest struct {
	Token string

	// ctx is the caller's context (see RequestContext).
	ctx context.Context
}

// Context is the context of the caller that made the request (the HTTP
// request's, for a request an HTTP client made); never nil.
func (q *QueryOptions) Context() context.Context { return orBackground(q.ctx) }

// SetContext attaches the caller's context; the RPC layer does it once, on
// the way in.
func (q *QueryOptions) SetContext(ctx context.Context) { q.ctx = ctx }

// Context is the context of the caller that made the request; never nil.
func (w *WriteRequest) Context() context.Context { return orBackground(w.ctx) }

// SetContext attaches the caller's context.
func (w *WriteRequest) SetContext(ctx context.Context) { w.ctx = ctx }

func orBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}

// IsRead is false for writes: they always go to the leader.
func (w *WriteRequest) IsRead() bool { return false }

// TokenSecret returns the request's token for the authorization seam.
func (w *WriteRequest) TokenSecret() string { return w.Token }

// QueryMeta is returned with every read: it becomes the X-Consul-* headers.
type QueryMeta struct {
	// Index is the raft index the result reflects (X-Consul-Index).
	Index uint64
	// LastContact is how long since this server heard from the leader; zero
	// on the leader itself (X-Consul-LastContact, in milliseconds).
	LastContact time.Duration
	// KnownLeader tells whether the answering server knows a leader.
	KnownLeader bool
	// ResultsFilteredByACLs tells that the token's ACLs removed something
	// from the answer (X-Consul-Results-Filtered-By-ACLs).
	ResultsFilteredByACLs bool
}

// FilteredByACLs marks the reply as narrowed by ACL; the server's method
// table calls it for every reply of a request whose token was refused
// something.
func (m *QueryMeta) FilteredByACLs() { m.ResultsFilteredByACLs = true }

// RPCInfo is what the RPC layer needs to route any request.
//
// A request carries its caller's context the way an *http.Request does:
// the endpoint signature, func(args, reply) error, has no place for one,
// and the same endpoints serve remote calls; so Server.RPC attaches it to
// the request (SetContext) and the endpoint, forwarding and the blocking
// query read it back (Context). It never crosses the wire: an endpoint
// called over the server port runs with context.Background(), bounded by
// the request's own wait.
type RPCInfo interface {
	RequestContext
	IsRead() bool
	AllowStaleRead() bool
	TokenSecret() string
	RequestDatacenter() string
}

// AllowStaleRead tells the RPC layer whether any server may answer.
func (q *QueryOptions) AllowStaleRead() bool { return q.AllowStale }

// AllowStaleRead is false for writes.
func (w *WriteRequest) AllowStaleRead() bool { return false }

// RequestContext is implemented by every request that embeds QueryOptions
// or WriteRequest.
type RequestContext interface {
	Context() context.Context
	SetContext(ctx context.Context)
}

// SetTokenSecret sets the request's token: the agent fills in its default
// token where a request carries none.
func (q *QueryOptions) SetTokenSecret(token string) { q.Token = token }

// SetTokenSecret sets the request's token.
func (w *WriteRequest) SetTokenSecret(token string) { w.Token = token }
