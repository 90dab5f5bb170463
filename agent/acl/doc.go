// Package acl is the authorization seam. Every endpoint resolves the
// request's token to an Authorizer and asks it about the resource it
// touches (a key, a service, a node, an event, a session, the agent, the
// operator API). Until ACLs exist the resolver returns AllowAll; adding them
// means a real Resolver, not edits to every endpoint.
//
// It may import only the standard library.
package acl
