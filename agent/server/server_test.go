package server_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"conclave/agent/config"
	"conclave/agent/structs"
	"conclave/internal/testutil"
)

func put(t *testing.T, a *testutil.TestAgent, key, value string) {
	t.Helper()
	var ok bool
	args := structs.KVSRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: key, Value: []byte(value)}}
	if err := a.RPC(context.Background(), "KVS.Apply", &args, &ok); err != nil || !ok {
		t.Fatalf("KVS.Apply(set %q) = %v, %v, want true, nil", key, ok, err)
	}
}

func getEntries(t *testing.T, a *testutil.TestAgent, args structs.KeyRequest) structs.IndexedDirEntries {
	t.Helper()
	var out structs.IndexedDirEntries
	if err := a.RPC(context.Background(), "KVS.Get", &args, &out); err != nil {
		t.Fatalf("KVS.Get(%q) = %v", args.Key, err)
	}
	return out
}

func TestBlockingQuery(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})

	t.Run("wakes on a write to the key", func(t *testing.T) {
		t.Parallel()
		put(t, a, "block/wake", "v1")
		first := getEntries(t, a, structs.KeyRequest{Key: "block/wake"})

		type result struct {
			out structs.IndexedDirEntries
			err error
		}
		done := make(chan result, 1)
		go func() {
			var out structs.IndexedDirEntries
			err := a.RPC(context.Background(), "KVS.Get", &structs.KeyRequest{
				Key: "block/wake",
				QueryOptions: structs.QueryOptions{
					MinQueryIndex: first.Index,
					MaxQueryTime:  30 * time.Second,
				},
			}, &out)
			done <- result{out, err}
		}()
		put(t, a, "block/wake", "v2")

		// The 30s wait only bounds a broken test; the value is what counts.
		r := <-done
		if r.err != nil {
			t.Fatalf("blocking KVS.Get() = %v", r.err)
		}
		if r.out.Index <= first.Index {
			t.Errorf("blocking KVS.Get() index = %d, want > %d", r.out.Index, first.Index)
		}
		if len(r.out.Entries) != 1 || string(r.out.Entries[0].Value) != "v2" || r.out.Entries[0].ModifyIndex != r.out.Index {
			t.Errorf("blocking KVS.Get() = %+v, want v2 at the reply's index %d", r.out.Entries, r.out.Index)
		}
		if !r.out.KnownLeader {
			t.Errorf("blocking KVS.Get() KnownLeader = false, want true")
		}
	})

	t.Run("wakes when a missing key is created", func(t *testing.T) {
		t.Parallel()
		first := getEntries(t, a, structs.KeyRequest{Key: "block/created"})
		if len(first.Entries) != 0 {
			t.Fatalf("KVS.Get(%q) = %+v, want no entries", "block/created", first.Entries)
		}
		// A missing key reports the whole table's index, which the other
		// subtests' writes also move: like any client, loop on the index
		// until the entry shows up.
		type result struct {
			out   structs.IndexedDirEntries
			err   error
			polls int
		}
		done := make(chan result, 1)
		go func() {
			idx := first.Index
			for polls := 1; ; polls++ {
				var out structs.IndexedDirEntries
				err := a.RPC(context.Background(), "KVS.Get", &structs.KeyRequest{
					Key:          "block/created",
					QueryOptions: structs.QueryOptions{MinQueryIndex: idx, MaxQueryTime: 30 * time.Second},
				}, &out)
				if err != nil || len(out.Entries) > 0 || out.Index <= idx || polls == 100 {
					done <- result{out, err, polls}
					return
				}
				idx = out.Index
			}
		}()
		put(t, a, "block/created", "here")
		r := <-done
		if r.err != nil {
			t.Fatalf("blocking KVS.Get() = %v", r.err)
		}
		if len(r.out.Entries) != 1 || string(r.out.Entries[0].Value) != "here" {
			t.Errorf("blocking KVS.Get() after %d polls = index %d, %+v, want the new entry", r.polls, r.out.Index, r.out.Entries)
		}
	})

	t.Run("list wakes on a delete under the prefix", func(t *testing.T) {
		t.Parallel()
		put(t, a, "block/list/a", "a")
		var first structs.IndexedDirEntries
		if err := a.RPC(context.Background(), "KVS.List", &structs.KeyListRequest{Prefix: "block/list/"}, &first); err != nil {
			t.Fatalf("KVS.List() = %v", err)
		}
		done := make(chan error, 1)
		var out structs.IndexedDirEntries
		go func() {
			done <- a.RPC(context.Background(), "KVS.List", &structs.KeyListRequest{
				Prefix:       "block/list/",
				QueryOptions: structs.QueryOptions{MinQueryIndex: first.Index, MaxQueryTime: 30 * time.Second},
			}, &out)
		}()
		var ok bool
		if err := a.RPC(context.Background(), "KVS.Apply", &structs.KVSRequest{Op: structs.KVDelete, DirEnt: structs.DirEntry{Key: "block/list/a"}}, &ok); err != nil {
			t.Fatalf("KVS.Apply(delete) = %v", err)
		}
		if err := <-done; err != nil {
			t.Fatalf("blocking KVS.List() = %v", err)
		}
		if out.Index <= first.Index || len(out.Entries) != 0 {
			t.Errorf("blocking KVS.List() = index %d, %d entries, want index > %d and none", out.Index, len(out.Entries), first.Index)
		}
	})

	t.Run("times out with the same index when nothing changes", func(t *testing.T) {
		t.Parallel()
		put(t, a, "block/quiet", "v")
		first := getEntries(t, a, structs.KeyRequest{Key: "block/quiet"})
		// A write elsewhere must not end the wait early with a new index.
		put(t, a, "block/elsewhere", "x")
		out := getEntries(t, a, structs.KeyRequest{
			Key:          "block/quiet",
			QueryOptions: structs.QueryOptions{MinQueryIndex: first.Index, MaxQueryTime: 50 * time.Millisecond},
		})
		if out.Index != first.Index {
			t.Errorf("timed-out KVS.Get() index = %d, want %d", out.Index, first.Index)
		}
		if len(out.Entries) != 1 || string(out.Entries[0].Value) != "v" {
			t.Errorf("timed-out KVS.Get() = %+v, want the unchanged entry", out.Entries)
		}
	})

	t.Run("index already passed returns at once", func(t *testing.T) {
		t.Parallel()
		put(t, a, "block/passed", "v")
		first := getEntries(t, a, structs.KeyRequest{Key: "block/passed"})
		// MaxQueryTime of 10 minutes: if this blocked, the test would hang
		// until the package timeout rather than pass.
		out := getEntries(t, a, structs.KeyRequest{
			Key:          "block/passed",
			QueryOptions: structs.QueryOptions{MinQueryIndex: first.Index - 1, MaxQueryTime: 10 * time.Minute},
		})
		if out.Index != first.Index {
			t.Errorf("KVS.Get() index = %d, want %d", out.Index, first.Index)
		}
	})
}

