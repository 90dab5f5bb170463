package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptrace"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/internal/testutil"
)

// newClient starts an in-process agent and returns the official client
// pointed at it, as any program written for Consul would build it.
func newClient(t *testing.T) (*api.Client, *testutil.TestAgent) {
	t.Helper()
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "e2e-api"})
	cfg := api.DefaultConfig()
	cfg.Address = a.HTTPAddr()
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatalf("api.NewClient(%q) = %v", cfg.Address, err)
	}
	return c, a
}

func apiPut(t *testing.T, kv *api.KV, key, value string) {
	t.Helper()
	if _, err := kv.Put(&api.KVPair{Key: key, Value: []byte(value)}, nil); err != nil {
		t.Fatalf("Put(%q) = %v", key, err)
	}
}

func apiMustGet(t *testing.T, kv *api.KV, key string) *api.KVPair {
	t.Helper()
	p, _, err := kv.Get(key, nil)
	if err != nil {
		t.Fatalf("Get(%q) = %v", key, err)
	}
	if p == nil {
		t.Fatalf("Get(%q) = nil pair, want one", key)
	}
	return p
}

func TestAPIKVGetPutList(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	kv := c.KV()

	p, meta, err := kv.Get("nope/missing", nil)
	if p != nil || err != nil {
		t.Fatalf("Get(missing) = %v, %v, want nil, nil", p, err)
	}
	if meta == nil || meta.LastIndex == 0 {
		t.Errorf("Get(missing) meta = %+v, want a non-zero LastIndex", meta)
	}

	in := []*api.KVPair{
		{Key: "app/a", Value: []byte("1")},
		{Key: "app/b", Value: []byte("two"), Flags: 42},
		{Key: "app/sub/c", Value: []byte("3")},
		{Key: "app/sub/d/e", Value: []byte{0, 255, '\n'}},
		{Key: "apple", Value: []byte("not under app/")},
		{Key: "app/empty", Value: nil},
	}
	for _, p := range in {
		if _, err := kv.Put(p, nil); err != nil {
			t.Fatalf("Put(%q) = %v", p.Key, err)
		}
	}
	for _, want := range in {
		got := apiMustGet(t, kv, want.Key)
		if got.Key != want.Key || string(got.Value) != string(want.Value) || got.Flags != want.Flags {
			t.Errorf("Get(%q) = %q %q flags %d, want %q flags %d", want.Key, got.Key, got.Value, got.Flags, want.Value, want.Flags)
		}
		if got.CreateIndex == 0 || got.ModifyIndex != got.CreateIndex || got.LockIndex != 0 || got.Session != "" {
			t.Errorf("Get(%q) indexes = create %d modify %d lock %d session %q, want create = modify > 0, no lock",
				want.Key, got.CreateIndex, got.ModifyIndex, got.LockIndex, got.Session)
		}
	}

	pairs, _, err := kv.List("app/", nil)
	if err != nil {
		t.Fatalf("List(app/) = %v", err)
	}
	var keys []string
	for _, p := range pairs {
		keys = append(keys, p.Key)
	}
	wantKeys := []string{"app/a", "app/b", "app/empty", "app/sub/c", "app/sub/d/e"}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("List(app/) keys = %q, want %q (sorted, without apple)", keys, wantKeys)
	}

	for _, tc := range []struct {
		prefix, sep string
		want        []string
	}{
		{"app/", "/", []string{"app/a", "app/b", "app/empty", "app/sub/"}},
		{"app/", "", []string{"app/a", "app/b", "app/empty", "app/sub/c", "app/sub/d/e"}},
		{"app/sub/", "/", []string{"app/sub/c", "app/sub/d/"}},
		{"app", "/", []string{"app/", "apple"}},
		{"nothing/", "/", nil},
	} {
		got, _, err := kv.Keys(tc.prefix, tc.sep, nil)
		if err != nil {
			t.Errorf("Keys(%q, %q) = %v", tc.prefix, tc.sep, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Keys(%q, %q) = %q, want %q", tc.prefix, tc.sep, got, tc.want)
		}
	}

	// A write replaces the value and moves ModifyIndex on, keeping CreateIndex.
	before := apiMustGet(t, kv, "app/a")
	apiPut(t, kv, "app/a", "1b")
	after := apiMustGet(t, kv, "app/a")
	if string(after.Value) != "1b" || after.CreateIndex != before.CreateIndex || after.ModifyIndex <= before.ModifyIndex {
		t.Errorf("Get(app/a) after rewrite = %q create %d modify %d, want %q create %d modify > %d",
			after.Value, after.CreateIndex, after.ModifyIndex, "1b", before.CreateIndex, before.ModifyIndex)
	}
}

