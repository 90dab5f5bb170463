package server

import (
	"regexp"
	"testing"

	"conclave/agent/structs"
)

// TestEventIDs: IDs are UUID-shaped, unique, and their index (what the
// official client's IDToIndex computes) grows with each one.
func TestEventIDs(t *testing.T) {
	t.Parallel()
	var g eventIDs
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	var last uint64
	for i := 0; i < 1000; i++ {
		id := g.next()
		if !uuid.MatchString(id) || seen[id] {
			t.Fatalf("next() = %q: not a fresh UUID-shaped ID", id)
		}
		seen[id] = true
		idx := structs.EventIndex(id)
		if idx <= last {
			t.Fatalf("EventIndex(%s) = %d after %d, want it to grow", id, idx, last)
		}
		last = idx
	}
}
