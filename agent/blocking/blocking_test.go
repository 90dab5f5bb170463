package blocking

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/state"
	"conclave/agent/structs"
	"conclave/internal/retry"
)

// fakeServer is a Backend whose store can be replaced (a restore) and
// which can be stopped.
type fakeServer struct {
	mu       sync.Mutex
	st       *state.Store
	ready    error
	shutdown chan struct{}
}

func newFakeServer() *fakeServer {
	return &fakeServer{st: state.New(), shutdown: make(chan struct{})}
}

func (f *fakeServer) State() *state.Store {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

func (f *fakeServer) ReadReady(*structs.QueryOptions) error { return f.ready }

func (f *fakeServer) SetQueryMeta(m *structs.QueryMeta) { m.KnownLeader = true }

func (f *fakeServer) ShutdownCh() <-chan struct{} { return f.shutdown }

// restore replaces the store, as a snapshot restore does.
func (f *fakeServer) restore() *state.Store {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.st
	f.st = state.New()
	old.Abandon()
	return f.st
}

// thing is what a fake read reads: whether it exists, the index it
// reports, and a watch channel that every write closes.
type thing struct {
	exists bool
	index  uint64
}

// table is a fake table with one watch channel, closed by every write,
// as the index row of a real table is. It counts the reads.
type table struct {
	mu    sync.Mutex
	now   thing
	ch    chan struct{}
	reads int
}

func newTable(t thing) *table { return &table{now: t, ch: make(chan struct{})} }

func (tb *table) write(t thing) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.now = t
	close(tb.ch)
	tb.ch = make(chan struct{})
}

func (tb *table) runs() int {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.reads
}

// read is the query function: it reports the thing's index, and
// ErrNotFound when it does not exist.
func (tb *table) read(m *structs.QueryMeta) QueryFn {
	return func(ws memdb.WatchSet, _ *state.Store) error {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		tb.reads++
		ws.Add(tb.ch)
		m.Index = tb.now.index
		if !tb.now.exists {
			return ErrNotFound
		}
		return nil
	}
}

// start runs a query on its own goroutine; the channel yields its error.
func start(ctx context.Context, qs *Queries, q structs.QueryOptions, m *structs.QueryMeta, fn QueryFn) <-chan error {
	done := make(chan error, 1)
	go func() { done <- qs.Run(ctx, &q, m, fn) }()
	return done
}

// waitRuns waits until the query has read n times, failing the test if it
// answered meanwhile.
func waitRuns(t *testing.T, tb *table, done <-chan error, n int) {
	t.Helper()
	retry.Run(t, 5*time.Second, func() error {
		select {
		case err := <-done:
			t.Fatalf("query answered (%v) after %d reads, want it waiting for read %d", err, tb.runs(), n)
		default:
		}
		if got := tb.runs(); got != n {
			return fmt.Errorf("reads = %d, want %d", got, n)
		}
		return nil
	})
}

// TestRunAnswers: when a blocking query answers, and after how many reads.
// Each write wakes the query exactly once; a missing thing that stays
// missing keeps waiting however far the index moves.
func TestRunAnswers(t *testing.T) {
	t.Parallel()
	found := func(i uint64) thing { return thing{exists: true, index: i} }
	missing := func(i uint64) thing { return thing{index: i} }
	for _, tc := range []struct {
		name      string
		first     thing
		min       uint64
		writes    []thing // all but the last must leave the query waiting
		wantIndex uint64
	}{
		{name: "found past the client's index answers at once", first: found(10), min: 5, wantIndex: 10},
		{name: "missing past the client's index (deleted since) answers at once", first: missing(10), min: 5, wantIndex: 10},
		{name: "found waits for its index to move", first: found(5), min: 5,
			writes: []thing{found(5), found(6)}, wantIndex: 6},
		{name: "missing sleeps through unrelated writes until created", first: missing(5), min: 5,
			writes: []thing{missing(6), missing(7), missing(8), found(9)}, wantIndex: 9},
		{name: "missing below the client's index, then created", first: missing(3), min: 5,
			writes: []thing{missing(4), missing(6), found(7)}, wantIndex: 7},
		{name: "found then deleted answers", first: found(5), min: 5,
			writes: []thing{missing(6)}, wantIndex: 6},
		{name: "deleted at the client's own index answers", first: found(5), min: 5,
			writes: []thing{missing(5)}, wantIndex: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			qs := New(newFakeServer())
			tb := newTable(tc.first)
			var m structs.QueryMeta
			done := start(context.Background(), qs, structs.QueryOptions{MinQueryIndex: tc.min, MaxQueryTime: 10 * time.Second}, &m, tb.read(&m))
			for i, w := range tc.writes {
				waitRuns(t, tb, done, i+1)
				tb.write(w)
			}
			if err := <-done; err != nil {
				t.Fatalf("Run() = %v, want nil", err)
			}
			if m.Index != tc.wantIndex || !m.KnownLeader {
				t.Errorf("Run() meta = index %d, known leader %v; want index %d, true", m.Index, m.KnownLeader, tc.wantIndex)
			}
			if got, want := tb.runs(), len(tc.writes)+1; got != want {
				t.Errorf("reads = %d, want %d (one per write, and the first)", got, want)
			}
			if got := qs.Waiting(); got != 0 {
				t.Errorf("Waiting() after the answer = %d, want 0", got)
			}
		})
	}
}