func TestAPIKVCASAndDelete(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	kv := c.KV()

	// ModifyIndex 0 means: create only if absent.
	ok, _, err := kv.CAS(&api.KVPair{Key: "cas/k", Value: []byte("v1"), ModifyIndex: 0}, nil)
	if err != nil || !ok {
		t.Fatalf("CAS(create cas/k) = %v, %v, want true", ok, err)
	}
	first := apiMustGet(t, kv, "cas/k")

	steps := []struct {
		name      string
		index     uint64
		value     string
		wantOK    bool
		wantValue string
	}{
		{"create-only on an existing key", 0, "v-again", false, "v1"},
		{"stale index", first.ModifyIndex + 1000, "v-stale", false, "v1"},
		{"current index", first.ModifyIndex, "v2", true, "v2"},
		{"the index just used is stale now", first.ModifyIndex, "v3", false, "v2"},
	}
	for _, s := range steps {
		ok, _, err := kv.CAS(&api.KVPair{Key: "cas/k", Value: []byte(s.value), ModifyIndex: s.index}, nil)
		if err != nil || ok != s.wantOK {
			t.Errorf("%s: CAS(cas/k, index %d) = %v, %v, want %v", s.name, s.index, ok, err, s.wantOK)
		}
		if got := apiMustGet(t, kv, "cas/k"); string(got.Value) != s.wantValue {
			t.Errorf("%s: Get(cas/k) = %q, want %q", s.name, got.Value, s.wantValue)
		}
	}

	cur := apiMustGet(t, kv, "cas/k")
	ok, _, err = kv.DeleteCAS(&api.KVPair{Key: "cas/k", ModifyIndex: cur.ModifyIndex - 1}, nil)
	if err != nil || ok {
		t.Errorf("DeleteCAS(cas/k, stale index %d) = %v, %v, want false", cur.ModifyIndex-1, ok, err)
	}
	apiMustGet(t, kv, "cas/k")
	ok, _, err = kv.DeleteCAS(&api.KVPair{Key: "cas/k", ModifyIndex: cur.ModifyIndex}, nil)
	if err != nil || !ok {
		t.Errorf("DeleteCAS(cas/k, index %d) = %v, %v, want true", cur.ModifyIndex, ok, err)
	}
	if p, _, err := kv.Get("cas/k", nil); p != nil || err != nil {
		t.Errorf("Get(cas/k) after DeleteCAS = %v, %v, want nil, nil", p, err)
	}

	apiPut(t, kv, "del/one", "1")
	if _, err := kv.Delete("del/one", nil); err != nil {
		t.Fatalf("Delete(del/one) = %v", err)
	}
	if p, _, err := kv.Get("del/one", nil); p != nil || err != nil {
		t.Errorf("Get(del/one) after Delete = %v, %v, want nil, nil", p, err)
	}
	// Deleting what is not there succeeds, as in Consul.
	if _, err := kv.Delete("del/never", nil); err != nil {
		t.Errorf("Delete(del/never) = %v, want nil", err)
	}

	for _, k := range []string{"tree/a", "tree/b/c", "tree/b/d", "treehouse"} {
		apiPut(t, kv, k, k)
	}
	if _, err := kv.DeleteTree("tree/", nil); err != nil {
		t.Fatalf("DeleteTree(tree/) = %v", err)
	}
	pairs, _, err := kv.List("tree/", nil)
	if err != nil || len(pairs) != 0 {
		t.Errorf("List(tree/) after DeleteTree = %v, %v, want empty", pairs, err)
	}
	if got := apiMustGet(t, kv, "treehouse"); string(got.Value) != "treehouse" {
		t.Errorf("Get(treehouse) = %q, want it kept by DeleteTree(tree/)", got.Value)
	}
}

