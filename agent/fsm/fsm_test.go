package fsm

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/raft"

	"conclave/agent/state"
	"conclave/agent/structs"
)

// command encodes msg as the raft log entry at index.
func command(t *testing.T, index uint64, mt structs.MessageType, msg any) *raft.Log {
	t.Helper()
	buf, err := structs.Encode(mt, msg)
	if err != nil {
		t.Fatalf("Encode(%d) = %v", mt, err)
	}
	return &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: buf}
}

func kvsReq(op structs.KVOp, key, value string, cas uint64) *structs.KVSRequest {
	r := &structs.KVSRequest{Op: op, DirEnt: structs.DirEntry{Key: key, ModifyIndex: cas}}
	if value != "" {
		r.DirEnt.Value = []byte(value)
	}
	return r
}

func getKV(t *testing.T, st *state.Store, key string) *structs.DirEntry {
	t.Helper()
	_, e, err := st.KVSGet(nil, key)
	if err != nil {
		t.Fatalf("KVSGet(%q) error = %v", key, err)
	}
	return e
}

func TestApply(t *testing.T) {
	t.Parallel()
	// The steps run in order on one FSM; step i is log index i+1.
	steps := []struct {
		name string
		mt   structs.MessageType
		msg  any
		want any
	}{
		{"set", structs.KVSRequestType, kvsReq(structs.KVSet, "k", "v1", 0), true},
		{"cas create-only on existing key", structs.KVSRequestType, kvsReq(structs.KVCAS, "k", "v2", 0), false},
		{"cas with current index", structs.KVSRequestType, kvsReq(structs.KVCAS, "k", "v3", 1), true},
		{"cas with stale index", structs.KVSRequestType, kvsReq(structs.KVCAS, "k", "v4", 1), false},
		{"set second key", structs.KVSRequestType, kvsReq(structs.KVSet, "dir/a", "a", 0), true},
		{"delete-cas stale", structs.KVSRequestType, kvsReq(structs.KVDeleteCAS, "dir/a", "", 1), false},
		{"delete-cas current", structs.KVSRequestType, kvsReq(structs.KVDeleteCAS, "dir/a", "", 5), true},
		{"delete missing", structs.KVSRequestType, kvsReq(structs.KVDelete, "nope", "", 0), true},
		{"delete-tree", structs.KVSRequestType, kvsReq(structs.KVDeleteTree, "dir/", "", 0), true},
		{"unsupported op", structs.KVSRequestType, kvsReq("get", "k", "", 0), errors.New(`unsupported KV operation "get"`)},
		{
			"txn commits",
			structs.TxnRequestType,
			&structs.TxnRequest{Ops: structs.TxnOps{
				{KV: &structs.TxnKVOp{Verb: structs.KVSet, DirEnt: structs.DirEntry{Key: "t", Value: []byte("tv")}}},
				{KV: &structs.TxnKVOp{Verb: structs.KVGet, DirEnt: structs.DirEntry{Key: "k"}}},
			}},
			structs.TxnResponse{Results: structs.TxnResults{
				{KV: &structs.DirEntry{Key: "t", CreateIndex: 11, ModifyIndex: 11}},
				{KV: &structs.DirEntry{Key: "k", Value: []byte("v3"), CreateIndex: 1, ModifyIndex: 3}},
			}},
		},
		{
			"txn rolls back",
			structs.TxnRequestType,
			&structs.TxnRequest{Ops: structs.TxnOps{
				{KV: &structs.TxnKVOp{Verb: structs.KVSet, DirEnt: structs.DirEntry{Key: "rolled", Value: []byte("x")}}},
				{KV: &structs.TxnKVOp{Verb: structs.KVCAS, DirEnt: structs.DirEntry{Key: "k", ModifyIndex: 1}}},
			}},
			structs.TxnResponse{Errors: structs.TxnErrors{{OpIndex: 1, What: `failed to set key "k", index is stale`}}},
		},
		{"reap tombstones", structs.TombstoneRequestType, &structs.TombstoneRequest{ReapIndex: 8}, nil},
	}
	f := New(nil)
	for i, st := range steps {
		got := f.Apply(command(t, uint64(i+1), st.mt, st.msg))
		if wantErr, ok := st.want.(error); ok {
			if err, ok := got.(error); !ok || err.Error() != wantErr.Error() {
				t.Errorf("step %d (%s): Apply() = %#v, want error %q", i+1, st.name, got, wantErr)
			}
			continue
		}
		if !reflect.DeepEqual(got, st.want) {
			t.Errorf("step %d (%s): Apply() = %#v, want %#v", i+1, st.name, got, st.want)
		}
	}

	s := f.State()
	if e := getKV(t, s, "k"); e == nil || string(e.Value) != "v3" || e.ModifyIndex != 3 {
		t.Errorf("KVSGet(%q) = %+v, want v3 at 3", "k", e)
	}
	if e := getKV(t, s, "rolled"); e != nil {
		t.Errorf("KVSGet(%q) = %+v, want nil after rollback", "rolled", e)
	}
	// dir/a's tombstone (7) was reaped at 13, so the empty prefix reports
	// the highest reaped index, which the later txn at 11 did not move.
	if idx, ents, _ := s.KVSList(nil, "dir/"); idx != 7 || len(ents) != 0 {
		t.Errorf("KVSList(%q) = %d, %d entries, want 7, 0", "dir/", idx, len(ents))
	}
}