func TestReadConsistencyModes(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	put(t, a, "modes/k", "v")
	for _, q := range []structs.QueryOptions{
		{},
		{AllowStale: true},
		{RequireConsistent: true},
	} {
		out := getEntries(t, a, structs.KeyRequest{Key: "modes/k", QueryOptions: q})
		if len(out.Entries) != 1 || string(out.Entries[0].Value) != "v" || !out.KnownLeader || out.LastContact != 0 {
			t.Errorf("KVS.Get(%+v) = %+v, want v with KnownLeader and zero LastContact", q, out)
		}
	}
	var out structs.IndexedDirEntries
	err := a.RPC(context.Background(), "KVS.Get", &structs.KeyRequest{Datacenter: "elsewhere", Key: "modes/k"}, &out)
	if err == nil || err.Error() != `No path to datacenter "elsewhere"` {
		t.Errorf("KVS.Get(dc=elsewhere) = %v, want No path to datacenter", err)
	}
}

func TestKVSApplyValidates(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	cases := []struct {
		name string
		args structs.KVSRequest
		kind structs.Kind
		want string
	}{
		{"missing key", structs.KVSRequest{Op: structs.KVSet}, structs.KindBadRequest, "Missing key name"},
		{"unknown op", structs.KVSRequest{Op: "frob", DirEnt: structs.DirEntry{Key: "k"}}, structs.KindBadRequest, `unsupported KV operation "frob"`},
		{"lock without session", structs.KVSRequest{Op: structs.KVLock, DirEnt: structs.DirEntry{Key: "k"}}, structs.KindBadRequest, "Missing session"},
		{"value too large", structs.KVSRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: "k", Value: make([]byte, structs.MaxKVSize+1)}}, structs.KindTooLarge, structs.ErrValueTooLarge.Error()},
	}
	for _, tc := range cases {
		var ok bool
		err := a.RPC(context.Background(), "KVS.Apply", &tc.args, &ok)
		if err == nil || err.Error() != tc.want || structs.ErrorKind(err) != tc.kind {
			t.Errorf("KVS.Apply(%s) = %v (kind %v), want %q (kind %v)", tc.name, err, structs.ErrorKind(err), tc.want, tc.kind)
		}
	}
}