func TestAPITxn(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	kv, txn := c.KV(), c.Txn()
	apiPut(t, kv, "txn/existing", "old")
	existing := apiMustGet(t, kv, "txn/existing")

	// A transaction that commits: every op applies, results in order.
	ok, resp, _, err := txn.Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "txn/a", Value: []byte("A")}},
		{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: "txn/existing", Value: []byte("new"), Index: existing.ModifyIndex}},
		{KV: &api.KVTxnOp{Verb: api.KVCheckNotExists, Key: "txn/absent"}},
		{KV: &api.KVTxnOp{Verb: api.KVGet, Key: "txn/a"}},
	}, nil)
	if err != nil || !ok {
		t.Fatalf("Txn(commit) = %v, %+v, %v, want true", ok, resp, err)
	}
	if len(resp.Errors) != 0 || len(resp.Results) != 3 {
		t.Fatalf("Txn(commit) = %d results %v errors, want 3 results (CheckNotExists has none), no errors", len(resp.Results), resp.Errors)
	}
	// Only get and get-tree carry the value, as in Consul.
	for i, want := range []struct{ key, value string }{{"txn/a", ""}, {"txn/existing", ""}, {"txn/a", "A"}} {
		if r := resp.Results[i].KV; r == nil || r.Key != want.key || string(r.Value) != want.value {
			t.Errorf("Txn(commit) result %d = %+v, want %s = %q", i, resp.Results[i].KV, want.key, want.value)
		}
	}
	if got := apiMustGet(t, kv, "txn/existing"); string(got.Value) != "new" {
		t.Errorf("Get(txn/existing) after commit = %q, want %q", got.Value, "new")
	}

	// A transaction with a failing op rolls back as a whole.
	ok, resp, _, err = txn.Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "txn/rolled-back", Value: []byte("x")}},
		{KV: &api.KVTxnOp{Verb: api.KVDelete, Key: "txn/a"}},
		{KV: &api.KVTxnOp{Verb: api.KVCheckIndex, Key: "txn/existing", Index: existing.ModifyIndex}},
	}, nil)
	if err != nil || ok {
		t.Fatalf("Txn(rollback) = %v, %v, want false, nil", ok, err)
	}
	if len(resp.Results) != 0 || len(resp.Errors) != 1 || resp.Errors[0].OpIndex != 2 || resp.Errors[0].What == "" {
		t.Errorf("Txn(rollback) = results %v errors %+v, want no results and one error at OpIndex 2 saying why",
			resp.Results, resp.Errors)
	}
	if p, _, err := kv.Get("txn/rolled-back", nil); p != nil || err != nil {
		t.Errorf("Get(txn/rolled-back) = %v, %v, want nil: the set was rolled back", p, err)
	}
	if got := apiMustGet(t, kv, "txn/a"); string(got.Value) != "A" {
		t.Errorf("Get(txn/a) = %q, want %q: the delete was rolled back", got.Value, "A")
	}

	// A read-only transaction answers like a read, with query meta.
	apiPut(t, kv, "txn/tree/x", "1")
	apiPut(t, kv, "txn/tree/y", "2")
	existing = apiMustGet(t, kv, "txn/existing")
	ok, resp, meta, err := txn.Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVGet, Key: "txn/a"}},
		{KV: &api.KVTxnOp{Verb: api.KVGetTree, Key: "txn/tree/"}},
		{KV: &api.KVTxnOp{Verb: api.KVCheckIndex, Key: "txn/existing", Index: existing.ModifyIndex}},
	}, nil)
	if err != nil || !ok {
		t.Fatalf("Txn(read-only) = %v, %v, want true", ok, err)
	}
	var got []string
	for _, r := range resp.Results {
		got = append(got, r.KV.Key+"="+string(r.KV.Value))
	}
	want := []string{"txn/a=A", "txn/tree/x=1", "txn/tree/y=2", "txn/existing="}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Txn(read-only) results = %q, want %q", got, want)
	}
	if meta == nil || meta.LastIndex == 0 || !meta.KnownLeader {
		t.Errorf("Txn(read-only) meta = %+v, want an index and a known leader", meta)
	}

	// A failing read-only transaction reports its errors too.
	ok, resp, _, err = txn.Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVGet, Key: "txn/a"}},
		{KV: &api.KVTxnOp{Verb: api.KVGet, Key: "txn/none"}},
	}, nil)
	if err != nil || ok || len(resp.Errors) != 1 || resp.Errors[0].OpIndex != 1 {
		t.Errorf("Txn(read of a missing key) = %v, %+v, %v, want false with one error at OpIndex 1", ok, resp, err)
	}
}