// TestRunOnce: a read without an index runs once and never waits; an
// absent thing is an ordinary empty answer, and index 0 becomes 1.
func TestRunOnce(t *testing.T) {
	t.Parallel()
	qs := New(newFakeServer())
	tb := newTable(thing{index: 0})
	var m structs.QueryMeta
	if err := qs.Run(context.Background(), &structs.QueryOptions{}, &m, tb.read(&m)); err != nil {
		t.Fatalf("Run(missing) = %v, want nil", err)
	}
	if m.Index != 1 || tb.runs() != 1 {
		t.Errorf("Run(missing) = index %d after %d reads, want index 1 after 1", m.Index, tb.runs())
	}
}

// TestRunErrors: the consistency check comes first, and a read's own
// error ends the query.
func TestRunErrors(t *testing.T) {
	t.Parallel()
	srv := newFakeServer()
	srv.ready = structs.ErrNoLeader
	ran := false
	err := New(srv).Run(context.Background(), &structs.QueryOptions{MinQueryIndex: 1}, &structs.QueryMeta{},
		func(memdb.WatchSet, *state.Store) error { ran = true; return nil })
	if !errors.Is(err, structs.ErrNoLeader) || ran {
		t.Errorf("Run() without a leader = %v (read ran: %v), want %v without reading", err, ran, structs.ErrNoLeader)
	}

	boom := errors.New("boom")
	err = New(newFakeServer()).Run(context.Background(), &structs.QueryOptions{MinQueryIndex: 1}, &structs.QueryMeta{},
		func(memdb.WatchSet, *state.Store) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("Run() of a failing read = %v, want %v", err, boom)
	}
}

// TestRunEnds: a waiting query ends when its caller hangs up (with the
// caller's error), when its wait runs out or the server stops (with the
// last result), and re-reads the new store after a restore. Waiting
// counts it until then.
func TestRunEnds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		wait      time.Duration
		end       func(srv *fakeServer, cancel context.CancelFunc)
		wantErr   error
		wantIndex uint64
	}{
		{name: "caller hangs up", wait: time.Hour, end: func(_ *fakeServer, cancel context.CancelFunc) { cancel() }, wantErr: context.Canceled, wantIndex: 5},
		{name: "server stops", wait: time.Hour, end: func(srv *fakeServer, _ context.CancelFunc) { close(srv.shutdown) }, wantIndex: 5},
		{name: "wait runs out", wait: time.Millisecond, end: func(*fakeServer, context.CancelFunc) {}, wantIndex: 5},
		{name: "restore", wait: time.Hour, end: func(srv *fakeServer, _ context.CancelFunc) { srv.restore() }, wantIndex: 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFakeServer()
			qs := New(srv)
			first := srv.State()
			var m structs.QueryMeta
			// On the store it started with the key is missing at the
			// client's index; a restored store has it.
			fn := func(ws memdb.WatchSet, st *state.Store) error {
				if st == first {
					m.Index = 5
					return ErrNotFound
				}
				m.Index = 9
				return nil
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := start(ctx, qs, structs.QueryOptions{MinQueryIndex: 5, MaxQueryTime: tc.wait}, &m, fn)
			if tc.wait > time.Second {
				retry.Run(t, 5*time.Second, func() error {
					if got := qs.Waiting(); got != 1 {
						return fmt.Errorf("Waiting() = %d, want 1", got)
					}
					return nil
				})
			}
			tc.end(srv, cancel)
			if err := <-done; !errors.Is(err, tc.wantErr) {
				t.Fatalf("Run() = %v, want %v", err, tc.wantErr)
			}
			if m.Index != tc.wantIndex {
				t.Errorf("Run() index = %d, want %d", m.Index, tc.wantIndex)
			}
			if got := qs.Waiting(); got != 0 {
				t.Errorf("Waiting() after the end = %d, want 0", got)
			}
		})
	}
}

