package agent

import (
	"context"
	"io"

	"github.com/hashicorp/serf/coordinate"
	"github.com/hashicorp/serf/serf"

	"conclave/agent/structs"
)

// delegate is what makes an agent a server or a client agent: the agent
// holds one (serverDelegate or clientDelegate, chosen once in Start from
// the config's `server`) and calls it for everything that differs by role,
// so the rest of the agent never asks which it is.
//
// Role still decides a few things outside the delegate, all from the
// config and all needed before a delegate exists or after it is gone: the
// gossip tags (serfTags: they go into the serf config the delegate is
// built from), Consul's role-dependent defaults for leaving on a signal
// (leaveOnSignal), retry_join_wan (a server's only: startJoins), the GC
// setting (tuneGC) and what the banner and /v1/agent/self report.
type delegate interface {
	// RPC makes one request on the agent's single request path: in
	// process on a server, through the router and connection pool to a
	// server of this datacenter on a client agent.
	RPC(ctx context.Context, method string, args, reply any) error
	// Snapshot runs a snapshot stream (save or restore) on the request
	// path's terms: in process on a server, to a server of this
	// datacenter on a client agent; that server takes it on from there.
	Snapshot(ctx context.Context, args *structs.SnapshotRequest, in io.Reader, begin structs.SnapshotBegin) error

	// LANMembers and WANMembers list a gossip pool as this agent sees it;
	// a client agent is in no WAN pool.
	LANMembers() []serf.Member
	WANMembers() []serf.Member
	// LocalMember is this agent as its LAN pool describes it.
	LocalMember() (serf.Member, bool)
	// LANCoordinate is this agent's network coordinate in its LAN pool,
	// which it sends to the servers (coordinate.go).
	LANCoordinate() (*coordinate.Coordinate, error)
	// JoinLAN and JoinWAN join a pool through the agents at addrs and say
	// how many answered; a client agent's JoinWAN is ErrNotServer.
	JoinLAN(addrs []string) (int, error)
	JoinWAN(addrs []string) (int, error)
	// ForceLeave moves a failed member to the left state (prune: forgets
	// it; wan: the WAN pool, servers only).
	ForceLeave(node string, prune, wan bool) error
	// Leave leaves the gossip pools gracefully; a server gives up its raft
	// seat first.
	Leave() error
	// Shutdown stops gossip, RPC and (on a server) raft, without leaving.
	Shutdown() error

	// stats adds the role's sections (raft, serf_lan, serf_wan, consul) to
	// the stats of /v1/agent/self and `conclave info`.
	stats(into map[string]map[string]string)
	// watchMembers calls fn from now on after every change of the LAN
	// pool, and once at once. serverAppeared says that a client agent has
	// just found its first reachable server of the datacenter (before
	// that, its anti-entropy has nobody to sync with); it is never true
	// on a server. fn runs on the gossip event loop and must not block.
	watchMembers(fn func(serverAppeared bool))
	// watchUserEvents calls fn with every user event the LAN pool
	// delivers from now on, on the gossip event loop: fn must not block.
	watchUserEvents(fn func(serf.UserEvent))
}
