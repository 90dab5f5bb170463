package leaktest

import "go.uber.org/goleak"

// Ignored are goroutines a library leaves running for a moment after the
// agent that started it shut down, and that end by themselves:
//
//   - memberlist's probeNode waits for its ack timer, up to one probe
//     interval, without watching shutdown: on a loaded machine the probe
//     under way at Shutdown can outlive goleak's retries.
func Ignored() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreTopFunction("github.com/hashicorp/memberlist.(*Memberlist).probeNode"),
	}
}

// VerifyTestMain runs the tests, then fails the package if a goroutine
// outlives them, other than those Ignored.
func VerifyTestMain(m goleak.TestingM) {
	goleak.VerifyTestMain(m, Ignored()...)
}