// TestAPIBlockingGet starts a blocking Get and writes until it returns: the
// assertion is what it returns, never how long it took.
func TestAPIBlockingGet(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	kv := c.KV()
	apiPut(t, kv, "block/k", "before")
	start := apiMustGet(t, kv, "block/k")

	type result struct {
		pair *api.KVPair
		meta *api.QueryMeta
		err  error
	}
	done := make(chan result, 1)
	// Write only once the request is on the wire, so a server that does not
	// block answers with the old value and fails the test.
	sent := make(chan struct{})
	var once sync.Once
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(sent) }) },
	})
	go func() {
		q := &api.QueryOptions{WaitIndex: start.ModifyIndex, WaitTime: 30 * time.Second}
		p, m, err := kv.Get("block/k", q.WithContext(ctx))
		done <- result{p, m, err}
	}()
	select {
	case <-sent:
	case r := <-done:
		t.Fatalf("blocking Get(block/k) returned before its request was sent: %+v", r)
	}

	// Write until the query returns: the first write may land before the
	// server has parked it, which is fine, as either way it must come back
	// with a value written after it started.
	written := map[string]bool{}
	var r result
	testutil.Retry(t, 30*time.Second, func() error {
		select {
		case r = <-done:
			return nil
		default:
		}
		v := fmt.Sprintf("after-%d", len(written))
		apiPut(t, kv, "block/k", v)
		written[v] = true
		select {
		case r = <-done:
			return nil
		default:
			return errors.New("blocking Get(block/k) has not returned yet")
		}
	})
	if r.err != nil {
		t.Fatalf("blocking Get(block/k) = %v", r.err)
	}
	if r.pair == nil || !written[string(r.pair.Value)] {
		t.Fatalf("blocking Get(block/k) = %v, want one of the values written after it started", r.pair)
	}
	if r.meta.LastIndex <= start.ModifyIndex || r.pair.ModifyIndex <= start.ModifyIndex {
		t.Errorf("blocking Get(block/k) index = %d, ModifyIndex %d, want both > %d",
			r.meta.LastIndex, r.pair.ModifyIndex, start.ModifyIndex)
	}

	// Without a change the wait runs out and the index stays where it was.
	cur := apiMustGet(t, kv, "block/k")
	p, meta, err := kv.Get("block/k", &api.QueryOptions{WaitIndex: cur.ModifyIndex, WaitTime: 50 * time.Millisecond})
	if err != nil || p == nil || meta.LastIndex != cur.ModifyIndex || string(p.Value) != string(cur.Value) {
		t.Errorf("Get(block/k, index %d, no write) = %v, index %v, %v, want %q at index %d",
			cur.ModifyIndex, p, meta, err, cur.Value, cur.ModifyIndex)
	}
}