func TestTxnEndpoints(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	var resp structs.TxnResponse
	err := a.RPC(context.Background(), "Txn.Apply", &structs.TxnRequest{Ops: structs.TxnOps{
		{KV: &structs.TxnKVOp{Verb: structs.KVSet, DirEnt: structs.DirEntry{Key: "txn/a", Value: []byte("1")}}},
		{KV: &structs.TxnKVOp{Verb: structs.KVGet, DirEnt: structs.DirEntry{Key: "txn/a"}}},
	}}, &resp)
	if err != nil || len(resp.Errors) != 0 || len(resp.Results) != 2 {
		t.Fatalf("Txn.Apply() = %+v, %v, want 2 results", resp, err)
	}
	idx := resp.Results[0].KV.ModifyIndex
	if got := resp.Results[1].KV; string(got.Value) != "1" || got.ModifyIndex != idx || resp.Results[0].KV.Value != nil {
		t.Errorf("Txn.Apply() results = %+v, %+v, want metadata then value 1", resp.Results[0].KV, got)
	}

	// Too many operations never reach raft.
	ops := make(structs.TxnOps, structs.MaxTxnOps+1)
	for i := range ops {
		ops[i] = &structs.TxnOp{KV: &structs.TxnKVOp{Verb: structs.KVSet, DirEnt: structs.DirEntry{Key: fmt.Sprintf("txn/many/%d", i)}}}
	}
	resp = structs.TxnResponse{}
	if err := a.RPC(context.Background(), "Txn.Apply", &structs.TxnRequest{Ops: ops}, &resp); err != nil {
		t.Fatalf("Txn.Apply(65 ops) = %v", err)
	}
	want := fmt.Sprintf("Transaction contains too many operations (%d > %d)", len(ops), structs.MaxTxnOps)
	if len(resp.Errors) != 1 || resp.Errors[0].What != want {
		t.Errorf("Txn.Apply(65 ops) errors = %v, want %q", resp.Errors, want)
	}

	var rr structs.TxnReadResponse
	err = a.RPC(context.Background(), "Txn.Read", &structs.TxnReadRequest{Ops: structs.TxnOps{
		{KV: &structs.TxnKVOp{Verb: structs.KVGet, DirEnt: structs.DirEntry{Key: "txn/a"}}},
	}}, &rr)
	if err != nil || len(rr.Errors) != 0 || len(rr.Results) != 1 || string(rr.Results[0].KV.Value) != "1" {
		t.Fatalf("Txn.Read() = %+v, %v, want value 1", rr, err)
	}
	// The read's index covers the KV and catalog tables (a transaction may
	// read both), so the agent's own catalog sync can move it past idx.
	if rr.Index < idx || !rr.KnownLeader {
		t.Errorf("Txn.Read() meta = index %d, known leader %v, want at least %d, true", rr.Index, rr.KnownLeader, idx)
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	var leader string
	if err := a.RPC(context.Background(), "Status.Leader", &structs.DCSpecificRequest{}, &leader); err != nil {
		t.Fatalf("Status.Leader() = %v", err)
	}
	if leader != a.ServerAddr() || leader == "" {
		t.Errorf("Status.Leader() = %q, want %q", leader, a.ServerAddr())
	}
	var peers []string
	if err := a.RPC(context.Background(), "Status.Peers", &structs.DCSpecificRequest{Datacenter: "dc1"}, &peers); err != nil {
		t.Fatalf("Status.Peers() = %v", err)
	}
	if want := []string{a.ServerAddr()}; !slices.Equal(peers, want) {
		t.Errorf("Status.Peers() = %q, want %q", peers, want)
	}
	err := a.RPC(context.Background(), "Status.Peers", &structs.DCSpecificRequest{Datacenter: "dc2"}, &peers)
	if err == nil || err.Error() != `No path to datacenter "dc2"` {
		t.Errorf("Status.Peers(dc2) = %v, want %v", err, structs.ErrUnknownDatacenter)
	}
	if !a.Server().IsLeader() {
		t.Errorf("IsLeader() = false on a bootstrapped single server")
	}
}

// errorIs compares by text: errors cross the RPC layer as strings.
func errorIs(err, target error) bool {
	return err != nil && (errors.Is(err, target) || err.Error() == target.Error())
}

func TestDurableRestartFromSnapshot(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tweak := func(c *config.Config) {
		c.RaftSnapshotThreshold = 100
		c.RaftSnapshotInterval = 50 * time.Millisecond
		c.RaftTrailingLogs = 10
	}
	const n = 1000
	value := func(i int) string { return fmt.Sprintf("value-%d-%s", i, string(rune('a'+i%26))) }

	a := testutil.NewAgent(t, testutil.AgentOptions{DataDir: dir, Tweak: tweak})
	// Concurrent writers let the leader batch entries into fewer fsyncs.
	var wg sync.WaitGroup
	errs := make(chan error, n)
	keys := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range keys {
				var ok bool
				args := structs.KVSRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: fmt.Sprintf("durable/%04d", i), Value: []byte(value(i))}}
				if err := a.RPC(context.Background(), "KVS.Apply", &args, &ok); err != nil || !ok {
					errs <- fmt.Errorf("set %d: %v, %v", i, ok, err)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		keys <- i
	}
	close(keys)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Delete one key so the restart must also bring back a tombstone.
	var ok bool
	if err := a.RPC(context.Background(), "KVS.Apply", &structs.KVSRequest{Op: structs.KVDelete, DirEnt: structs.DirEntry{Key: "durable/0000"}}, &ok); err != nil {
		t.Fatalf("KVS.Apply(delete) = %v", err)
	}
	var before structs.IndexedDirEntries
	if err := a.RPC(context.Background(), "KVS.List", &structs.KeyListRequest{Prefix: "durable/"}, &before); err != nil {
		t.Fatalf("KVS.List() = %v", err)
	}

	snapDir := filepath.Join(dir, "raft", "snapshots")
	testutil.Retry(t, 30*time.Second, func() error {
		ents, err := os.ReadDir(snapDir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if _, err := os.Stat(filepath.Join(snapDir, e.Name(), "meta.json")); err == nil && filepath.Ext(e.Name()) != ".tmp" {
				return nil
			}
		}
		return fmt.Errorf("no finished snapshot in %s yet (%d entries)", snapDir, len(ents))
	})
	if err := a.Shutdown(); err != nil {
		t.Fatalf("Shutdown() = %v", err)
	}

	b := testutil.NewAgent(t, testutil.AgentOptions{DataDir: dir, Tweak: tweak})
	var after structs.IndexedDirEntries
	if err := b.RPC(context.Background(), "KVS.List", &structs.KeyListRequest{Prefix: "durable/"}, &after); err != nil {
		t.Fatalf("after restart, KVS.List() = %v", err)
	}
	if len(after.Entries) != n-1 {
		t.Fatalf("after restart, KVS.List() has %d entries, want %d", len(after.Entries), n-1)
	}
	for i, e := range after.Entries {
		k := i + 1
		if want := fmt.Sprintf("durable/%04d", k); e.Key != want || string(e.Value) != value(k) {
			t.Fatalf("after restart, entry %d = %q=%q, want %q=%q", i, e.Key, e.Value, want, value(k))
		}
		if b := before.Entries[i]; e.CreateIndex != b.CreateIndex || e.ModifyIndex != b.ModifyIndex {
			t.Fatalf("after restart, %q indexes = %d/%d, want %d/%d", e.Key, e.CreateIndex, e.ModifyIndex, b.CreateIndex, b.ModifyIndex)
		}
	}
	if after.Index < before.Index {
		t.Errorf("after restart, KVS.List() index = %d, want at least %d", after.Index, before.Index)
	}
	if snap := b.Server().Stats()["last_snapshot_index"]; snap == "" || snap == "0" {
		t.Errorf("after restart, raft last_snapshot_index = %q, want a snapshot restored", snap)
	}
}

