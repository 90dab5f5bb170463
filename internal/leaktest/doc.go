// Package leaktest holds what every package's goroutine leak check
// (goleak in its TestMain) shares: the library goroutines it may ignore.
// It imports nothing of conclave, so any package's tests can use it,
// including those of the agent packages that internal/testutil imports.
package leaktest