func TestAPIStatusAndSelf(t *testing.T) {
	t.Parallel()
	c, a := newClient(t)

	leader, err := c.Status().Leader()
	if err != nil || leader != a.ServerAddr() {
		t.Errorf("Status().Leader() = %q, %v, want %q", leader, err, a.ServerAddr())
	}
	peers, err := c.Status().Peers()
	if err != nil || !reflect.DeepEqual(peers, []string{a.ServerAddr()}) {
		t.Errorf("Status().Peers() = %q, %v, want [%q]", peers, err, a.ServerAddr())
	}

	self, err := c.Agent().Self()
	if err != nil {
		t.Fatalf("Agent().Self() = %v", err)
	}
	for _, tc := range []struct {
		section, field string
		want           any
	}{
		{"Config", "NodeName", "e2e-api"},
		{"Config", "Datacenter", "dc1"},
		{"Config", "Server", true},
		{"Member", "Name", "e2e-api"},
	} {
		if got := self[tc.section][tc.field]; got != tc.want {
			t.Errorf("Agent().Self()[%q][%q] = %v, want %v", tc.section, tc.field, got, tc.want)
		}
	}
	// The client's own helper reads the node name from Self.
	if name, err := c.Agent().NodeName(); err != nil || name != "e2e-api" {
		t.Errorf("Agent().NodeName() = %q, %v, want %q", name, err, "e2e-api")
	}
}

func TestAPIConsistencyModes(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	kv := c.KV()
	apiPut(t, kv, "mode/k", "v")

	for _, tc := range []struct {
		name string
		q    *api.QueryOptions
	}{
		{"default", nil},
		{"stale", &api.QueryOptions{AllowStale: true}},
		{"consistent", &api.QueryOptions{RequireConsistent: true}},
	} {
		p, meta, err := kv.Get("mode/k", tc.q)
		if err != nil || p == nil || string(p.Value) != "v" {
			t.Errorf("%s: Get(mode/k) = %v, %v, want %q", tc.name, p, err, "v")
			continue
		}
		if meta.LastIndex != p.ModifyIndex || !meta.KnownLeader {
			t.Errorf("%s: Get(mode/k) meta = index %d known leader %v, want index %d and a known leader",
				tc.name, meta.LastIndex, meta.KnownLeader, p.ModifyIndex)
		}
		if meta.LastContact != 0 {
			t.Errorf("%s: Get(mode/k) LastContact = %v, want 0 from the leader itself", tc.name, meta.LastContact)
		}
		pairs, _, err := kv.List("mode/", tc.q)
		if err != nil || len(pairs) != 1 {
			t.Errorf("%s: List(mode/) = %v, %v, want one pair", tc.name, pairs, err)
		}
		keys, _, err := kv.Keys("mode/", "", tc.q)
		if err != nil || !reflect.DeepEqual(keys, []string{"mode/k"}) {
			t.Errorf("%s: Keys(mode/) = %q, %v, want [mode/k]", tc.name, keys, err)
		}
	}

	// Both at once contradict each other: Consul refuses with 400.
	_, _, err := kv.Get("mode/k", &api.QueryOptions{AllowStale: true, RequireConsistent: true})
	var se api.StatusError
	if !errors.As(err, &se) || se.Code != 400 {
		t.Errorf("Get(mode/k, stale and consistent) = %v, want a 400 StatusError", err)
	}
}