func TestApplySkipsNonCommands(t *testing.T) {
	t.Parallel()
	f := New(nil)
	for _, l := range []*raft.Log{
		{Index: 1, Type: raft.LogNoop},
		{Index: 2, Type: raft.LogBarrier},
		{Index: 3, Type: raft.LogConfiguration, Data: []byte{1, 2, 3}},
		{Index: 4, Type: raft.LogCommand},
	} {
		if got := f.Apply(l); got != nil {
			t.Errorf("Apply(%v at %d) = %#v, want nil", l.Type, l.Index, got)
		}
	}
	if got := f.State().LatestIndex(); got != 0 {
		t.Errorf("LatestIndex() = %d, want 0", got)
	}
}

func TestApplyPanicsOnCorruptEntry(t *testing.T) {
	t.Parallel()
	cases := map[string][]byte{
		"unknown type":  {99, 0x80},
		"garbage body":  {byte(structs.KVSRequestType), 0xc1, 0xc1},
		"truncated txn": {byte(structs.TxnRequestType), 0x81},
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Errorf("Apply(%x) did not panic; a corrupt log must stop the FSM", data)
				}
			}()
			New(nil).Apply(&raft.Log{Index: 7, Type: raft.LogCommand, Data: data})
		})
	}
}

func TestApplyBatch(t *testing.T) {
	t.Parallel()
	f := New(nil)
	logs := []*raft.Log{
		command(t, 1, structs.KVSRequestType, kvsReq(structs.KVSet, "a", "1", 0)),
		{Index: 2, Type: raft.LogNoop},
		command(t, 3, structs.KVSRequestType, kvsReq(structs.KVCAS, "a", "2", 1)),
		command(t, 4, structs.KVSRequestType, kvsReq(structs.KVCAS, "a", "3", 1)),
		command(t, 5, structs.TxnRequestType, &structs.TxnRequest{Ops: structs.TxnOps{
			{KV: &structs.TxnKVOp{Verb: structs.KVGet, DirEnt: structs.DirEntry{Key: "a"}}},
		}}),
	}
	got := f.ApplyBatch(logs)
	want := []any{
		true,
		nil,
		true,
		false,
		structs.TxnResponse{Results: structs.TxnResults{
			{KV: &structs.DirEntry{Key: "a", Value: []byte("2"), CreateIndex: 1, ModifyIndex: 3}},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ApplyBatch() = %#v, want %#v", got, want)
	}
}

// TestApplyKVSBatch: a batch entry's writes land in order at the entry's
// one index, beside ordinary entries in the same leader batch, and its
// answer lists theirs. Apply (one entry) gives the same.
func TestApplyKVSBatch(t *testing.T) {
	t.Parallel()
	batch := func(index uint64, reqs ...*structs.KVSRequest) *raft.Log {
		return &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: structs.EncodeKVSBatch(reqs)}
	}
	f := New(nil)
	got := f.ApplyBatch([]*raft.Log{
		command(t, 1, structs.KVSRequestType, kvsReq(structs.KVSet, "a", "1", 0)),
		batch(2, kvsReq(structs.KVSet, "b", "1", 0), kvsReq(structs.KVSet, "a", "2", 0), kvsReq(structs.KVSet, "b", "3", 0)),
		command(t, 3, structs.KVSRequestType, kvsReq(structs.KVCAS, "a", "4", 2)),
	})
	want := []any{true, []any{true, true, true}, true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ApplyBatch() = %#v, want %#v", got, want)
	}
	st := f.State()
	if a := getKV(t, st, "a"); string(a.Value) != "4" || a.CreateIndex != 1 || a.ModifyIndex != 3 {
		t.Errorf("a = %+v, want value 4, created at 1, modified at 3 (the CAS on the batch's index won)", a)
	}
	if b := getKV(t, st, "b"); string(b.Value) != "3" || b.CreateIndex != 2 || b.ModifyIndex != 2 {
		t.Errorf("b = %+v, want value 3 (the batch's later write), created and modified at 2", b)
	}
	if f.AppliedIndex() != 3 {
		t.Errorf("AppliedIndex() = %d, want 3", f.AppliedIndex())
	}

	g := New(nil)
	if r := g.Apply(batch(7, kvsReq(structs.KVSet, "c", "1", 0), kvsReq(structs.KVSet, "d", "2", 0))); !reflect.DeepEqual(r, []any{true, true}) {
		t.Errorf("Apply(batch) = %#v, want [true true]", r)
	}
	if d := getKV(t, g.State(), "d"); d == nil || string(d.Value) != "2" || d.ModifyIndex != 7 {
		t.Errorf("d = %+v, want value 2 at index 7", d)
	}
}

// memSink is a raft.SnapshotSink over a buffer.
type memSink struct {
	bytes.Buffer
	closed, cancelled bool
	failWrites        bool
}

func (s *memSink) ID() string { return "mem" }

func (s *memSink) Cancel() error { s.cancelled = true; return nil }

func (s *memSink) Close() error { s.closed = true; return nil }

func (s *memSink) Write(p []byte) (int, error) {
	if s.failWrites {
		return 0, errors.New("disk full")
	}
	return s.Buffer.Write(p)
}

var _ raft.SnapshotSink = (*memSink)(nil)

// persist snapshots f into a buffer.
func persist(t *testing.T, f *FSM) *memSink {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot() = %v", err)
	}
	defer snap.Release()
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatalf("Persist() = %v", err)
	}
	if !sink.closed || sink.cancelled {
		t.Fatalf("after Persist(), sink closed=%v cancelled=%v, want true, false", sink.closed, sink.cancelled)
	}
	return sink
}

