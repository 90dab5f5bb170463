// Package server is what only server agents run: raft with its durable log
// and snapshots, the RPC endpoints, forwarding to the leader, and leader
// duties (consistent-read barrier, tombstone reaping, the catalog's
// serfHealth checks from gossip, session TTL timers). Lock-delay
// deadlines are kept here from each server's own clock and enforced by
// the leader before an acquire reaches raft (session_timers.go).
//
// Endpoints are methods of the receivers in registerEndpoints, served from
// one method table (endpoints.go). The agent calls them in-process through
// Server.RPC, which hands back the endpoint's error itself; other agents
// reach the same table over the server port, with the error's kind carried
// beside its text (agent/pool).
//
// The table runs what every endpoint shares before the endpoint, on both
// paths, in this order: it routes the request (forward.go: another
// datacenter, the leader, or here; a method's route is routeDefault unless
// its receiver's routes() names it), validates it on the server that
// serves it (args.Validate, when the request type has one), and resolves
// its token. So an endpoint is only its own work:
//
//	func (k *KVS) Get(authz acl.Authorizer, args *structs.KeyRequest, reply *structs.IndexedDirEntries) error
//
// asks authz about what it touches and answers; one that asks nothing
// (Status.*) leaves the authorizer out: func(args *A, reply *R) error.
// Every read runs through the server's agent/blocking runner (s.queries),
// which the server feeds through blocking.Backend (query.go); a list read
// narrowed by ACL and ?filter is one listRead call (read.go).
//
// Writes reach raft through raftApply (rpc.go), which waits on the entry's
// own future; plain KV sets that arrive together on the leader are
// committed as one entry (coalesce.go).
//
// Network coordinates (coordinate_endpoint.go: the leader batches the
// agents' updates into raft; near.go: ?near sorting) and prepared queries
// (prepared_query_endpoint.go: execution and failover to other
// datacenters; prepared_query_template.go: template rendering) are
// endpoints like the others.
// ACLs (acl_*.go): the ACL endpoints, the leader's ACL duties (built-in
// policy, anonymous token, initial management token; in a secondary
// datacenter, the replication of the primary's policies, roles and global
// tokens, acl_replication.go) and token resolution: from the state store
// on servers, through ACL.Resolve with a TTL cache and down_policy for
// client agents and for what a secondary datacenter has not replicated
// (RemoteResolver). With ACLs on, the authorizer an endpoint gets tracks
// its refusals, so filtered lists say so.
//
// Cluster membership lives here too (cluster.go, bootstrap.go,
// leader_cluster.go): the server's LAN and WAN gossip pools, bootstrap-expect,
// the leader's reconciliation of gossip into the raft configuration,
// autopilot, and peers.json / offline recovery. The server port's TLS
// (tls.go: plaintext or TLS by the first byte, verify_incoming) and the
// gossip keyring operations (keyring_endpoint.go) are here too.
//
// Snapshot save and restore (snapshot.go) run beside the method table,
// on a stream of their own (agent/pool's RPCSnapshot): an archive is too
// large for an RPC reply.
//
// It may import agent/structs, agent/acl, agent/state, agent/fsm,
// agent/blocking, agent/pool, agent/router, internal/snapfile (the
// archive) and libraries.
// agent/blocking, agent/pool, agent/router, agent/telemetry (batched
// counters) and libraries.
package server