// TestConcurrentWritesCoalesce: concurrent plain writes are committed
// together, several to a raft entry (they share its index), and every
// one of them is answered true and lands with its own value; a CAS beside
// them keeps its own entry and its answer.
func TestConcurrentWritesCoalesce(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{DataDir: t.TempDir()})
	put(t, a, "warm", "up")
	const writers, each = 64, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var ok bool
				args := structs.KVSRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: fmt.Sprintf("c/%d/%d", w, i), Value: []byte(fmt.Sprint(w*each + i))}}
				if err := a.RPC(context.Background(), "KVS.Apply", &args, &ok); err != nil || !ok {
					errs <- fmt.Errorf("set %s = %v, %v", args.DirEnt.Key, ok, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var list structs.IndexedDirEntries
	if err := a.RPC(context.Background(), "KVS.List", &structs.KeyListRequest{Prefix: "c/"}, &list); err != nil {
		t.Fatalf("KVS.List = %v", err)
	}
	if len(list.Entries) != writers*each {
		t.Fatalf("%d keys under c/, want %d", len(list.Entries), writers*each)
	}
	indexes := map[uint64]int{}
	for _, e := range list.Entries {
		var w, i int
		if _, err := fmt.Sscanf(e.Key, "c/%d/%d", &w, &i); err != nil || string(e.Value) != fmt.Sprint(w*each+i) {
			t.Errorf("%s = %q, want %d", e.Key, e.Value, w*each+i)
		}
		indexes[e.ModifyIndex]++
	}
	if len(indexes) == len(list.Entries) {
		t.Errorf("%d writes from %d writers took %d raft indexes: none were committed together", len(list.Entries), writers, len(indexes))
	}

	// A CAS is not batched: it decides on the state as it finds it.
	e := getEntries(t, a, structs.KeyRequest{Key: "c/0/0"}).Entries[0]
	for _, want := range []bool{true, false} {
		var ok bool
		args := structs.KVSRequest{Op: structs.KVCAS, DirEnt: structs.DirEntry{Key: "c/0/0", Value: []byte("cas"), ModifyIndex: e.ModifyIndex}}
		if err := a.RPC(context.Background(), "KVS.Apply", &args, &ok); err != nil || ok != want {
			t.Errorf("CAS at index %d = %v, %v, want %v", e.ModifyIndex, ok, err, want)
		}
	}
}

// TestShutdownUnderWrites: a server shut down while many writers wait on
// raft answers every one of them (with the write, or no leader) and
// stops; none is left blocked on a future raft dropped (the package's
// leak check fails on one).
func TestShutdownUnderWrites(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{DataDir: t.TempDir()})
	put(t, a, "warm", "up")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var ok bool
				args := structs.KVSRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: fmt.Sprintf("w/%d/%d", w, i), Value: []byte("v")}}
				if err := a.RPC(context.Background(), "KVS.Apply", &args, &ok); err != nil {
					return // shut down under it: answered, not hung
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- a.Shutdown() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Shutdown() under writes did not return within a minute")
	}
	close(stop)
	wg.Wait()
}
