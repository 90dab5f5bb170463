package server

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"conclave/agent/router"
	"conclave/agent/structs"
)

// TestKVBatchNeedsEveryServer: batched KV entries are written only while
// every known server of the datacenter gossips that it applies them; one
// older server (an upgrade under way) turns them off until it is gone or
// upgraded.
func TestKVBatchNeedsEveryServer(t *testing.T) {
	t.Parallel()
	var l serverLookup
	if l.noKVBatch.Load() {
		t.Fatal("an empty lookup turns batching off")
	}
	l.upsert(&router.Server{ID: "a", Name: "a", KVBatch: true})
	l.upsert(&router.Server{ID: "b", Name: "b", KVBatch: true})
	if l.noKVBatch.Load() {
		t.Error("two servers that batch: batching off")
	}
	old := &router.Server{ID: "c", Name: "c"}
	l.upsert(old)
	if !l.noKVBatch.Load() {
		t.Error("a server without the kv_batch tag: batching still on")
	}
	l.upsert(&router.Server{ID: "c", Name: "c", KVBatch: true}) // upgraded in place
	if l.noKVBatch.Load() {
		t.Error("the old server upgraded: batching still off")
	}
	l.upsert(old)
	l.remove(old)
	if l.noKVBatch.Load() {
		t.Error("the old server gone: batching still off")
	}
}

// TestCoalescerAnswersEachWrite: under many concurrent writers every write
// gets its own answer, no more than coalesceInflight batches are ever under
// way, writes are batched, and an error of a batch reaches each of its
// writers. A lost hand-off of the lead would hang it.
func TestCoalescerAnswersEachWrite(t *testing.T) {
	t.Parallel()
	var (
		mu               sync.Mutex
		inflight, most   int
		batches, batched int
	)
	c := &kvCoalescer{commit: func(reqs []*structs.KVSRequest) ([]any, error) {
		mu.Lock()
		inflight++
		most = max(most, inflight)
		batches++
		if len(reqs) > 1 {
			batched += len(reqs)
		}
		mu.Unlock()
		time.Sleep(time.Duration(rand.N(500)) * time.Microsecond)
		mu.Lock()
		inflight--
		mu.Unlock()
		out := make([]any, len(reqs))
		for i, r := range reqs {
			if r.DirEnt.Key == "bad" {
				return nil, errors.New("no leader")
			}
			out[i] = r.DirEnt.Key
		}
		return out, nil
	}}
	const writers, each = 64, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				key := fmt.Sprintf("%d/%d", w, i)
				if w == 0 && i == each/2 {
					key = "bad"
				}
				resp, err := c.apply(&structs.KVSRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: key}})
				switch {
				case key == "bad" && err == nil:
					t.Errorf("the failing batch's own write: no error")
				case err != nil && err.Error() != "no leader":
					t.Errorf("%s: %v", key, err)
				case err == nil && resp != key:
					t.Errorf("%s answered %v", key, resp)
				}
			}
		}()
	}
	wg.Wait()
	if most > coalesceInflight {
		t.Errorf("%d batches under way at once, want at most %d", most, coalesceInflight)
	}
	if batched == 0 || batches >= writers*each {
		t.Errorf("%d writes in %d batches, %d of them batched: nothing was coalesced", writers*each, batches, batched)
	}
	if c.leaders != 0 || len(c.waiting) != 0 {
		t.Errorf("after the writers: %d leaders, %d waiting, want none", c.leaders, len(c.waiting))
	}
}
