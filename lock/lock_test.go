package lock

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/client"
	"conclave/internal/testutil"
)

func newClient(t *testing.T, addr string) *client.Client {
	t.Helper()
	c, err := client.New(&client.Config{Address: addr})
	if err != nil {
		t.Fatalf("client.New(%q) = %v", addr, err)
	}
	return c
}

// try acquires with a context that ends after wait: the caller expects
// the acquisition to fail, so wait only bounds how long it looks.
func try(t *testing.T, acquire func(context.Context) (*Hold, error), wait time.Duration) (*Hold, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return acquire(ctx)
}

func release(t *testing.T, h *Hold) {
	t.Helper()
	if err := h.Release(context.Background()); err != nil {
		t.Errorf("Release() = %v", err)
	}
}

func TestConfigRefusesUnsafeSettings(t *testing.T) {
	t.Parallel()
	c := newClient(t, "127.0.0.1:1")
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"defaults", Config{Client: c}, ""},
		{"short TTL", Config{Client: c, SessionTTL: 5 * time.Second}, "must be between 10s and 24h"},
		{"stop time eats the window", Config{Client: c, SessionTTL: 10 * time.Second, NoLockDelay: true, StopTime: 8 * time.Second},
			"leaves no room for a failed renewal"},
		{"monitor retries outlast the window", Config{Client: c, MonitorRetries: 20, MonitorRetryTime: 2 * time.Second},
			"outlast the fence window"},
		{"no client", Config{}, "no client"},
	}
	for _, tt := range tests {
		_, err := NewLock(tt.cfg, "locks/x/.lock")
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: NewLock() error = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
	// A semaphore slot has no lock-delay to count on: the default 15 s
	// delay that makes a lock's window long does not help it.
	cfg := Config{Client: c, SessionTTL: 10 * time.Second, StopTime: 5 * time.Second, MonitorRetries: 3, MonitorRetryTime: 2 * time.Second}
	if _, err := NewLock(cfg, "k"); err != nil {
		t.Errorf("NewLock(%+v) = %v, want accepted thanks to the lock-delay", cfg, err)
	}
	if _, err := NewSemaphore(cfg, "p", 2); err == nil || !strings.Contains(err.Error(), "outlast the fence window") {
		t.Errorf("NewSemaphore(%+v) = %v, want refused", cfg, err)
	}
}

// TestLockExcludesOfficialLock holds the lock alternately through this
// package and the official client's api.Lock on the same key: neither
// gets in while the other holds it.
func TestLockExcludesOfficialLock(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	official := testutil.APIClient(t, a)
	l, err := NewLock(Config{Client: newClient(t, a.HTTPAddr()), NoLockDelay: true}, Key("locks/job"))
	if err != nil {
		t.Fatalf("NewLock() = %v", err)
	}
	ours, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire() = %v", err)
	}
	p, _, _ := official.KV().Get("locks/job/.lock", nil)
	if p == nil || p.Session != ours.Session() || p.Flags != api.LockFlagValue {
		t.Fatalf("lock key = %+v, want held by %s with the official flag value", p, ours.Session())
	}

	theirs, err := official.LockOpts(&api.LockOptions{Key: "locks/job/.lock", LockTryOnce: true, LockWaitTime: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("LockOpts() = %v", err)
	}
	if lost, err := theirs.Lock(nil); lost != nil || err != nil {
		t.Fatalf("api Lock() while we hold it = %v, %v, want nil, nil", lost, err)
	}
	release(t, ours)

	lost, err := theirs.Lock(nil)
	if lost == nil || err != nil {
		t.Fatalf("api Lock() after our release = %v, %v, want held", lost, err)
	}
	if h, err := try(t, l.Acquire, 300*time.Millisecond); h != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire() while api.Lock holds it = %v, %v, want a deadline error", h, err)
	}
	if err := theirs.Unlock(); err != nil {
		t.Fatalf("api Unlock() = %v", err)
	}
	ours, err = l.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire() after api Unlock = %v", err)
	}
	release(t, ours)
	// Release cleans up: no key, no session left.
	if p, _, _ := official.KV().Get("locks/job/.lock", nil); p != nil {
		t.Errorf("lock key after release = %+v, want deleted", p)
	}
	if list, _, _ := official.Session().List(nil); len(list) != 0 {
		t.Errorf("sessions after release = %+v, want none", list)
	}
}