// TestQueryWait: the default wait, the cap, and no wait without an index.
func TestQueryWait(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		q    structs.QueryOptions
		want time.Duration
	}{
		{structs.QueryOptions{}, 0},
		{structs.QueryOptions{MaxQueryTime: time.Second}, 0},
		{structs.QueryOptions{MinQueryIndex: 1}, 5 * time.Minute},
		{structs.QueryOptions{MinQueryIndex: 1, MaxQueryTime: time.Second}, time.Second},
		{structs.QueryOptions{MinQueryIndex: 1, MaxQueryTime: time.Hour}, 10 * time.Minute},
	} {
		if got := tc.q.QueryWait(); got != tc.want {
			t.Errorf("QueryWait(index %d, wait %v) = %v, want %v", tc.q.MinQueryIndex, tc.q.MaxQueryTime, got, tc.want)
		}
	}
}

// TestMissingKeyOnStore: on the real state store, a blocking read of a
// missing key sleeps through writes to other keys and answers when the
// key is created. Today's store hands a missing key the watch channel of
// the nearest radix node on its path, here the root, which every write
// replaces: each unrelated write wakes the read once, and it goes back to
// waiting although the index it reads has passed the client's.
func TestMissingKeyOnStore(t *testing.T) {
	t.Parallel()
	srv := newFakeServer()
	qs := New(srv)
	st := srv.State()
	set := func(idx uint64, key string) {
		t.Helper()
		req := &structs.KVSRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: key, Value: []byte("v")}}
		if out := st.KVSApplyBatch([]state.KVSWrite{{Index: idx, Req: req}}); out[0] != true {
			t.Fatalf("KVSApplyBatch(set %q) = %v, want true", key, out[0])
		}
	}
	set(1, "other/0")
	var (
		m     structs.QueryMeta
		ent   *structs.DirEntry
		reads atomic.Int32
	)
	fn := func(ws memdb.WatchSet, st *state.Store) error {
		reads.Add(1)
		var err error
		m.Index, ent, err = st.KVSGet(ws, "wanted/key")
		if err == nil && ent == nil {
			err = ErrNotFound
		}
		return err
	}
	done := start(context.Background(), qs, structs.QueryOptions{MinQueryIndex: 1, MaxQueryTime: time.Minute}, &m, fn)
	waitReads := func(n int) {
		t.Helper()
		retry.Run(t, 5*time.Second, func() error {
			select {
			case err := <-done:
				t.Fatalf("Run() = %v after %d reads, want it waiting", err, reads.Load())
			default:
			}
			if got := reads.Load(); got != int32(n) {
				return fmt.Errorf("reads = %d, want %d", got, n)
			}
			return nil
		})
	}
	const unrelated = 5
	for i := range unrelated {
		waitReads(i + 1)
		set(uint64(2+i), fmt.Sprintf("other/%d", i+1))
	}
	waitReads(unrelated + 1)
	set(2+unrelated, "wanted/key")
	if err := <-done; err != nil {
		t.Fatalf("Run() = %v, want nil", err)
	}
	if ent == nil || ent.Key != "wanted/key" || m.Index != 2+unrelated {
		t.Fatalf("Run() = %v at index %d, want wanted/key at index %d", ent, m.Index, 2+unrelated)
	}
	if got := reads.Load(); got != unrelated+2 {
		t.Errorf("reads = %d, want %d: the first, one per unrelated write, one for the creation", got, unrelated+2)
	}
}
