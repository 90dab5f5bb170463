package fsm

import (
	"bufio"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/raft"

	"conclave/agent/state"
	"conclave/agent/structs"
	"conclave/internal/snapfile"
)

// FSM applies raft entries to the state store. It implements
// raft.BatchingFSM so one leader batch is applied in one call.
type FSM struct {
	logger hclog.Logger

	// mu guards state, which Restore swaps for a new store.
	mu    sync.RWMutex
	state *state.Store

	// applied is the index of the last command whose effect is in the
	// state store. raft's own AppliedIndex counts entries handed to the
	// FSM goroutine, possibly before they are applied, so reads that must
	// see an index (follower reads) wait on this one instead.
	applied atomic.Uint64

	// lockRelease is handed to every store this FSM opens, restored ones
	// included (state.Store.OnLockRelease).
	lockRelease func(state.LockRelease)

	// snapshotIndex is the raft index of the newest snapshot in raft's
	// store (SetSnapshotIndex); nil until set.
	snapshotIndex func() uint64
}

// SetSnapshotIndex gives the FSM the raft index of the newest snapshot in
// raft's store, which is the one a restore reads: raft writes a user
// restore's or a leader's snapshot to its store before the FSM reads it,
// and at start-up restores the newest. Call it before raft starts.
func (f *FSM) SetSnapshotIndex(fn func() uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snapshotIndex = fn
}

// OnLockRelease sets the function the state store tells of the keys
// invalidated sessions release, now and after every restore. Call it
// before raft starts applying.
func (f *FSM) OnLockRelease(fn func(state.LockRelease)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lockRelease = fn
	f.state.OnLockRelease(fn)
}

// AppliedIndex is the index of the last command the state store reflects.
func (f *FSM) AppliedIndex() uint64 { return f.applied.Load() }

// New returns an FSM over an empty store.
func New(logger hclog.Logger) *FSM {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &FSM{logger: logger.Named("fsm"), state: state.New()}
}

// State returns the current store. Callers must fetch it for every read: a
// restore replaces it (and abandons the old one, waking its watchers).
// While a restore builds the new store, State waits for it (see Restore).
func (f *FSM) State() *state.Store {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.state
}

// Apply applies one committed entry.
func (f *FSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand || len(l.Data) == 0 {
		return nil
	}
	out := f.apply(f.State(), l.Index, l.Data)
	f.applied.Store(l.Index)
	return out
}

// ApplyBatch applies a leader batch in order. Runs of KV writes share one
// state-store transaction: under load most of a batch is KV writes, and
// one commit per batch instead of per write is most of the FSM's cost.
// A KVSBatchRequestType entry is several writes at its one index; its
// answer is the []any of theirs, in order.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	st := f.State()
	out := make([]any, len(logs))
	var (
		run []state.KVSWrite
		// where each write of run answers: out[pos], or, for a write of
		// a batch entry, element sub of the []any at out[pos]
		pos, sub []int
	)
	flush := func() {
		if len(run) == 0 {
			return
		}
		for i, r := range st.KVSApplyBatch(run) {
			if sub[i] < 0 {
				out[pos[i]] = r
			} else {
				out[pos[i]].([]any)[sub[i]] = r
			}
		}
		run, pos, sub = run[:0], pos[:0], sub[:0]
	}
	for i, l := range logs {
		if l.Type != raft.LogCommand || len(l.Data) == 0 {
			continue
		}
		switch structs.MessageType(l.Data[0]) {
		case structs.KVSRequestType:
			req := new(structs.KVSRequest)
			mustDecode(structs.KVSRequestType, l.Index, l.Data[1:], req)
			run = append(run, state.KVSWrite{Index: l.Index, Req: req})
			pos, sub = append(pos, i), append(sub, -1)
			continue
		case structs.KVSBatchRequestType:
			reqs := mustDecodeKVSBatch(l.Index, l.Data[1:])
			out[i] = make([]any, len(reqs))
			for j, req := range reqs {
				run = append(run, state.KVSWrite{Index: l.Index, Req: req})
				pos, sub = append(pos, i), append(sub, j)
			}
			continue
		}
		flush()
		out[i] = f.apply(st, l.Index, l.Data)
	}
	flush()
	// Only now is the whole batch in the store; raft answers the writers
	// after this returns, so an acknowledged write is always at or below
	// AppliedIndex.
	for i := len(logs) - 1; i >= 0; i-- {
		if logs[i].Type == raft.LogCommand {
			f.applied.Store(logs[i].Index)
			break
		}
	}
	return out
}

