package http_test

import (
	"context"
	"net/http/httptrace"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/internal/testutil"
)

// KV index rules as the official client sees them. A blocking read with a
// short wait that nothing changes runs out its wait and reports the index
// it was given; one that something woke reports a higher one. The
// assertions are on what the reads return, never on how long they took.

func kvPut(t *testing.T, kv *api.KV, key, value string, flags uint64) {
	t.Helper()
	if _, err := kv.Put(&api.KVPair{Key: key, Value: []byte(value), Flags: flags}, nil); err != nil {
		t.Fatalf("Put(%q) = %v", key, err)
	}
}

// kvGet reads key without blocking and returns the pair (nil when missing)
// and X-Consul-Index.
func kvGet(t *testing.T, kv *api.KV, key string) (*api.KVPair, uint64) {
	t.Helper()
	p, meta, err := kv.Get(key, nil)
	if err != nil {
		t.Fatalf("Get(%q) = %v", key, err)
	}
	return p, meta.LastIndex
}

type kvResult struct {
	pair *api.KVPair
	meta *api.QueryMeta
	err  error
}

// blockingGet starts Get(key) with ?index and ?wait on another goroutine
// and returns once the request is on the wire, so the writes that follow
// most likely find it parked on the server. What the tests assert holds
// either way: a read that starts after a write sees its index as well.
func blockingGet(kv *api.KV, key string, index uint64, wait time.Duration) <-chan kvResult {
	sent := make(chan struct{})
	var once sync.Once
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(sent) }) },
	})
	done := make(chan kvResult, 1)
	go func() {
		q := &api.QueryOptions{WaitIndex: index, WaitTime: wait}
		p, m, err := kv.Get(key, q.WithContext(ctx))
		done <- kvResult{p, m, err}
	}()
	select {
	case <-sent:
	case r := <-done:
		done <- r // failed before sending; the caller reads the error
	}
	return done
}

func (r kvResult) value() string {
	if r.pair == nil {
		return "<missing>"
	}
	return string(r.pair.Value)
}

// index is X-Consul-Index, 0 when the read failed.
func (r kvResult) index() uint64 {
	if r.meta == nil {
		return 0
	}
	return r.meta.LastIndex
}

// TestAPIKVUnchangedPut: putting back what a key holds answers true, keeps
// ModifyIndex and wakes no blocking read; changing it does.
func TestAPIKVUnchangedPut(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	kv := officialClientFor(t, a).KV()

	kvPut(t, kv, "noop/k", "v", 3)
	p, idx := kvGet(t, kv, "noop/k")
	if p == nil {
		t.Fatalf("Get(noop/k) = nil, want the entry")
	}
	m1 := p.ModifyIndex

	newClient(a).mustPut(t, "/v1/kv/noop/k?flags=3", "v")
	kvPut(t, kv, "noop/k", "v", 3)
	if ok, _, err := kv.CAS(&api.KVPair{Key: "noop/k", Value: []byte("v"), Flags: 3, ModifyIndex: m1}, nil); err != nil || !ok {
		t.Fatalf("CAS(noop/k, index %d, same value) = %v, %v, want true", m1, ok, err)
	}
	if p, idx2 := kvGet(t, kv, "noop/k"); p == nil || p.ModifyIndex != m1 || idx2 != idx {
		t.Fatalf("Get(noop/k) after unchanged puts = %+v, index %d; want ModifyIndex %d, index %d", p, idx2, m1, idx)
	}

	done := blockingGet(kv, "noop/k", m1, time.Second)
	kvPut(t, kv, "noop/k", "v", 3)
	kvPut(t, kv, "noop/other", "x", 0)
	r := <-done
	if r.err != nil {
		t.Fatalf("Get(noop/k, index=%d) = %v", m1, r.err)
	}
	if r.value() != "v" || r.index() != m1 {
		t.Errorf("Get(noop/k, index=%d, wait=1s) = %q at index %d, want %q at %d: an unchanged put must not answer it",
			m1, r.value(), r.index(), "v", m1)
	}

	done = blockingGet(kv, "noop/k", m1, 30*time.Second)
	kvPut(t, kv, "noop/k", "v", 4)
	r = <-done
	if p, _ = kvGet(t, kv, "noop/k"); p == nil {
		t.Fatalf("Get(noop/k) = nil, want the entry")
	}
	if r.err != nil || r.pair == nil || r.pair.Flags != 4 || r.index() != p.ModifyIndex || p.ModifyIndex <= m1 {
		t.Errorf("Get(noop/k, index=%d) after a flags change = %+v at index %d, %v; want flags 4 at index %d (> %d)",
			m1, r.pair, r.index(), r.err, p.ModifyIndex, m1)
	}
}

// TestAPIKVMissingKeyIndex: a blocking read of a missing key is not
// answered by writes to other keys, is answered when the key is created,
// and a reader holding the index of a deleted key learns of the deletion
// at once.
func TestAPIKVMissingKeyIndex(t *testing.T) {
	t.Parallel()
	kv := officialClient(t).KV()
	kvPut(t, kv, "mk/sibling", "x", 0)

	p, n := kvGet(t, kv, "mk/key")
	if p != nil || n == 0 {
		t.Fatalf("Get(mk/key) = %+v, index %d; want missing with an index above 0", p, n)
	}
	kvPut(t, kv, "mk/sibling", "y", 0)
	kvPut(t, kv, "elsewhere", "z", 0)
	if _, err := kv.Delete("elsewhere", nil); err != nil {
		t.Fatalf("Delete(elsewhere) = %v", err)
	}
	if p, got := kvGet(t, kv, "mk/key"); p != nil || got != n {
		t.Fatalf("Get(mk/key) after writes to other keys = %+v, index %d; want missing at %d", p, got, n)
	}

	done := blockingGet(kv, "mk/key", n, time.Second)
	kvPut(t, kv, "mk/sibling", "w", 0)
	kvPut(t, kv, "elsewhere", "z", 0)
	r := <-done
	if r.err != nil || r.pair != nil || r.index() != n {
		t.Errorf("Get(mk/key, index=%d, wait=1s) = %q at index %d, %v; want missing at %d: other keys' writes must not answer it",
			n, r.value(), r.index(), r.err, n)
	}

	done = blockingGet(kv, "mk/key", n, 30*time.Second)
	kvPut(t, kv, "mk/key", "here", 0)
	r = <-done
	if r.err != nil || r.value() != "here" || r.index() != r.pair.ModifyIndex {
		t.Fatalf("Get(mk/key, index=%d) after create = %q at index %d, %v; want here at its ModifyIndex", n, r.value(), r.index(), r.err)
	}
	created := r.pair.ModifyIndex

	if _, err := kv.Delete("mk/key", nil); err != nil {
		t.Fatalf("Delete(mk/key) = %v", err)
	}
	r = <-blockingGet(kv, "mk/key", created, 30*time.Second)
	if r.err != nil || r.pair != nil || r.index() <= created {
		t.Errorf("Get(mk/key, index=%d) after delete = %q at index %d, %v; want missing at an index above %d", created, r.value(), r.index(), r.err, created)
	}
}
