// Package watch runs Consul's watches: a plan names what to watch (a key,
// a key prefix, the service list, the node list, a service's instances,
// checks, or user events), a Runner reads it with blocking queries and
// hands each change to a Handler (a script with the JSON on stdin, an
// HTTP POST, or a print to stdout).
//
// Where things live:
//   - plan.go: Plan and Parse, which reads a watch in Consul's keys (the
//     `watches` entries of an agent config, and what `conclave watch`
//     builds from its flags), so both are validated by one function.
//   - query.go: the read behind each watch type, and the JSON each emits
//     (the same shapes as the official client's api/watch package).
//   - run.go: Runner, the loop: blocking reads, backoff on errors, when a
//     change fires and when it is suppressed.
//   - handler.go: the script, HTTP and print handlers.
//
// It may import conclave/client and libraries, never conclave/agent/...:
// the agent runs its config watches through this package against its
// own HTTP API, like any other client.
package watch
