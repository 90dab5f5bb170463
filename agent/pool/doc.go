// Package pool is the RPC transport between agents: the first-byte protocol
// of the server port, the wire format of its conversations, and a pool of
// pipelined connections to servers.
//
// A connection to the server port starts with one byte naming what follows:
// RPCNetRPC starts one net/rpc conversation in msgpack, on which the client
// pipelines calls; RPCRaft hands the connection to raft; RPCSnapshot
// carries one snapshot stream (snapshot.go); RPCTLS starts a TLS
// handshake, after which one of the other bytes comes inside TLS (Dial
// does this for the pool and for raft when a TLSWrapper is given).
//
// The conversation keeps net/rpc's wire format and adds the kind of an
// endpoint's error to the error response (codec.go): the server writes it
// with ServerCodec, and the pool's client (conn.go) decodes it, in this one
// place, into a structs.RemoteError, so the kind survives the hop.
//
// It may import agent/structs and libraries.
package pool
