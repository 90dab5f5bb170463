// Package supervise runs one child process for `conclave template -exec`
// and `conclave env`: the child lives in a process group of its own
// (github.com/go-cmd/cmd), is reloaded with a signal or restarted when its
// inputs change, gets the signals conclave receives, and reports its exit
// status exactly (128+N when signal N ended it), so that conclave can exit
// with it.
//
// Imports: the standard library, github.com/go-cmd/cmd and go-hclog only.
package supervise
