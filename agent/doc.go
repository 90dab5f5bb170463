// Package agent is the daemon: it owns this agent's configuration and node
// ID, builds the pieces from them, hands them to the transports, and turns
// signals into reload and shutdown.
//
// What it builds:
//   - a delegate (delegate.go), the one thing that differs between a server
//     and a client agent: the request path, gossip membership, joins,
//     leaves and stats. A server's delegate is the embedded server.Server
//     (raft, RPC endpoints, both gossip pools); a client agent's owns its
//     LAN pool, a router over the servers of its datacenter and a
//     connection pool to them. Everything else in the agent calls the
//     delegate and never asks which role it has; the few role decisions
//     that remain come from the config and are listed on the interface.
//   - a registrar.Registrar: this agent's own services and checks
//     (config files, the HTTP API, persistence, reload, maintenance).
//   - the HTTP API (agent/http), handed the agent and the registrar, and
//     the DNS interface (agent/dns, dns_glue.go).
//   - the buffer of user events received by gossip (agent/event,
//     event_glue.go) and the remote exec jobs they start (rexec.go), run
//     only with disable_remote_exec = false.
//   - the config's watches (watches.go), run by conclave/watch against
//     this agent's own HTTP API through conclave/client, like any client.
//   - what /v1/agent/self and /v1/agent/host say of the agent and its host
//     (self.go; host facts through gopsutil, as Consul gathers them).
//   - its metrics (agent/telemetry), first, so that start-up is counted,
//     and the pid file (observe.go). The CLI builds the logger
//     (agent/logging); /v1/agent/monitor streams it when it is an
//     InterceptLogger.
//
// Agent.RPC is the single request path every transport uses. On a server it
// is an in-process call into the same endpoints that remote agents reach.
//
// Subpackages hold the pieces; this package may import all of them, and
// gopsutil for host facts. Nothing
// under commands/, client/ or the operator tools may import it: main wires
// the CLI type here into the command tree.
package agent
