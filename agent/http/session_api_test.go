package http_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/internal/testutil"
)

// sessionAgent starts an agent and waits until the leader has registered
// its node with serfHealth, which a session links to by default.
func sessionAgent(t *testing.T) (*testutil.TestAgent, *api.Client) {
	t.Helper()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := officialClientFor(t, a)
	testutil.WaitForSerfHealth(t, a)
	return a, c
}

// TestSessionOfficialClient: create, info, list, node, renew and destroy
// through the official client, with Consul's defaults filled in.
func TestSessionOfficialClient(t *testing.T) {
	t.Parallel()
	a, c := sessionAgent(t)
	s := c.Session()
	id, _, err := s.Create(&api.SessionEntry{Name: "svc-lock", TTL: "15s", LockDelay: 3 * time.Second}, nil)
	if err != nil {
		t.Fatalf("Session().Create() = %v", err)
	}
	info, meta, err := s.Info(id, nil)
	if err != nil || info == nil {
		t.Fatalf("Session().Info(%q) = %+v, %v; want the session", id, info, err)
	}
	want := api.SessionEntry{ID: id, Name: "svc-lock", Node: a.Config.NodeName, LockDelay: 3 * time.Second,
		Behavior: api.SessionBehaviorRelease, TTL: "15s", NodeChecks: []string{"serfHealth"},
		CreateIndex: info.CreateIndex}
	if info.ID != want.ID || info.Name != want.Name || info.Node != want.Node || info.LockDelay != want.LockDelay ||
		info.Behavior != want.Behavior || info.TTL != want.TTL || strings.Join(info.NodeChecks, ",") != "serfHealth" ||
		info.CreateIndex == 0 || meta.LastIndex < info.CreateIndex {
		t.Fatalf("Session().Info(%q) = %+v (index %d), want %+v", id, info, meta.LastIndex, want)
	}
	list, _, err := s.List(nil)
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("Session().List() = %+v, %v; want [%s]", list, err, id)
	}
	byNode, _, err := s.Node(a.Config.NodeName, nil)
	if err != nil || len(byNode) != 1 || byNode[0].ID != id {
		t.Fatalf("Session().Node(%q) = %+v, %v; want [%s]", a.Config.NodeName, byNode, err, id)
	}
	renewed, _, err := s.Renew(id, nil)
	if err != nil || renewed == nil || renewed.ID != id {
		t.Fatalf("Session().Renew(%q) = %+v, %v; want the session", id, renewed, err)
	}
	if _, err := s.Destroy(id, nil); err != nil {
		t.Fatalf("Session().Destroy(%q) = %v", id, err)
	}
	if info, _, err := s.Info(id, nil); err != nil || info != nil {
		t.Fatalf("Session().Info(%q) after destroy = %+v, %v; want nil", id, info, err)
	}
	// The official client turns Consul's 404 for an unknown session into
	// a nil entry without error.
	if renewed, _, err := s.Renew(id, nil); err != nil || renewed != nil {
		t.Fatalf("Session().Renew(%q) after destroy = %+v, %v; want nil, nil", id, renewed, err)
	}
}

// TestKVAcquireRelease: acquire and release through the official client,
// LockIndex and Session in the entry, and the holder's rules.
func TestKVAcquireRelease(t *testing.T) {
	t.Parallel()
	_, c := sessionAgent(t)
	s1, _, err := c.Session().Create(nil, nil)
	if err != nil {
		t.Fatalf("Session().Create() = %v", err)
	}
	s2, _, err := c.Session().Create(nil, nil)
	if err != nil {
		t.Fatalf("Session().Create() = %v", err)
	}
	kv := c.KV()
	try := func(what string, f func(*api.KVPair, *api.WriteOptions) (bool, *api.WriteMeta, error), session, value string, want bool) {
		t.Helper()
		ok, _, err := f(&api.KVPair{Key: "svc/leader", Value: []byte(value), Session: session}, nil)
		if err != nil || ok != want {
			t.Fatalf("%s(%s) = %v, %v; want %v", what, session, ok, err, want)
		}
	}
	try("Acquire", kv.Acquire, s1, "one", true)
	try("Acquire", kv.Acquire, s2, "two", false)
	try("Release", kv.Release, s2, "two", false)
	p, _ := kvGet(t, kv, "svc/leader")
	if p == nil || p.Session != s1 || p.LockIndex != 1 || string(p.Value) != "one" {
		t.Fatalf("Get(svc/leader) = %+v, want held by %s, LockIndex 1, value one", p, s1)
	}
	try("Release", kv.Release, s1, "free", true)
	try("Acquire", kv.Acquire, s2, "two", true)
	p, _ = kvGet(t, kv, "svc/leader")
	if p == nil || p.Session != s2 || p.LockIndex != 2 || string(p.Value) != "two" {
		t.Fatalf("Get(svc/leader) = %+v, want held by %s, LockIndex 2, value two", p, s2)
	}
	// An unknown session cannot acquire: Consul answers 500 with the reason.
	if ok, _, err := kv.Acquire(&api.KVPair{Key: "svc/other", Session: "8f246b77-f3e1-ff88-5b48-8ec93abf3e05"}, nil); err == nil || ok {
		t.Fatalf("Acquire(unknown session) = %v, %v; want an error", ok, err)
	}
}

