package event

import (
	"context"
	"sync"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/blocking"
	"conclave/agent/state"
	"conclave/agent/structs"
)

// Size is how many events an agent keeps.
const Size = 256

// entry is one kept event with the index it was listed at.
type entry struct {
	ev    *structs.UserEvent
	index uint64
}

// Buffer is an agent's ring of received events. It is safe for
// concurrent use.
type Buffer struct {
	mu     sync.Mutex
	ring   [Size]entry
	next   int // slot the next event goes into
	n      int // events held, at most Size
	last   uint64
	notify chan struct{} // closed and replaced by every Add

	queries *blocking.Queries
	stopCh  <-chan struct{}
}

// NewBuffer returns an empty buffer; blocking lists answer at once when
// stopCh closes (the agent stops).
func NewBuffer(stopCh <-chan struct{}) *Buffer {
	b := &Buffer{notify: make(chan struct{}), stopCh: stopCh}
	b.queries = blocking.New(localBackend{b})
	return b
}

// Add keeps e, dropping the oldest event when full, and wakes blocking
// lists. It returns the index e is listed at.
func (b *Buffer) Add(e *structs.UserEvent) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	idx := structs.EventIndex(e.ID)
	if idx <= b.last {
		idx = b.last + 1
	}
	b.last = idx
	b.ring[b.next] = entry{ev: e, index: idx}
	b.next = (b.next + 1) % Size
	if b.n < Size {
		b.n++
	}
	close(b.notify)
	b.notify = make(chan struct{})
	return idx
}

// list returns the held events named name (all when empty), oldest
// first, the index of the newest of them, and the channel the next Add
// closes.
func (b *Buffer) list(name string) ([]*structs.UserEvent, uint64, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]*structs.UserEvent, 0, b.n)
	var index uint64
	for i := 0; i < b.n; i++ {
		e := b.ring[(b.next-b.n+i+Size)%Size]
		if name == "" || e.ev.Name == name {
			out = append(out, e.ev)
			index = e.index
		}
	}
	return out, index, b.notify
}

// List answers GET /v1/event/list through the one blocking helper: with
// a MinQueryIndex it waits until an event of the name arrives past it.
// allow drops events the caller may not read (the ACL seam).
func (b *Buffer) List(ctx context.Context, args *structs.EventListRequest, allow func(name string) bool, reply *structs.IndexedEvents) error {
	return b.queries.Run(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, _ *state.Store) error {
		evs, index, ch := b.list(args.Name)
		ws.Add(ch)
		reply.Events = reply.Events[:0]
		for _, e := range evs {
			if allow(e.Name) {
				reply.Events = append(reply.Events, e)
			}
		}
		reply.Index = index
		return nil
	})
}

// localBackend runs the buffer's reads: agent-local data, so no store,
// no consistency mode to check and no leader to report (Consul's event
// list reports none either).
type localBackend struct{ b *Buffer }

func (localBackend) State() *state.Store                   { return nil }
func (localBackend) ReadReady(*structs.QueryOptions) error { return nil }
func (localBackend) SetQueryMeta(*structs.QueryMeta)       {}
func (l localBackend) ShutdownCh() <-chan struct{}         { return l.b.stopCh }
