// Package pool is the RPC transport between agents: the first-byte protocol
// of the server port and a pool of multiplexed connections to servers.
//
// A connection to the server port starts with one byte naming what follows:
// RPCMultiplex opens a yamux session whose every stream carries one net/rpc
// conversation in msgpack; RPCRaft hands the connection to raft.
//
// It may import agent/structs and libraries.
package pool
