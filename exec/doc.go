// Package exec runs a command on a set of agents through remote exec, on
// Consul's _rexec layout, so it drives conclave and Consul agents alike:
// it creates a session, writes the job to <prefix>/<session>/job (held by
// the session), waits for it to replicate, fires a "_rexec" user event
// whose filters select the agents, then follows <prefix>/<session>/ with
// blocking reads, reporting each node's ack, output chunks and exit code
// as they arrive, until nothing has happened for the quiet period. It
// destroys the session and deletes the prefix afterwards.
//
// Agents run jobs only with remote exec enabled (disable_remote_exec =
// false); an agent with it disabled writes nothing, so it is simply not
// among the nodes that acknowledged.
//
// It imports conclave/client and the standard library, never
// conclave/agent (commands/layering_test.go checks).
package exec
