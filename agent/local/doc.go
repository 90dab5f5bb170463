// Package local keeps this agent's own services and checks — the truth for
// its node — and runs anti-entropy: it pushes every local change to the
// catalog at once (Catalog.Register / Catalog.Deregister through the
// agent's single request path), and a periodic full sync compares the
// catalog's view of the node (Catalog.NodeServices, Health.NodeChecks)
// with the local one, restoring what the catalog lost and removing what
// the agent no longer has.
//
// A check's status reaches the servers only when it changes; a change of
// output alone waits for check_update_interval. The serfHealth check and
// the consul service belong to the leader and are never touched.
//
// It may import agent/structs and libraries. It never imports the agent,
// agent/http or agent/checks: the agent wires runners to State.UpdateCheck.
package local
