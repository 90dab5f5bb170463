// Package structs holds the wire and request types shared by the HTTP
// transport, the RPC endpoints, the raft FSM and the state store, each
// request's Validate, and the typed errors (errors.go): the Kind of an
// error is what the HTTP status, the DNS rcode and the RPC error code
// derive from. The agent API's service and check definitions are among
// the types; decoding and validating what a user sends (or writes in a
// config file) is agent/config's.
//
// It may import only the standard library, small codec helpers and
// serf's coordinate package (the network-coordinate type itself): every
// other agent package imports it, so it must stay a leaf.
package structs