// TestOfficialLock: api.Lock excludes a second contender until the first
// unlocks, and a holder whose session is destroyed sees lostCh close.
func TestOfficialLock(t *testing.T) {
	t.Parallel()
	_, c := sessionAgent(t)
	l1, err := c.LockKey("locks/job")
	if err != nil {
		t.Fatalf("LockKey() = %v", err)
	}
	l2, err := c.LockKey("locks/job")
	if err != nil {
		t.Fatalf("LockKey() = %v", err)
	}
	lost1, err := l1.Lock(nil)
	if err != nil || lost1 == nil {
		t.Fatalf("l1.Lock() = %v, %v; want held", lost1, err)
	}
	got2 := make(chan (<-chan struct{}), 1)
	errs := make(chan error, 1)
	go func() {
		ch, err := l2.Lock(nil)
		if err != nil {
			errs <- err
			return
		}
		got2 <- ch
	}()
	// The second contender cannot hold it while the first does: whatever
	// it is doing now, it has not acquired.
	p, _, err := c.KV().Get("locks/job", nil)
	if err != nil || p == nil || p.Session == "" {
		t.Fatalf("Get(locks/job) = %+v, %v; want held", p, err)
	}
	select {
	case <-got2:
		t.Fatalf("l2.Lock() returned while l1 holds the lock")
	default:
	}
	if err := l1.Unlock(); err != nil {
		t.Fatalf("l1.Unlock() = %v", err)
	}
	var lost2 <-chan struct{}
	select {
	case lost2 = <-got2:
	case err := <-errs:
		t.Fatalf("l2.Lock() = %v", err)
	case <-time.After(30 * time.Second):
		t.Fatalf("l2.Lock() did not acquire after l1.Unlock()")
	}
	// Lose l2's lock: destroy the session holding it.
	p, _, err = c.KV().Get("locks/job", nil)
	if err != nil || p == nil || p.Session == "" {
		t.Fatalf("Get(locks/job) = %+v, %v; want held by l2", p, err)
	}
	if _, err := c.Session().Destroy(p.Session, nil); err != nil {
		t.Fatalf("Session().Destroy(%s) = %v", p.Session, err)
	}
	select {
	case <-lost2:
	case <-time.After(30 * time.Second):
		t.Fatalf("l2's lostCh still open after its session was destroyed")
	}
	if err := l2.Unlock(); err != nil && !errors.Is(err, api.ErrLockNotHeld) {
		t.Fatalf("l2.Unlock() = %v", err)
	}
}

