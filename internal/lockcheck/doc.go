// Package lockcheck checks the log that the children of `conclave lock`
// tests append to: one "start <id> [<time>]" or "stop <id> [<time>]" record
// per line, in the order they happened (O_APPEND writes are ordered). It
// fails when more children ran at once than the lock allows.
//
// Only tests use it (commands and jepsen); it imports only the standard
// library.
package lockcheck