// apply dispatches on the type byte. A decode failure means a corrupt or
// foreign log: continuing would diverge from the other servers, so it panics
// as raft's contract expects.
func (f *FSM) apply(st *state.Store, idx uint64, buf []byte) any {
	t, body := structs.MessageType(buf[0]), buf[1:]
	switch t {
	case structs.KVSRequestType:
		var req structs.KVSRequest
		mustDecode(t, idx, body, &req)
		return st.KVSApplyBatch([]state.KVSWrite{{Index: idx, Req: &req}})[0]
	case structs.KVSBatchRequestType:
		reqs := mustDecodeKVSBatch(idx, body)
		writes := make([]state.KVSWrite, len(reqs))
		for i, req := range reqs {
			writes[i] = state.KVSWrite{Index: idx, Req: req}
		}
		return st.KVSApplyBatch(writes)
	case structs.TxnRequestType:
		var req structs.TxnRequest
		mustDecode(t, idx, body, &req)
		results, errs := st.TxnRW(idx, req.Ops)
		return structs.TxnResponse{Results: results, Errors: errs}
	case structs.TombstoneRequestType:
		var req structs.TombstoneRequest
		mustDecode(t, idx, body, &req)
		return st.ReapTombstones(req.ReapIndex)
	case structs.RegisterRequestType, structs.DeregisterRequestType:
		return applyCatalog(st, t, idx, body)
	case structs.SessionCreateType, structs.SessionDestroyType:
		return applySession(st, t, idx, body)
	case structs.CoordinateBatchUpdateType:
		return applyCoordinates(st, idx, body)
	case structs.PreparedQueryRequestType:
		return applyPreparedQuery(st, idx, body)
	case structs.ACLRequestType:
		var req structs.ACLRequest
		mustDecode(t, idx, body, &req)
		return st.ACLApply(idx, &req)
	case structs.AutopilotRequestType:
		var req structs.AutopilotSetConfigRequest
		mustDecode(t, idx, body, &req)
		ok, err := st.AutopilotSetConfig(idx, &req.Config, req.CAS)
		if err != nil {
			return err
		}
		return ok
	default:
		panic(fmt.Sprintf("fsm: unknown message type %d at index %d", t, idx))
	}
}

func mustDecode(t structs.MessageType, idx uint64, body []byte, out any) {
	if err := structs.Decode(body, out); err != nil {
		panic(fmt.Sprintf("fsm: decode type %d at index %d: %v", t, idx, err))
	}
}

// mustDecodeKVSBatch is mustDecode for a KVSBatchRequestType entry.
func mustDecodeKVSBatch(idx uint64, body []byte) []*structs.KVSRequest {
	reqs, err := structs.DecodeKVSBatch(body)
	if err != nil {
		panic(fmt.Sprintf("fsm: decode type %d at index %d: %v", structs.KVSBatchRequestType, idx, err))
	}
	return reqs
}

// Snapshot records types. The stream is a header, then (type, record) pairs
// until EOF; unknown types stop a restore with an error rather than silently
// dropping data. The numbers live in internal/snapfile, where `snapshot
// inspect` names them without importing the agent.
type recordType = snapfile.Record

const (
	recordKV        = snapfile.RecordKV
	recordTombstone = snapfile.RecordTombstone
	recordIndex     = snapfile.RecordIndex
	recordAutopilot = snapfile.RecordAutopilot
)

type snapshotHeader struct {
	LastIndex uint64
}

type indexRecord struct {
	Table string
	Index uint64
}

// Snapshot captures the store; raft calls Persist on another goroutine while
// writes continue.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &snapshot{sn: f.State().Snapshot()}, nil
}

type snapshot struct {
	sn *state.Snapshot
}

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.write(sink); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *snapshot) write(w io.Writer) error {
	enc := codec.NewEncoder(w, structs.MsgpackHandle)
	if err := enc.Encode(snapshotHeader{LastIndex: s.sn.LatestIndex()}); err != nil {
		return fmt.Errorf("snapshot header: %w", err)
	}
	put := func(t recordType, v any) error {
		if _, err := w.Write([]byte{byte(t)}); err != nil {
			return err
		}
		return enc.Encode(v)
	}
	if err := s.sn.KVs(func(e *structs.DirEntry) error { return put(recordKV, e) }); err != nil {
		return fmt.Errorf("snapshot kvs: %w", err)
	}
	if err := s.sn.Tombstones(func(t state.Tombstone) error { return put(recordTombstone, t) }); err != nil {
		return fmt.Errorf("snapshot tombstones: %w", err)
	}
	if err := writeCatalog(s.sn, put); err != nil {
		return err
	}
	if err := writeACLs(s.sn, put); err != nil {
		return err
	}
	// Sessions after checks: restoring one links it to its checks.
	if err := writeSessions(s.sn, put); err != nil {
		return err
	}
	if err := writeCoordinatesAndQueries(s.sn, put); err != nil {
		return err
	}
	if c, err := s.sn.AutopilotConfig(); err != nil {
		return fmt.Errorf("snapshot autopilot config: %w", err)
	} else if c != nil {
		if err := put(recordAutopilot, c); err != nil {
			return fmt.Errorf("snapshot autopilot config: %w", err)
		}
	}
	if err := s.sn.Indexes(func(table string, idx uint64) error {
		return put(recordIndex, indexRecord{Table: table, Index: idx})
	}); err != nil {
		return fmt.Errorf("snapshot indexes: %w", err)
	}
	return nil
}

