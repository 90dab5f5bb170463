// Package http is the agent's HTTP API: Consul's /v1 paths, parameters,
// JSON shapes, status codes and X-Consul-* headers.
//
// Handlers are thin: parse the request into a structs request, make one
// Backend.RPC call, encode the reply. Every catalog, health and KV read,
// and the agent-local event list, goes through serveRead (read.go): headers, gzip, 404s, shared blocking
// reads and hang-ups in one place. Validation is the server's (each
// request's Validate); a failed call's status comes from the error's kind
// (writeError, statusOf). All routes live in one table (routes.go), each
// with its body limit (body.go: 413 before reading); paths that are not
// clean get Consul's 301. The reads Consul caches answer ?cached from the
// agent cache (cache.go), kept fresh by background blocking queries; acl.go
// serves /v1/acl/* and /v1/agent/token/<kind>. The
// package knows nothing of raft or the state store.
//
// ui.go serves the web UI's files (package ui, or ui_config.dir) under
// ui_config.content_path, and redirects / there.
//
// It may import agent/structs, agent/acl, agent/config (the decoder of
// service and check definitions, shared with config files, and ui_config),
// agent/logging (the monitor the log stream reads), ui (the embedded UI
// files) and libraries.
package http
