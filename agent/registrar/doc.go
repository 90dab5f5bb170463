// Package registrar is this agent's own services and checks, as the agent
// manages them: it registers and deregisters them from the config files
// (service/services/check/checks) and from the HTTP API's agent endpoints,
// builds and starts a runner for every check and wires it to the local
// state, persists API registrations and TTL reports in data_dir so they
// survive a restart, applies reloads (changed config-file definitions are
// re-registered, unchanged ones keep running), and keeps maintenance mode
// as a critical check.
//
// What it registers lives in agent/local's State, which keeps it in step
// with the catalog; the check runners are agent/checks'. The agent builds
// one Registrar at start-up (Start) and hands it to the HTTP API, whose
// agent endpoints it serves (the AgentLocal* and Agent* methods).
//
// It may import agent/structs, agent/config (the definitions of the config
// files), agent/local, agent/checks and libraries. It never imports the
// agent, agent/http or agent/server: it reaches the servers only through
// the RPC the agent gives it.
package registrar
