// Package testutil starts real agents for tests: in-process on :0 ports with
// t.Cleanup, and helpers to retry until a condition holds instead of
// sleeping.
//
// It may import anything in the module; only tests import it.
package testutil
