// Package lock holds a distributed lock or semaphore on the KV store
// through sessions, compatible with the official Consul Go client's Lock
// and Semaphore: the same keys, flag values and semaphore document, so a
// holder made here and one made by a program using api.Lock or
// api.Semaphore on the same prefix exclude each other.
//
// Key layout (the `consul lock` command's, which this package follows):
//
//	Lock:      <prefix>/.lock, acquired by the session, Flags LockFlagValue.
//	Semaphore: <prefix>/<session>, one contender key per holder or waiter,
//	           acquired by its session, Flags SemaphoreFlagValue; and
//	           <prefix>/.lock, Flags SemaphoreFlagValue, holding the JSON
//	           {"Limit":n,"Holders":{"<session>":true,...}} updated by CAS.
//
// A Hold is what Acquire returns. Its Lost channel closes when the holder
// must stop: the monitor saw the key (or the semaphore slot) go, the
// session was found invalidated, or no renewal has been confirmed for so
// long that another holder could soon get in. That last rule is the
// fence: with session TTL T, lock-delay D (Lock only; a semaphore slot is
// freed the moment its session is invalidated, so D is 0 there), safety
// margin M and the time S the holder needs to stop its work, the session
// cannot expire before T after the start of the last renewal that the
// agent confirmed, and the key cannot be taken by anyone else before D
// after that. So Lost closes at
//
//	last confirmed renewal start + T + D - M - S
//
// and a holder that is stopped within S of Lost closing has stopped before
// anyone else could hold the lock. Renewals run every T/3 from the
// session's creation on (waiting for the lock may take longer than T), so
// a few can fail (a leader election) before the fence closes. Config.validate
// refuses settings where the window leaves no room for one failed renewal,
// or where the monitor's retries would outlast it.
//
// Imports: conclave/client and the standard library only; never
// conclave/agent/... (commands/layering_test.go enforces it).
package lock
