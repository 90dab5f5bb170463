// Package agent is the daemon: it owns this agent's configuration, starts
// the server (raft, FSM, RPC endpoints) when it is one, the HTTP API, and
// turns signals into reload and shutdown.
//
// Agent.RPC is the single request path every transport uses. On a server it
// is an in-process call into the same endpoints that remote agents reach.
//
// Subpackages hold the pieces; this package may import all of them. Nothing
// under commands/, client/ or the operator tools may import it: main wires
// the CLI type here into the command tree.
package agent
