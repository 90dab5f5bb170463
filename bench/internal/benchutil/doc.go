// Package benchutil holds what the HTTP benchmark drivers (bench/health,
// bench/lock) share: a server process under test in its own process
// group, free loopback ports, one HTTP request read to the end, and a
// bounded parallel loop. It imports only the standard library.
package benchutil
