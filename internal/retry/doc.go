// Package retry holds the one "retry until it holds" helper of the tests.
// It imports nothing of the module, so packages that testutil depends on
// (and that therefore cannot import testutil) can use it too.
package retry
