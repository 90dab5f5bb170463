package server

import (
	"sync"
	"time"

	"conclave/agent/state"
	"conclave/agent/structs"
)

// sessionTimers are the leader's TTL timers, one per session with a TTL.
// A timer runs for TTL × structs.SessionTTLMultiplier: the grace Consul
// gives, so a client renewing at TTL/2 survives a missed renewal and a
// leader change. Only the leader runs them; a new leader starts every
// session's timer afresh from its stored TTL, so a session outlives a
// leader change by at most one full grace period and is never cut short.
type sessionTimers struct {
	mu sync.Mutex
	// on is true while this server leads; timers are only set then.
	on bool
	m  map[string]*time.Timer
}

// reset (re)starts the timer of session id; expire runs when it fires.
func (t *sessionTimers) reset(id string, ttl time.Duration, expire func(id string)) {
	if ttl <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.on {
		return
	}
	if old := t.m[id]; old != nil {
		old.Stop()
	}
	t.m[id] = time.AfterFunc(ttl*structs.SessionTTLMultiplier, func() { expire(id) })
}

// clear forgets the timer of session id.
func (t *sessionTimers) clear(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.m[id]; old != nil {
		old.Stop()
		delete(t.m, id)
	}
}

// has tells whether session id has a running timer.
func (t *sessionTimers) has(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id] != nil
}

// start turns the timers on and starts one for every session with a TTL
// in st: on leadership, after the barrier, so st has every session.
func (t *sessionTimers) start(st *state.Store, expire func(id string)) error {
	t.mu.Lock()
	t.on, t.m = true, map[string]*time.Timer{}
	t.mu.Unlock()
	_, all, err := st.SessionList(nil)
	if err != nil {
		return err
	}
	for _, s := range all {
		t.reset(s.ID, s.TTLDuration(), expire)
	}
	return nil
}

// stop turns the timers off and stops every one: leadership is lost.
func (t *sessionTimers) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.on = false
	for _, tm := range t.m {
		tm.Stop()
	}
	t.m = nil
}

// lockDelays remembers, per key, until when an acquire must be refused
// because the session that held it was invalidated (its lock-delay). Each
// server records the deadline when its FSM applies the invalidation, from
// its own clock, so a new leader has it too; only the leader enforces it,
// before an acquire reaches raft. The FSM and the state store keep no
// clock.
type lockDelays struct {
	mu sync.Mutex
	m  map[string]time.Time
}

// record is the state store's lock-release hook.
func (l *lockDelays) record(rel state.LockRelease) {
	if rel.Delay <= 0 {
		return
	}
	until := time.Now().Add(rel.Delay)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]time.Time{}
	}
	for _, k := range rel.Keys {
		l.m[k] = until
	}
}

// delayed tells whether key is still within a lock-delay; expired
// deadlines are forgotten on the way.
func (l *lockDelays) delayed(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	until, ok := l.m[key]
	if !ok {
		return false
	}
	if time.Now().Before(until) {
		return true
	}
	delete(l.m, key)
	return false
}