// TestOfficialSemaphore: with limit 2, a third contender waits until one
// of the two holders releases.
func TestOfficialSemaphore(t *testing.T) {
	t.Parallel()
	_, c := sessionAgent(t)
	sems := make([]*api.Semaphore, 3)
	for i := range sems {
		s, err := c.SemaphorePrefix("sem/job", 2)
		if err != nil {
			t.Fatalf("SemaphorePrefix() = %v", err)
		}
		sems[i] = s
	}
	for i := range 2 {
		if lost, err := sems[i].Acquire(nil); err != nil || lost == nil {
			t.Fatalf("sems[%d].Acquire() = %v, %v; want held", i, lost, err)
		}
	}
	got := make(chan error, 1)
	go func() {
		_, err := sems[2].Acquire(nil)
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("third Acquire() returned (%v) while two hold a limit-2 semaphore", err)
	default:
	}
	if err := sems[0].Release(); err != nil {
		t.Fatalf("sems[0].Release() = %v", err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("third Acquire() = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("third Acquire() did not succeed after a holder released")
	}
	for _, i := range []int{1, 2} {
		if err := sems[i].Release(); err != nil {
			t.Fatalf("sems[%d].Release() = %v", i, err)
		}
	}
}

// TestLockDelay: after a session holding a key is invalidated, the leader
// refuses to let another session acquire the key until the lock-delay has
// passed; the key itself is free at once.
func TestLockDelay(t *testing.T) {
	t.Parallel()
	_, c := sessionAgent(t)
	s := c.Session()
	kv := c.KV()
	newSession := func(delay time.Duration) string {
		t.Helper()
		id, _, err := s.Create(&api.SessionEntry{LockDelay: delay}, nil)
		if err != nil {
			t.Fatalf("Session().Create(LockDelay %s) = %v", delay, err)
		}
		return id
	}
	acquire := func(key, session string) bool {
		t.Helper()
		ok, _, err := kv.Acquire(&api.KVPair{Key: key, Session: session}, nil)
		if err != nil {
			t.Fatalf("Acquire(%s, %s) = %v", key, session, err)
		}
		return ok
	}
	long, short, other := newSession(60*time.Second), newSession(time.Second), newSession(0)
	if !acquire("delay/long", long) || !acquire("delay/short", short) {
		t.Fatalf("first acquires = false, want true")
	}
	for _, id := range []string{long, short} {
		if _, err := s.Destroy(id, nil); err != nil {
			t.Fatalf("Session().Destroy(%s) = %v", id, err)
		}
	}
	if p, _ := kvGet(t, kv, "delay/long"); p == nil || p.Session != "" {
		t.Fatalf("Get(delay/long) after destroy = %+v, want released", p)
	}
	if acquire("delay/long", other) {
		t.Fatalf("Acquire(delay/long) within its 60s lock-delay = true, want false")
	}
	testutil.Retry(t, 30*time.Second, func() error {
		if !acquire("delay/short", other) {
			return errors.New("delay/short still refused")
		}
		return nil
	})
}

// TestLockLostOnCriticalCheck: a lock held by a session linked to a
// service check is lost when that check turns critical.
func TestLockLostOnCriticalCheck(t *testing.T) {
	t.Parallel()
	a, c := sessionAgent(t)
	ag := c.Agent()
	if err := ag.ServiceRegister(&api.AgentServiceRegistration{ID: "db", Name: "db",
		Check: &api.AgentServiceCheck{CheckID: "db-ttl", TTL: "1h"}}); err != nil {
		t.Fatalf("ServiceRegister(db) = %v", err)
	}
	if err := ag.PassTTL("db-ttl", ""); err != nil {
		t.Fatalf("PassTTL(db-ttl) = %v", err)
	}
	testutil.Retry(t, 10*time.Second, func() error {
		checks, _, err := c.Health().Checks("db", nil)
		if err != nil {
			return err
		}
		if len(checks) != 1 || checks[0].Status != api.HealthPassing {
			return fmt.Errorf("catalog checks of db = %v, want db-ttl passing", checks)
		}
		return nil
	})
	id, _, err := c.Session().Create(&api.SessionEntry{Node: a.Config.NodeName,
		ServiceChecks: []api.ServiceCheck{{ID: "db-ttl"}}, LockDelay: time.Millisecond}, nil)
	if err != nil {
		t.Fatalf("Session().Create(ServiceChecks db-ttl) = %v", err)
	}
	l, err := c.LockOpts(&api.LockOptions{Key: "locks/db", Session: id})
	if err != nil {
		t.Fatalf("LockOpts() = %v", err)
	}
	lost, err := l.Lock(nil)
	if err != nil || lost == nil {
		t.Fatalf("Lock() = %v, %v; want held", lost, err)
	}
	if err := ag.FailTTL("db-ttl", "down"); err != nil {
		t.Fatalf("FailTTL(db-ttl) = %v", err)
	}
	select {
	case <-lost:
	case <-time.After(30 * time.Second):
		t.Fatalf("lostCh still open after the session's check turned critical")
	}
	if info, _, err := c.Session().Info(id, nil); err != nil || info != nil {
		t.Fatalf("Session().Info(%s) = %+v, %v; want invalidated", id, info, err)
	}
	_ = l.Unlock()
}

// TestTxnLockOpsOfficialClient: lock, check-session and unlock steps of
// /v1/txn through the official client.
func TestTxnLockOpsOfficialClient(t *testing.T) {
	t.Parallel()
	_, c := sessionAgent(t)
	id, _, err := c.Session().Create(nil, nil)
	if err != nil {
		t.Fatalf("Session().Create() = %v", err)
	}
	txn := func(ops ...*api.KVTxnOp) (bool, *api.TxnResponse) {
		t.Helper()
		var tops api.TxnOps
		for _, op := range ops {
			tops = append(tops, &api.TxnOp{KV: op})
		}
		ok, resp, _, err := c.Txn().Txn(tops, nil)
		if err != nil {
			t.Fatalf("Txn() = %v", err)
		}
		return ok, resp
	}
	if ok, resp := txn(&api.KVTxnOp{Verb: api.KVLock, Key: "txn/l", Value: []byte("v"), Session: id},
		&api.KVTxnOp{Verb: api.KVCheckSession, Key: "txn/l", Session: id}); !ok {
		t.Fatalf("Txn(lock, check-session) = %+v, want committed", resp.Errors)
	}
	if p, _ := kvGet(t, c.KV(), "txn/l"); p == nil || p.Session != id || p.LockIndex != 1 {
		t.Fatalf("Get(txn/l) = %+v, want held by %s, LockIndex 1", p, id)
	}
	ok, resp := txn(&api.KVTxnOp{Verb: api.KVCheckSession, Key: "txn/l", Session: "other"})
	if ok || len(resp.Errors) != 1 || !strings.Contains(resp.Errors[0].What, "failed session check") {
		t.Fatalf("Txn(check-session other) = %v, %+v; want rolled back with a session check error", ok, resp.Errors)
	}
	if ok, resp := txn(&api.KVTxnOp{Verb: api.KVUnlock, Key: "txn/l", Session: id}); !ok {
		t.Fatalf("Txn(unlock) = %+v, want committed", resp.Errors)
	}
	if p, _ := kvGet(t, c.KV(), "txn/l"); p == nil || p.Session != "" {
		t.Fatalf("Get(txn/l) after unlock = %+v, want released", p)
	}
}