func TestLockConflict(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	if _, err := testutil.APIClient(t, a).KV().Put(&api.KVPair{Key: "locks/x/.lock", Flags: 7}, nil); err != nil {
		t.Fatal(err)
	}
	l, _ := NewLock(Config{Client: newClient(t, a.HTTPAddr())}, Key("locks/x"))
	if h, err := l.Acquire(context.Background()); h != nil || !errors.Is(err, ErrConflict) {
		t.Errorf("Acquire() of a key with other flags = %v, %v, want ErrConflict", h, err)
	}
}

// TestSemaphoreWithOfficialSemaphore fills a 2-slot semaphore with one
// holder of ours and one api.Semaphore: a third of either kind waits.
func TestSemaphoreWithOfficialSemaphore(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	official := testutil.APIClient(t, a)
	s, err := NewSemaphore(Config{Client: newClient(t, a.HTTPAddr())}, "locks/reindex", 2)
	if err != nil {
		t.Fatalf("NewSemaphore() = %v", err)
	}
	first, err := s.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire() = %v", err)
	}
	sem, err := official.SemaphoreOpts(&api.SemaphoreOptions{Prefix: "locks/reindex", Limit: 2, SemaphoreTryOnce: true, SemaphoreWaitTime: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("SemaphoreOpts() = %v", err)
	}
	if lost, err := sem.Acquire(nil); lost == nil || err != nil {
		t.Fatalf("api Semaphore Acquire() with a free slot = %v, %v, want held", lost, err)
	}
	if h, err := try(t, s.Acquire, 300*time.Millisecond); h != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third Acquire() = %v, %v, want a deadline error", h, err)
	}
	third, _ := official.SemaphoreOpts(&api.SemaphoreOptions{Prefix: "locks/reindex", Limit: 2, SemaphoreTryOnce: true, SemaphoreWaitTime: 100 * time.Millisecond})
	if lost, err := third.Acquire(nil); lost != nil || err != nil {
		t.Fatalf("third api Acquire() = %v, %v, want nil, nil", lost, err)
	}
	release(t, first)
	if lost, err := third.Acquire(nil); lost == nil || err != nil {
		t.Fatalf("api Acquire() after our release = %v, %v, want held", lost, err)
	}
	if h, err := try(t, s.Acquire, 300*time.Millisecond); h != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire() with both slots taken by api = %v, %v, want a deadline error", h, err)
	}
	if err := sem.Release(); err != nil {
		t.Fatalf("api Release() = %v", err)
	}
	h, err := s.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire() after api Release = %v", err)
	}
	release(t, h)
	if _, err := NewSemaphore(Config{Client: newClient(t, a.HTTPAddr())}, "locks/reindex", 3); err != nil {
		t.Fatal(err)
	}
	wrong, _ := NewSemaphore(Config{Client: newClient(t, a.HTTPAddr())}, "locks/reindex", 3)
	if h, err := wrong.Acquire(context.Background()); h != nil || !errors.Is(err, ErrLimitConflict) {
		t.Errorf("Acquire() with limit 3 on a limit-2 semaphore = %v, %v, want ErrLimitConflict", h, err)
	}
}

// TestHoldLostWhenSessionDestroyed: destroying the session (an operator's
// `session destroy`) ends the hold of a lock and of a semaphore slot.
func TestHoldLostWhenSessionDestroyed(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	c := newClient(t, a.HTTPAddr())
	l, _ := NewLock(Config{Client: c}, Key("locks/a"))
	s, _ := NewSemaphore(Config{Client: c}, "locks/b", 1)
	for name, acquire := range map[string]func(context.Context) (*Hold, error){"lock": l.Acquire, "semaphore": s.Acquire} {
		h, err := acquire(context.Background())
		if err != nil {
			t.Fatalf("%s: Acquire() = %v", name, err)
		}
		if _, err := c.Session().Destroy(context.Background(), h.Session(), nil); err != nil {
			t.Fatal(err)
		}
		<-h.Lost()
		if err := h.Err(); !errors.Is(err, ErrLost) && !errors.Is(err, ErrSessionInvalidated) {
			t.Errorf("%s: Err() = %v, want ErrLost or ErrSessionInvalidated", name, err)
		}
		release(t, h)
	}
}

