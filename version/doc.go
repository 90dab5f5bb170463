// Package version holds conclave's version, the Consul version whose API it
// follows (ConsulVersion, what tools that gate on "the Consul version"
// see) and the protocol range it speaks, in one place, so the CLI
// (`conclave version`), the agent (/v1/agent/self, serf tags, node meta)
// and the HTTP client's User-Agent all report the same thing.
//
// It imports only the standard library and must stay that way: every other
// package in the module, agent/ and commands/ alike, may import it.
package version
