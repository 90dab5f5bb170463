// Package router knows which servers serve which datacenter and sends RPCs
// to them. Servers are learned from gossip: every agent feeds it the
// servers of its own datacenter from the LAN pool, and servers also feed it
// the servers of other datacenters from the WAN pool. Each datacenter's
// list is kept in a random order per agent, so many clients spread their
// load over the servers; a server that fails a call moves to the back, so
// the next call goes elsewhere.
//
// It may import agent/structs, serf and libraries. It does not import
// agent/pool: the transport is handed in as a function.
package router