func (s *snapshot) Release() { s.sn.Close() }

// Restore replaces the store with the snapshot's contents.
//
// The old store is dropped before the new one is built, and reads wait
// (State holds them on mu) until the new one is in place: keeping the old
// one readable meanwhile, as Consul does, puts both stores in memory at
// once, twice the live heap at the peak of every restore and on every
// follower receiving one. A restore is a disaster-recovery step, and
// reads paused for its few seconds cost less than a server killed for
// memory. Blocking queries wake on the old store's AbandonCh at once and
// re-run on the new one.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	// One buffered reader serves both the type bytes and the decoder, so
	// neither reads ahead of the other.
	br := bufio.NewReader(rc)
	dec := codec.NewDecoder(br, structs.MsgpackHandle)
	var hdr snapshotHeader
	if err := dec.Decode(&hdr); err != nil {
		// Not a snapshot at all: nothing is touched.
		return fmt.Errorf("snapshot header: %w", err)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.state.Abandon()
	// From here nothing on this server points at the old store but reads
	// already running on it, and the GC may take it as the new one grows.
	f.state = nil
	st, err := restoreRecords(br, dec)
	last := hdr.LastIndex
	switch {
	case err != nil:
		// Cut short or corrupt past its header (the leader checked the
		// archive before raft took it, so this is a disk failing). raft
		// keeps its snapshot and tries again: a follower is sent it anew,
		// a restarting server loads it. Meanwhile this server serves an
		// empty store and claims no applied index, so reads that must be
		// current are not answered from it.
		f.logger.Error("snapshot restore failed; serving an empty store until raft restores again", "error", err)
		st, last = state.New(), 0
	case f.snapshotIndex != nil:
		// The store now stands for raft's log up to the snapshot's raft
		// index, which for a user restore lies past everything applied
		// before: the restore is a write, and a read index handed out
		// after it must make followers wait for it. The snapshot's own
		// header holds only its highest table index, from when it was
		// saved, below that. (If the newest snapshot in the store could
		// not be opened at start-up, raft restores an older one and this
		// figure is too high until the log replay after it begins.)
		last = max(last, f.snapshotIndex())
	}
	st.OnLockRelease(f.lockRelease)
	f.state = st
	// Without the raft index, the snapshot holds every command up to at
	// least its highest table index; a lower figure than the truth only
	// makes a follower read wait for the next write or fall back to the
	// leader, never read stale.
	f.applied.Store(last)
	return err
}

// restoreRecords decodes a snapshot's records, after its header, into a
// new store.
func restoreRecords(br *bufio.Reader, dec *codec.Decoder) (*state.Store, error) {
	st := state.New()
	r := st.Restore()
	defer r.Abort()
	var typ [1]byte
	for {
		if _, err := io.ReadFull(br, typ[:]); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("snapshot record: %w", err)
		}
		switch recordType(typ[0]) {
		case recordKV:
			var e structs.DirEntry
			if err := dec.Decode(&e); err != nil {
				return nil, fmt.Errorf("snapshot kv: %w", err)
			}
			if err := r.KV(&e); err != nil {
				return nil, err
			}
		case recordTombstone:
			var t state.Tombstone
			if err := dec.Decode(&t); err != nil {
				return nil, fmt.Errorf("snapshot tombstone: %w", err)
			}
			if err := r.Tombstone(t); err != nil {
				return nil, err
			}
		case recordIndex:
			var ir indexRecord
			if err := dec.Decode(&ir); err != nil {
				return nil, fmt.Errorf("snapshot index: %w", err)
			}
			if err := r.Index(ir.Table, ir.Index); err != nil {
				return nil, err
			}
		case recordAutopilot:
			var c structs.AutopilotConfig
			if err := dec.Decode(&c); err != nil {
				return nil, fmt.Errorf("snapshot autopilot config: %w", err)
			}
			if err := r.AutopilotConfig(&c); err != nil {
				return nil, err
			}
		case recordSession:
			ses := new(structs.Session)
			if err := dec.Decode(ses); err != nil {
				return nil, fmt.Errorf("snapshot session: %w", err)
			}
			if err := r.Session(ses); err != nil {
				return nil, err
			}
		case recordCoordinate, recordPreparedQuery:
			if err := restoreCoordinateOrQuery(recordType(typ[0]), dec, r); err != nil {
				return nil, err
			}
		case recordACLToken, recordACLPolicy, recordACLRole:
			if err := restoreACL(recordType(typ[0]), dec, r); err != nil {
				return nil, err
			}
		case recordNode, recordService, recordCheck:
			if err := restoreCatalog(recordType(typ[0]), dec, r); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("snapshot: unknown record type %d", typ[0])
		}
	}
	r.Commit()
	return st, nil
}
