package blocking

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/state"
	"conclave/agent/structs"
)

// ErrNotFound is what a query function returns, after setting the reply's
// index, when the one thing it reads (a key, a node) does not exist. The
// caller never sees it: Run answers with the reply as the function left it,
// empty. Within one wait, a result that stays missing keeps waiting
// whatever the index does: the index of a missing thing may be its
// table's (a missing node's is), which moves with every unrelated write.
var ErrNotFound = errors.New("not found")

// Backend is what a query needs from the server that runs it. Its methods
// are called concurrently.
type Backend interface {
	// State is the store reads run against now. A snapshot restore
	// replaces it and closes the old store's AbandonCh. A backend of
	// agent-local data (the agent's event buffer) has no store: nil, and
	// its query functions read their own data and watch their own
	// channels.
	State() *state.Store
	// ReadReady checks q's consistency mode before a read, and returns
	// the error to answer with when the server may not serve it.
	ReadReady(q *structs.QueryOptions) error
	// SetQueryMeta fills what the reply says about the server: its known
	// leader and last contact.
	SetQueryMeta(m *structs.QueryMeta)
	// ShutdownCh is closed when the server stops.
	ShutdownCh() <-chan struct{}
}

// QueryFn reads st once, adding what it reads to ws, and fills the reply
// with its result and index. It returns ErrNotFound when what it reads
// does not exist.
type QueryFn func(ws memdb.WatchSet, st *state.Store) error

// Queries runs the reads of one server and counts those waiting.
type Queries struct {
	backend Backend
	waiting atomic.Int64
}

// New returns the query runner of a server.
func New(b Backend) *Queries { return &Queries{backend: b} }

// Waiting is the number of blocking queries waiting now: past their first
// read, not yet answered.
func (qs *Queries) Waiting() int { return int(qs.waiting.Load()) }

// Run answers one read. Without a MinQueryIndex it runs fn once. With one
// it re-runs fn each time a watched channel fires until the answer changes
// (see answers), and answers with the last result when the wait runs out
// (q.QueryWait plus up to a sixteenth of jitter, which spreads out the
// herd of clients whose waits started together) or the server stops. When
// ctx ends first (the client hung up) it returns ctx's error at once.
func (qs *Queries) Run(ctx context.Context, q *structs.QueryOptions, m *structs.QueryMeta, fn QueryFn) error {
	b := qs.backend
	if err := b.ReadReady(q); err != nil {
		return err
	}
	caller := ctx
	if wait := q.QueryWait(); wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait+rand.N(wait/16+1))
		defer cancel()
	}
	for first, wasMissing := true, false; ; first = false {
		st := b.State()
		ws := memdb.NewWatchSet()
		if st != nil {
			// A restore wakes every waiter to re-run on the new store.
			ws.Add(st.AbandonCh())
		}
		// A stopping server must not hold readers for the rest of their
		// wait: they get what there is now.
		ws.Add(b.ShutdownCh())
		err := fn(ws, st)
		missing := errors.Is(err, ErrNotFound)
		if missing {
			err = nil
		}
		b.SetQueryMeta(m)
		if m.Index == 0 {
			// Index 0 would make a client's next query non-blocking and
			// spin; 1 is below every real index.
			m.Index = 1
		}
		if err != nil || q.MinQueryIndex == 0 || answers(first, wasMissing, missing, m.Index, q.MinQueryIndex) {
			return err
		}
		wasMissing = missing
		if first {
			// Waiting from here until it answers (the defer runs once).
			qs.waiting.Add(1)
			defer qs.waiting.Add(-1)
		}
		if ws.WatchCtx(ctx) != nil {
			// The caller's error if it hung up; a timeout answers with
			// what there is, as Consul does.
			return caller.Err()
		}
		select {
		case <-b.ShutdownCh():
			return nil
		default:
		}
	}
}

// answers tells whether a run answers a blocking query. The first run
// follows the index alone, so a thing removed since the client's index
// answers at once. Later runs of the same wait answer when the thing
// appeared or disappeared; while it stays missing they keep waiting,
// however far unrelated writes moved the index.
func answers(first, wasMissing, missing bool, index, min uint64) bool {
	switch {
	case first:
		return index > min
	case missing != wasMissing:
		return true
	case missing:
		return false
	default:
		return index > min
	}
}
