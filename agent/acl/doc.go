// Package acl is the authorization seam and Consul's ACL rule model.
// Every endpoint resolves the request's token to an Authorizer and asks
// it about the resource it touches (a key, a service, a node, an event, a
// session, a prepared query, the agent, the operator API, the keyring,
// ACL management). While ACLs are off the resolver returns AllowAll.
//
// With ACLs on, ParseRules reads a policy's rules (Consul's HCL or JSON)
// and Compile merges the rules of every policy of a token into one
// Authorizer: an exact rule beats a prefix rule, the longest prefix beats
// shorter ones, deny beats any grant of the same resource, and what no
// rule covers falls to default_policy. Where tokens and policies are
// stored and how a token is resolved (state store, cache, down_policy)
// lives with the server and the agent, not here.
//
// It may import the standard library, hcl (the rule language) and
// go-immutable-radix (longest-prefix lookup).
package acl