// TestAPIConcurrentWriters has many clients write disjoint keys at once
// (the leader batches them) and checks every acknowledged write is there.
func TestAPIConcurrentWriters(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	kv := c.KV()
	const writers, each = 8, 25
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		go func() {
			for i := 0; i < each; i++ {
				key := "conc/" + string(rune('a'+w)) + "/" + string(rune('a'+i))
				if _, err := kv.Put(&api.KVPair{Key: key, Value: []byte(key)}, nil); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < writers; w++ {
		if err := <-errs; err != nil {
			t.Fatalf("Put = %v", err)
		}
	}
	pairs, meta, err := kv.List("conc/", nil)
	if err != nil {
		t.Fatalf("List(conc/) = %v", err)
	}
	if len(pairs) != writers*each {
		t.Fatalf("List(conc/) = %d pairs, want %d", len(pairs), writers*each)
	}
	keys := make([]string, 0, len(pairs))
	for _, p := range pairs {
		if string(p.Value) != p.Key {
			t.Errorf("Get(%q) = %q, want %q", p.Key, p.Value, p.Key)
		}
		// Written once each: created and last modified by that write, at
		// or below the index the list answered at. (Concurrent writes may
		// share a raft entry and so an index; README, "Differences from
		// Consul".)
		if p.CreateIndex == 0 || p.ModifyIndex != p.CreateIndex || p.ModifyIndex > meta.LastIndex {
			t.Errorf("%s: CreateIndex %d, ModifyIndex %d, list index %d", p.Key, p.CreateIndex, p.ModifyIndex, meta.LastIndex)
		}
		keys = append(keys, p.Key)
	}
	if !sort.StringsAreSorted(keys) {
		t.Errorf("List(conc/) keys not sorted: %q", keys)
	}
}

// TestAPIOddKeysAndValues round-trips keys that need escaping in a URL and
// values at the size limit through the official client.
func TestAPIOddKeysAndValues(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	kv := c.KV()
	for _, key := range []string{
		"odd/with space",
		"odd/ключ/ünïcödé",
		"odd/percent%41%2F",
		"odd/question?mark=1&x",
		"odd/hash#frag",
		"odd/plus+sign",
		"odd/trailing/",
	} {
		apiPut(t, kv, key, "v:"+key)
		if got := apiMustGet(t, kv, key); got.Key != key || string(got.Value) != "v:"+key {
			t.Errorf("Get(%q) = %q %q, want the same key and %q", key, got.Key, got.Value, "v:"+key)
		}
	}
	keys, _, err := kv.Keys("odd/", "", nil)
	if err != nil || len(keys) != 7 {
		t.Errorf("Keys(odd/) = %q, %v, want 7 keys", keys, err)
	}
	if _, err := kv.DeleteTree("odd/", nil); err != nil {
		t.Fatalf("DeleteTree(odd/) = %v", err)
	}
	if keys, _, err := kv.Keys("odd/", "", nil); err != nil || len(keys) != 0 {
		t.Errorf("Keys(odd/) after DeleteTree = %q, %v, want none", keys, err)
	}

	const limit = 512 * 1024 // Consul's default kv_max_value_size
	for _, tc := range []struct {
		name   string
		size   int
		wantOK bool
	}{
		{"at the limit", limit, true},
		{"one byte over", limit + 1, false},
	} {
		val := []byte(strings.Repeat("z", tc.size))
		_, err := kv.Put(&api.KVPair{Key: "big/" + tc.name, Value: val}, nil)
		if (err == nil) != tc.wantOK {
			t.Errorf("Put(%d bytes) = %v, want ok=%v", tc.size, err, tc.wantOK)
			continue
		}
		if !tc.wantOK {
			var se api.StatusError
			if !errors.As(err, &se) || se.Code != 413 {
				t.Errorf("Put(%d bytes) = %v, want a 413 StatusError", tc.size, err)
			}
			continue
		}
		if got := apiMustGet(t, kv, "big/"+tc.name); len(got.Value) != tc.size {
			t.Errorf("Get(big/%s) = %d bytes, want %d", tc.name, len(got.Value), tc.size)
		}
	}
}
