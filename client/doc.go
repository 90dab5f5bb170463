// Package client is the typed HTTP client for an agent's Consul-compatible
// HTTP API. The CLI (commands/) and the operator tools (template/, lock/,
// exec/, watch/, replicate/) talk to agents only through it.
//
// It mirrors the API by resource: c.KV(), c.Txn(), c.Status(), c.Agent(),
// c.Catalog(), c.Health(), c.Session(), c.Coordinate(), c.ACL().
// Calls take a context first. Reads return (value, *QueryMeta, error) and a
// missing key is (nil, meta, nil); writes return (result, *WriteMeta, error).
// c.ACL() manages tokens, policies and roles, which nobody blocks on: its
// calls return the object and an error only.
// Errors are wrapped with %w so callers can test them with errors.As:
// *UnreachableError when no connection to the agent could be made (the CLI
// maps it to exit status 3) and *StatusError for a non-2xx reply.
//
// Wire shapes are Consul's, so this client also works against Consul itself.
//
// Imports: the standard library, conclave/version and serf's coordinate
// type (the wire shape of a coordinate, as the official client uses it). It must never
// import conclave/agent/... (commands/layering_test.go enforces it): types
// are duplicated here on purpose so the server can change its internals
// without breaking clients.
package client