// everything reads back all that a snapshot should preserve.
type everything struct {
	KVs     structs.DirEntries
	Tombs   []state.Tombstone
	Indexes map[string]uint64
	Latest  uint64
	// Reads whose index depends on tombstones and table indexes.
	ListIdx    map[string]uint64
	MissingIdx uint64
}

func readEverything(t *testing.T, st *state.Store) everything {
	t.Helper()
	sn := st.Snapshot()
	defer sn.Close()
	e := everything{Indexes: map[string]uint64{}, ListIdx: map[string]uint64{}, Latest: st.LatestIndex()}
	if err := sn.KVs(func(d *structs.DirEntry) error { e.KVs = append(e.KVs, d); return nil }); err != nil {
		t.Fatalf("KVs() = %v", err)
	}
	if err := sn.Tombstones(func(ts state.Tombstone) error { e.Tombs = append(e.Tombs, ts); return nil }); err != nil {
		t.Fatalf("Tombstones() = %v", err)
	}
	if err := sn.Indexes(func(table string, idx uint64) error { e.Indexes[table] = idx; return nil }); err != nil {
		t.Fatalf("Indexes() = %v", err)
	}
	for _, p := range []string{"", "a/", "del/", "reaped/"} {
		idx, _, err := st.KVSList(nil, p)
		if err != nil {
			t.Fatalf("KVSList(%q) = %v", p, err)
		}
		e.ListIdx[p] = idx
	}
	idx, _, err := st.KVSGet(nil, "missing")
	if err != nil {
		t.Fatalf("KVSGet() = %v", err)
	}
	e.MissingIdx = idx
	return e
}

