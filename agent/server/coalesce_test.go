package server

import (
	"testing"

	"conclave/agent/router"
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
