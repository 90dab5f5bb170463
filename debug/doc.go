// Package debug captures a debug bundle of one agent for `conclave debug`,
// as Consul's `consul debug` does: static answers (agent self, members,
// host), then, over a duration, metrics every interval, the agent's log
// and CPU profile and trace, then heap and goroutine profiles; all into a
// directory that Archive packs into a tar.gz.
//
// A target whose endpoint this agent does not serve (404: pprof without
// enable_debug, an agent with no metrics or log stream endpoint) is
// skipped with a note, never a failure: a partial bundle is still worth
// sending.
//
// It imports conclave/client and libraries; never conclave/agent
// (commands/layering_test.go).
package debug