// populated returns an FSM with entries, flags, an empty value, a live
// tombstone and a reaped one.
func populated(t *testing.T) *FSM {
	t.Helper()
	f := New(nil)
	msgs := []struct {
		mt  structs.MessageType
		msg any
	}{
		{structs.KVSRequestType, kvsReq(structs.KVSet, "a/1", "one", 0)},
		{structs.KVSRequestType, &structs.KVSRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: "a/2", Value: []byte{0, 1, 2, 0xff}, Flags: 1 << 63}}},
		{structs.KVSRequestType, kvsReq(structs.KVSet, "empty", "", 0)},
		{structs.KVSRequestType, kvsReq(structs.KVSet, "reaped/x", "x", 0)},
		{structs.KVSRequestType, kvsReq(structs.KVDelete, "reaped/x", "", 0)},
		{structs.TombstoneRequestType, &structs.TombstoneRequest{ReapIndex: 5}},
		{structs.KVSRequestType, kvsReq(structs.KVSet, "del/x", "x", 0)},
		{structs.KVSRequestType, kvsReq(structs.KVSet, "a/1", "uno", 0)},
		{structs.KVSRequestType, kvsReq(structs.KVDelete, "del/x", "", 0)},
	}
	for i, m := range msgs {
		if got := f.Apply(command(t, uint64(i+1), m.mt, m.msg)); got != true && got != nil {
			t.Fatalf("Apply(entry %d) = %#v", i+1, got)
		}
	}
	return f
}

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	t.Parallel()
	src := populated(t)
	want := readEverything(t, src.State())
	// Guard the fixture itself, so a round trip of nothing cannot pass.
	if len(want.KVs) != 3 || len(want.Tombs) != 1 || want.Latest != 9 || want.ListIdx["del/"] != 9 || want.ListIdx["a/"] != 8 {
		t.Fatalf("fixture = %+v, want 3 entries, 1 tombstone, latest 9", want)
	}

	sink := persist(t, src)
	dst := New(nil)
	if err := dst.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatalf("Restore() = %v", err)
	}
	got := readEverything(t, dst.State())
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after Restore():\n got  %+v\n want %+v", got, want)
	}
	if e := getKV(t, dst.State(), "empty"); e == nil || e.Value != nil {
		t.Errorf("restored KVSGet(%q) = %+v, want an entry with nil Value", "empty", e)
	}

	// The restored FSM goes on applying where the source left off.
	if got := dst.Apply(command(t, 10, structs.KVSRequestType, kvsReq(structs.KVCAS, "a/1", "tres", 8))); got != true {
		t.Errorf("Apply(cas on restored entry) = %#v, want true", got)
	}
}

