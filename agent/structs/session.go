package structs

import (
	"time"
)

// SessionCreateType and SessionDestroyType are the raft entries of the
// session table (the 30-39 range).
const (
	SessionCreateType  MessageType = 30
	SessionDestroyType MessageType = 31
)

// Session behaviours: what happens to the locks a session holds when it is
// invalidated.
const (
	SessionKeysRelease = "release"
	SessionKeysDelete  = "delete"
)

// Session defaults and limits, as Consul's.
const (
	// DefaultLockDelay is the lock-delay of a session that names none.
	DefaultLockDelay = 15 * time.Second
	// MaxLockDelay caps a session's lock-delay (Consul's 60s).
	MaxLockDelay = 60 * time.Second
	// SessionTTLMax is the longest TTL a session may have.
	SessionTTLMax = 24 * time.Hour
	// SessionTTLMultiplier is the grace the leader gives a TTL: a session
	// is invalidated only once TTL × this has passed without a renewal.
	SessionTTLMultiplier = 2
)

// ServiceCheck names a service check a session links to.
type ServiceCheck struct {
	ID        string
	Namespace string
}

// Session is one session, in Consul's JSON shape. LockDelay is a
// duration in nanoseconds on output; TTL keeps the string it was given.
type Session struct {
	ID            string
	Name          string
	Node          string
	LockDelay     time.Duration
	Behavior      string
	TTL           string
	NodeChecks    []string
	ServiceChecks []ServiceCheck
	CreateIndex   uint64
	ModifyIndex   uint64
}

// Sessions is a list of sessions, ordered by ID.
type Sessions []*Session

// CheckIDs is every check the session links to: node checks, then service
// checks.
func (s *Session) CheckIDs() []string {
	out := append([]string(nil), s.NodeChecks...)
	for _, c := range s.ServiceChecks {
		out = append(out, c.ID)
	}
	return out
}

// TTLDuration is the session's TTL, 0 for none. A TTL that does not parse
// never reached the store (Validate), so it counts as none.
func (s *Session) TTLDuration() time.Duration {
	if s.TTL == "" {
		return 0
	}
	d, err := time.ParseDuration(s.TTL)
	if err != nil {
		return 0
	}
	return d
}

// SessionOp is what a SessionRequest does.
type SessionOp string

// Session operations of Session.Apply.
const (
	SessionCreate  SessionOp = "create"
	SessionDestroy SessionOp = "destroy"
)

// SessionRequest creates or destroys a session (Session.Apply).
type SessionRequest struct {
	Datacenter string
	Op         SessionOp
	Session    Session
	WriteRequest
}

// RequestDatacenter names the datacenter the request is for.
func (r *SessionRequest) RequestDatacenter() string { return r.Datacenter }

// Validate is the one check of a session request before it reaches raft.
// Whether the node and its checks exist is the state store's to judge.
func (r *SessionRequest) Validate() error {
	switch r.Op {
	case SessionCreate:
	case SessionDestroy:
		if r.Session.ID == "" {
			return BadRequestf("Missing session")
		}
		return nil
	default:
		return BadRequestf("Invalid session operation %q", r.Op)
	}
	s := &r.Session
	switch s.Behavior {
	case SessionKeysRelease, SessionKeysDelete:
	default:
		return BadRequestf("Invalid Behavior setting '%s'", s.Behavior)
	}
	if s.Node == "" {
		return BadRequestf("Must provide Node")
	}
	if s.LockDelay < 0 || s.LockDelay > MaxLockDelay {
		return BadRequestf("Invalid LockDelay '%s', must be between [0s=%s]", s.LockDelay, MaxLockDelay)
	}
	if s.TTL != "" {
		if _, err := time.ParseDuration(s.TTL); err != nil {
			return BadRequestf("Session TTL '%s' invalid: %v", s.TTL, err)
		}
	}
	return nil
}

// CheckTTL refuses a TTL outside [min, SessionTTLMax]; 0 (or none) means
// no TTL. min is the serving server's session_ttl_min, which only the
// server knows, so the endpoint calls this after Validate has made sure
// the TTL parses.
func (s *Session) CheckTTL(min time.Duration) error {
	if ttl := s.TTLDuration(); ttl != 0 && (ttl < min || ttl > SessionTTLMax) {
		return BadRequestf("Invalid Session TTL '%s', must be between [%s=%s]", s.TTL, min, SessionTTLMax)
	}
	return nil
}

// DefaultSessionTTLMin is session_ttl_min's default.
const DefaultSessionTTLMin = 10 * time.Second

// SessionSpecificRequest reads (or renews) one session.
type SessionSpecificRequest struct {
	Datacenter string
	SessionID  string
	QueryOptions
}

// RequestDatacenter names the datacenter the request is for.
func (r *SessionSpecificRequest) RequestDatacenter() string { return r.Datacenter }

// NodeSessionsRequest names one node (Session.NodeSessions).
type NodeSessionsRequest struct {
	Datacenter string
	Node       string
	QueryOptions
}

// RequestDatacenter names the datacenter the request is for.
func (r *NodeSessionsRequest) RequestDatacenter() string { return r.Datacenter }

// IndexedSessions is the reply to every session read.
type IndexedSessions struct {
	Sessions Sessions
	QueryMeta
}
