package router

import (
	"net"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/serf/serf"
)

// Member tag keys and values, as Consul's agents gossip them. Clients of
// other tools (consul members, Prometheus' consul_sd) read them.
const (
	TagRole        = "role"
	TagDatacenter  = "dc"
	TagID          = "id"
	TagPort        = "port" // server RPC port
	TagBuild       = "build"
	TagVsn         = "vsn"
	TagVsnMin      = "vsn_min"
	TagVsnMax      = "vsn_max"
	TagRaftVsn     = "raft_vsn"
	TagExpect      = "expect"
	TagBootstrap   = "bootstrap"
	TagSegment     = "segment"
	TagWANJoinPort = "wan_join_port"
	// TagKVBatch ("1") marks a server that applies KVSBatchRequestType
	// raft entries; the leader writes them only while every server does.
	TagKVBatch = "kv_batch"

	RoleServer = "consul"
	RoleClient = "node"
)

// Server is a server as gossip describes it.
type Server struct {
	// Name is the node name; for a WAN member its "node.dc" suffix is cut.
	Name string
	// ID is the node ID: the server's raft ID.
	ID string
	// Datacenter the server belongs to.
	Datacenter string
	// Addr is the server port (raft + RPC): the member's IP and its port tag.
	Addr *net.TCPAddr
	// Build is the version the server runs.
	Build string
	// Expect is its bootstrap_expect (0 when not set).
	Expect int
	// Bootstrap is true for a server started with -bootstrap.
	Bootstrap bool
	// RaftVersion is the raft protocol it speaks.
	RaftVersion int
	// Status is the member's gossip status.
	Status serf.MemberStatus
	// KVBatch is true for a server that applies batched KV raft entries.
	KVBatch bool
}

// String is "name (dc) addr", for logs.
func (s *Server) String() string {
	return s.Name + " (" + s.Datacenter + ") " + s.Addr.String()
}

// IsServer tells whether m is a server and describes it. A member that
// says it is a server but carries no usable port tag is not one.
func IsServer(m serf.Member) (*Server, bool) {
	if m.Tags[TagRole] != RoleServer {
		return nil, false
	}
	dc := m.Tags[TagDatacenter]
	port, err := strconv.Atoi(m.Tags[TagPort])
	if dc == "" || err != nil || port < 1 || port > 65535 {
		return nil, false
	}
	expect, _ := strconv.Atoi(m.Tags[TagExpect])
	raftVsn, _ := strconv.Atoi(m.Tags[TagRaftVsn])
	_, bootstrap := m.Tags[TagBootstrap]
	return &Server{
		Name:        strings.TrimSuffix(m.Name, "."+dc),
		ID:          m.Tags[TagID],
		Datacenter:  dc,
		Addr:        &net.TCPAddr{IP: m.Addr, Port: port},
		Build:       m.Tags[TagBuild],
		Expect:      expect,
		Bootstrap:   bootstrap,
		RaftVersion: raftVsn,
		Status:      m.Status,
		KVBatch:     m.Tags[TagKVBatch] == "1",
	}, true
}

// LogMemberEvent writes the one line an operator looks for when a node of
// pool ("lan" or "wan") comes or goes.
func LogMemberEvent(l hclog.Logger, pool string, t serf.EventType, m serf.Member) {
	switch t {
	case serf.EventMemberJoin:
		l.Info("member joined", "pool", pool, "node", m.Name, "address", m.Addr.String())
	case serf.EventMemberLeave:
		l.Info("member left", "pool", pool, "node", m.Name, "address", m.Addr.String())
	case serf.EventMemberFailed:
		l.Warn("member failed", "pool", pool, "node", m.Name, "address", m.Addr.String())
	case serf.EventMemberReap:
		l.Info("member reaped", "pool", pool, "node", m.Name)
	case serf.EventMemberUpdate:
		l.Info("member updated", "pool", pool, "node", m.Name, "address", m.Addr.String())
	}
}