func TestSnapshotIsPointInTime(t *testing.T) {
	t.Parallel()
	f := populated(t)
	want := readEverything(t, f.State())
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot() = %v", err)
	}
	defer snap.Release()
	// Raft persists on another goroutine while new entries apply.
	f.Apply(command(t, 10, structs.KVSRequestType, kvsReq(structs.KVSet, "later", "x", 0)))
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatalf("Persist() = %v", err)
	}
	dst := New(nil)
	if err := dst.Restore(io.NopCloser(&sink.Buffer)); err != nil {
		t.Fatalf("Restore() = %v", err)
	}
	if got := readEverything(t, dst.State()); !reflect.DeepEqual(got, want) {
		t.Errorf("restored = %+v, want the state when Snapshot() was called: %+v", got, want)
	}
}

func TestPersistCancelsOnWriteError(t *testing.T) {
	t.Parallel()
	f := populated(t)
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot() = %v", err)
	}
	defer snap.Release()
	sink := &memSink{failWrites: true}
	if err := snap.Persist(sink); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Persist() = %v, want the sink's error", err)
	}
	if !sink.cancelled || sink.closed {
		t.Errorf("sink cancelled=%v closed=%v, want true, false", sink.cancelled, sink.closed)
	}
}

func TestRestoreAbandonsOldStore(t *testing.T) {
	t.Parallel()
	sink := persist(t, populated(t))
	f := New(nil)
	f.Apply(command(t, 1, structs.KVSRequestType, kvsReq(structs.KVSet, "old", "x", 0)))
	old := f.State()
	if err := f.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatalf("Restore() = %v", err)
	}
	select {
	case <-old.AbandonCh():
	default:
		t.Errorf("old store's AbandonCh is open after Restore(), want closed")
	}
	if f.State() == old {
		t.Errorf("State() after Restore() is the old store")
	}
	select {
	case <-f.State().AbandonCh():
		t.Errorf("new store's AbandonCh is closed, want open")
	default:
	}
	if e := getKV(t, f.State(), "old"); e != nil {
		t.Errorf("KVSGet(%q) after Restore() = %+v, want nil: restore replaces, never merges", "old", e)
	}
}

// TestRestoreRejectsBadInput: input that is not a snapshot (its header
// does not decode) is refused with the FSM left as it was; a snapshot cut
// short or corrupt past its header fails after the old store is dropped
// (Restore drops it first, to keep memory at one store), and the FSM is
// left with an empty store and no applied index.
func TestRestoreRejectsBadInput(t *testing.T) {
	t.Parallel()
	good := persist(t, populated(t)).Bytes()
	cases := map[string]struct {
		data    []byte
		touched bool // the old store is dropped
	}{
		"empty":               {[]byte{}, false},
		"garbage":             {[]byte("this is not a snapshot at all"), false},
		"truncated header":    {good[:1], false},
		"truncated record":    {good[:len(good)/2], true},
		"unknown record type": {append(append([]byte{}, good...), 0x7f, 0x80), true},
		"record type only":    {append(append([]byte{}, good...), 0x01), true},
		"bad record body":     {append(append([]byte{}, good...), 0x01, 0xc1), true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := New(nil)
			f.Apply(command(t, 1, structs.KVSRequestType, kvsReq(structs.KVSet, "keep", "me", 0)))
			old := f.State()
			err := f.Restore(io.NopCloser(bytes.NewReader(tc.data)))
			if err == nil {
				t.Fatalf("Restore(%s) = nil, want an error", name)
			}
			abandoned := false
			select {
			case <-old.AbandonCh():
				abandoned = true
			default:
			}
			kept := getKV(t, f.State(), "keep")
			if !tc.touched {
				if f.State() != old || abandoned || kept == nil || string(kept.Value) != "me" {
					t.Errorf("Restore(%s) changed the FSM (abandoned %v, keep = %+v), want it as it was", name, abandoned, kept)
				}
				return
			}
			if f.State() == old || !abandoned || kept != nil {
				t.Errorf("Restore(%s): abandoned %v, keep = %+v, want the old store dropped for an empty one", name, abandoned, kept)
			}
			if got := f.AppliedIndex(); got != 0 {
				t.Errorf("Restore(%s): AppliedIndex() = %d, want 0", name, got)
			}
		})
	}
}

