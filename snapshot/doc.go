// Package snapshot is the operator's side of snapshots: save the servers'
// state to a file and check it before calling it saved, restore a file
// after checking it, inspect a file offline, and keep a directory of
// rotating backups (Backups), which Consul leaves to an Enterprise agent.
//
// A file is only ever complete: Save writes a temporary file beside the
// target, verifies it against its own sums (internal/snapfile) and only
// then renames it into place, so a backup directory never holds a
// half-written archive under a backup's name.
//
// It imports conclave/client, internal/snapfile and libraries; never
// conclave/agent (commands/layering_test.go).
package snapshot
