// Package logging builds the agent's logger and what reads its log: the
// destinations an operator configures (stderr, a rotated log file, syslog,
// text or JSON) and Monitor, a sink that streams the log to
// /v1/agent/monitor while a client listens.
//
// The agent's logger is a go-hclog InterceptLogger: raft, serf and the
// agent log through it, and a monitor registers on it as a sink with its
// own level and format, so `conclave monitor -log-level trace` sees trace
// lines on an agent that writes only info to its file.
//
// It may import agent/config (the logging keys) and libraries.
package logging
