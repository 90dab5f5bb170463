// Package pool is the RPC transport between agents: the first-byte protocol
// of the server port and a pool of pipelined connections to servers.
//
// A connection to the server port starts with one byte naming what follows:
// RPCNetRPC starts one net/rpc conversation in msgpack, on which the client
// pipelines calls; RPCRaft hands the connection to raft.
//
// It may import agent/structs and libraries.
package pool
