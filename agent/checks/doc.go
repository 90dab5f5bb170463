// Package checks runs the health checks of this agent: HTTP, TCP, TTL,
// script (args), gRPC and alias. Each runner probes on its own goroutine and
// reports every result to a Notifier; StatusHandler sits in front of the
// Notifier to damp flapping (success_before_passing,
// failures_before_warning, failures_before_critical).
//
// Runners know nothing about the catalog or anti-entropy: the agent wires
// them to its local state (agent/local), which decides what reaches the
// servers. The TTL state store keeps TTL checks' last status on disk so it
// survives a restart.
//
// It may import agent/structs and libraries; never agent/local, agent/http
// or the agent itself (the alias check reaches them through the small
// interfaces declared here).
package checks
