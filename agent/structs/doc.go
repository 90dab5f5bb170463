// Package structs holds the wire and request types shared by the HTTP
// transport, the RPC endpoints, the raft FSM and the state store. The
// agent API's service and check definitions are among them; decoding and
// validating what a user sends (or writes in a config file) is
// agent/config's.
//
// It may import only the standard library and small codec helpers: every
// other agent package imports it, so it must stay a leaf.
package structs
