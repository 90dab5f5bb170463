// Package dns is the agent's DNS interface: Consul's .consul domain forms
// served over UDP and TCP with github.com/miekg/dns.
//
// It is a thin transport, like agent/http: parse the question into a
// lookup, make one Backend.RPC call (Health.ServiceNodes,
// Catalog.NodeServices, Catalog.ListNodes, or PreparedQuery.Execute for
// <query>.query names: query.go), turn the reply into records.
// What it adds is DNS-only: health filtering for DNS (critical never,
// warning with only_passing), shuffling, TTLs, truncation for UDP, EDNS0,
// and forwarding names outside the domain to the configured recursors.
//
// Files: server.go (listeners, answer(): the one entry for every query),
// udp.go (batched UDP reads and writes), fast.go (the hand-packed reply to
// A/AAAA questions for cached services), parse.go (query names into
// lookups), answer.go (records for each form), size.go (answer limits,
// truncation, EDNS0), recurse.go (recursors), cache.go (service results
// kept fresh by blocking queries).
//
// It may import agent/structs, internal/hostaddr and libraries (miekg/dns, golang.org/x/net);
// never agent/server, agent/state or agent/config: the agent converts its
// configuration into Config (agent/dns_glue.go). Its tests may use
// internal/testutil for a real agent.
package dns