// TestHoldFencedWhenRenewalsFail puts a proxy between the holder and the
// agent that fails every renewal: the hold must report itself lost
// (ErrRenewUnconfirmed) before the session could expire, while the agent
// still has the session and the key held.
func TestHoldFencedWhenRenewalsFail(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	target, _ := url.Parse(a.HTTPURL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/session/renew/") {
			http.Error(w, "No cluster leader", http.StatusInternalServerError)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := Config{Client: newClient(t, srv.URL), SessionTTL: 10 * time.Second, NoLockDelay: true, StopTime: 5 * time.Second, MonitorRetries: -1}
	l, err := NewLock(cfg, Key("locks/f"))
	if err != nil {
		t.Fatalf("NewLock(%+v) = %v", cfg, err)
	}
	h, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire() = %v", err)
	}
	deadline := h.Deadline()
	<-h.Lost()
	if err := h.Err(); !errors.Is(err, ErrRenewUnconfirmed) {
		t.Errorf("Err() = %v, want ErrRenewUnconfirmed", err)
	}
	// Deadline is when the holder must have stopped: no later than the
	// TTL after the hold began.
	if limit := time.Now().Add(cfg.StopTime + time.Second); deadline.After(limit) {
		t.Errorf("Deadline() = %v, later than Lost + StopTime + margin (%v)", deadline, limit)
	}
	se, _, err := testutil.APIClient(t, a).Session().Info(h.Session(), nil)
	if err != nil || se == nil {
		t.Errorf("session %s when the fence closed = %v, %v; want still live (the fence must come first)", h.Session(), se, err)
	}
	release(t, h)
}

// TestWaitRenewsSession: a holder waiting for the lock renews its session
// meanwhile (a wait may outlast the TTL), and gives up with
// ErrSessionInvalidated when the session is destroyed under it.
func TestWaitRenewsSession(t *testing.T) {
	t.Parallel()
	a := testutil.NewSessionAgent(t)
	official := testutil.APIClient(t, a)
	held, err := official.LockKey("locks/w/.lock")
	if err != nil {
		t.Fatal(err)
	}
	if lost, err := held.Lock(nil); lost == nil || err != nil {
		t.Fatalf("api Lock() = %v, %v", lost, err)
	}
	defer held.Unlock()
	pair, _, err := official.KV().Get("locks/w/.lock", nil)
	if err != nil || pair == nil || pair.Session == "" {
		t.Fatalf("lock key held by api.Lock = %+v, %v", pair, err)
	}

	target, _ := url.Parse(a.HTTPURL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	var renewals atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/session/renew/") {
			renewals.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	l, err := NewLock(Config{Client: newClient(t, srv.URL), SessionTTL: 10 * time.Second, MonitorRetries: -1}, Key("locks/w"))
	if err != nil {
		t.Fatal(err)
	}
	type acquired struct {
		h   *Hold
		err error
	}
	done := make(chan acquired, 1)
	go func() { h, err := l.Acquire(context.Background()); done <- acquired{h, err} }()

	var ours string
	testutil.Retry(t, 20*time.Second, func() error {
		list, _, err := official.Session().List(nil)
		if err != nil {
			return err
		}
		for _, se := range list {
			if se.ID != pair.Session {
				ours = se.ID
			}
		}
		if ours == "" || renewals.Load() == 0 {
			return fmt.Errorf("session %q, %d renewals so far", ours, renewals.Load())
		}
		return nil
	})
	if _, err := official.Session().Destroy(ours, nil); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if got.h != nil || !errors.Is(got.err, ErrSessionInvalidated) {
		t.Errorf("Acquire() after its session was destroyed = %v, %v, want ErrSessionInvalidated", got.h, got.err)
	}
}
