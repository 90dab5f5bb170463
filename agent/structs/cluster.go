package structs

import (
	"errors"
	"time"
)

// Cluster-wide errors. Keep the texts: they are Consul's, and clients match
// some of them literally.
var (
	// ErrNoServers: a client agent knows no server of its datacenter (it has
	// not joined a cluster, or every server is gone from its view).
	ErrNoServers = errors.New("No known Consul servers")
	// ErrUnknownPeer: a raft peer removal named no server of the
	// configuration.
	ErrUnknownPeer = errors.New("no such raft peer")
)

// QueryWait is how long a blocking read waits for a change before it
// answers with what it has: the client's wait, DefaultQueryTime when it
// named none, at most MaxQueryTime; zero for a read without ?index. The
// server adds up to a sixteenth of it as jitter (agent/blocking).
func (q *QueryOptions) QueryWait() time.Duration {
	if q.MinQueryIndex == 0 {
		return 0
	}
	wait := q.MaxQueryTime
	if wait <= 0 {
		wait = DefaultQueryTime
	}
	return min(wait, MaxQueryTime)
}

// BlockingWait is how long a read may legitimately block on the server,
// jitter included: zero for a read without ?index. Transports use it to
// size their call timeout, so a blocking query is never cut short while a
// dead server's call still is.
func (q *QueryOptions) BlockingWait() time.Duration {
	wait := q.QueryWait()
	return wait + wait/16
}

// RaftStatsRequest asks one server about its own raft state. It is never
// forwarded: the point is what that server sees.
type RaftStatsRequest struct{}

// RaftStats is one server's view of its raft log, for bootstrap-expect (a
// server with any state means a cluster already exists) and for
// autopilot's health checks.
type RaftStats struct {
	// NodeID is the answering server's raft ID.
	NodeID string
	// LastContact is how long since the server heard from the leader; zero
	// on the leader, negative when it never heard from one.
	LastContact time.Duration
	// LastTerm and LastIndex are the newest entry in its log.
	LastTerm  uint64
	LastIndex uint64
	// NumPeers is the number of servers in its latest raft configuration.
	NumPeers int
	// HasState is true when the server has a log, a snapshot or a
	// configuration: it is (or was) a member of a cluster.
	HasState bool
}

// RaftServer is one server of the raft configuration, in Consul's JSON
// shape (/v1/operator/raft/configuration).
type RaftServer struct {
	// ID is the raft server ID: the node ID.
	ID string
	// Node is the node name, or "(unknown)" when no member carries the ID.
	Node string
	// Address is the server's raft address (IP:port).
	Address string
	// Leader is true for the current leader.
	Leader bool
	// ProtocolVersion is the raft protocol the server speaks ("3").
	ProtocolVersion string
	// Voter is true for servers with a vote.
	Voter bool
	// LastIndex is the last log index the server has a record of, when the
	// answering leader knows it (autopilot's view); zero otherwise.
	LastIndex uint64
}

// RaftConfigurationResponse is the raft configuration at Index.
type RaftConfigurationResponse struct {
	Servers []*RaftServer
	Index   uint64
}

// RaftRemovePeerRequest removes one server from the raft configuration, by
// ID or by address (exactly one of them).
type RaftRemovePeerRequest struct {
	Datacenter string
	ID         string
	Address    string
	WriteRequest
}

// RequestDatacenter names the datacenter the request is for.
func (r *RaftRemovePeerRequest) RequestDatacenter() string { return r.Datacenter }

// Validate checks that exactly one of ID and Address is set.
func (r *RaftRemovePeerRequest) Validate() error {
	switch {
	case r.ID == "" && r.Address == "":
		return errors.New("Must specify either ?id with the server's ID or ?address with IP:port of peer to remove")
	case r.ID != "" && r.Address != "":
		return errors.New("Must specify only one of ?id or ?address")
	}
	return nil
}
