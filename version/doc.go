// Package version holds conclave's version and the protocol range it speaks,
// in one place, so the CLI (`conclave version`), the agent (/v1/agent/self,
// serf tags) and the HTTP client's User-Agent all report the same thing.
//
// It imports only the standard library and must stay that way: every other
// package in the module, agent/ and commands/ alike, may import it.
package version