func TestRestoreClosesReader(t *testing.T) {
	t.Parallel()
	for name, data := range map[string][]byte{
		"valid":   persist(t, populated(t)).Bytes(),
		"garbage": []byte("junk"),
	} {
		rc := &closeRecorder{Reader: bytes.NewReader(data)}
		_ = New(nil).Restore(rc)
		if !rc.closed {
			t.Errorf("Restore(%s) did not close its reader", name)
		}
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

// gatedReader hands out r a byte at a time (so no buffer reads ahead)
// and, after the first after bytes, tells started and waits for gate: a
// restore paused mid-archive, past its header.
type gatedReader struct {
	r       io.Reader
	after   int
	started chan struct{}
	gate    chan struct{}
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.after == 0 {
		close(g.started)
		<-g.gate
		g.after = -1
	}
	if g.after > 0 {
		g.after--
		return g.r.Read(p[:1])
	}
	return g.r.Read(p)
}

// TestRestoreDropsOldStoreAndHoldsReads: while a restore builds the new
// store the old one is abandoned (its watchers wake) and State waits,
// rather than handing out the old store and keeping both in memory; once
// the restore ends State returns the restored store.
func TestRestoreDropsOldStoreAndHoldsReads(t *testing.T) {
	t.Parallel()
	src := populated(t)
	archive := persist(t, src).Bytes()

	dst := New(nil)
	dst.Apply(command(t, 1, structs.KVSRequestType, kvsReq(structs.KVSet, "old", "x", 0)))
	old := dst.State()
	g := &gatedReader{r: bytes.NewReader(archive), after: len(archive) / 2, started: make(chan struct{}), gate: make(chan struct{})}
	restored := make(chan error, 1)
	go func() { restored <- dst.Restore(io.NopCloser(g)) }()
	<-g.started

	select {
	case <-old.AbandonCh():
	default:
		t.Fatal("the old store is not abandoned while the restore runs")
	}
	read := make(chan *state.Store, 1)
	go func() { read <- dst.State() }()
	select {
	case st := <-read:
		t.Fatalf("State() during a restore returned %p (old store %p), want it to wait", st, old)
	default:
	}
	close(g.gate)
	if err := <-restored; err != nil {
		t.Fatalf("Restore() = %v", err)
	}
	st := <-read
	if st == old || getKV(t, st, "old") != nil || getKV(t, st, "a/1") == nil {
		t.Errorf("State() after the restore is not the restored store")
	}
	if got := dst.AppliedIndex(); got != 9 {
		t.Errorf("AppliedIndex() after restore = %d, want 9", got)
	}
}

// TestRestoreAppliedIsSnapshotIndex: after a restore the FSM reports the
// raft index of the snapshot it read as applied, past the snapshot's own
// highest table index: a user restore is installed past the end of the
// log, and read indexes handed out after it must cover it.
func TestRestoreAppliedIsSnapshotIndex(t *testing.T) {
	t.Parallel()
	archive := persist(t, populated(t)).Bytes() // highest table index 9
	f := New(nil)
	f.SetSnapshotIndex(func() uint64 { return 4242 })
	if err := f.Restore(io.NopCloser(bytes.NewReader(archive))); err != nil {
		t.Fatalf("Restore() = %v", err)
	}
	if got := f.AppliedIndex(); got != 4242 {
		t.Errorf("AppliedIndex() = %d, want the snapshot's raft index 4242", got)
	}
	// A store whose newest snapshot is older than the state's own index
	// (none yet) never lowers it.
	g := New(nil)
	g.SetSnapshotIndex(func() uint64 { return 0 })
	if err := g.Restore(io.NopCloser(bytes.NewReader(archive))); err != nil {
		t.Fatalf("Restore() = %v", err)
	}
	if got := g.AppliedIndex(); got != 9 {
		t.Errorf("AppliedIndex() = %d, want the snapshot's highest table index 9", got)
	}
}
