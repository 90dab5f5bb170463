package server

import (
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"conclave/agent/structs"
)

// Followers answer default-consistency reads from their own state instead
// of forwarding each one to the leader, the way etcd serves linearizable
// reads: the follower asks the leader for its applied index (one RPC shared
// by every read that arrives while the previous one is in flight), waits
// until it has applied that far itself, and reads. Every write the leader
// acknowledged before the read arrived is at or below that index, so the
// read sees it, provided the leader was still the leader when it read the
// index: a deposed leader (paused, partitioned) must not hand out an old
// one. Follower reads are thus linearizable, which is more than Consul's
// default mode promises. Blocking reads and ?consistent reads still go to
// the leader.
//
// How the leader's leadership is confirmed:
//
//   - In general, with raft.VerifyLeader: a heartbeat round answered by a
//     quorum, once per batch.
//   - When the leader and the asking follower together hold a majority of
//     every configuration that could elect a leader (at most 3 voters in
//     the leader's latest configuration, the follower one of them: the 3-
//     server cluster Consul recommends), the follower's own term does it
//     with no heartbeat round. The leader answers with its term T, read on
//     both sides of its leadership check; the follower accepts the index
//     only if its own term is still T once the answer is in. A leader of a
//     later term needs the vote of one of the two: not the leader's, which
//     was leader in T when it read the index, and not the follower's,
//     whose term never went past T. So no other leader can have
//     acknowledged a write before the index was read. Raft changes a
//     configuration one server at a time, so an adjacent configuration has
//     at most 4 voters, and any 3 of them include the leader or the
//     follower; a configuration of 2 needs both.

// followerReadWait bounds how long a follower waits to catch up to a read
// index before it gives up and forwards the read instead.
const followerReadWait = 500 * time.Millisecond

// readIndexBatcher shares read-index RPCs among concurrent reads. A read
// joins the batch that is still to be sent; a batch goes out as soon as
// fewer than maxReadIndexInflight RPCs are in flight. With one in flight,
// a read arriving just after a send waits for that RPC and then its own;
// a few overlapping ones cap that wait, and each stays cheap. (The
// 3-server benchmark showed no throughput difference between 1 and 4:
// the limit is CPU, not this wait.)
type readIndexBatcher struct {
	mu       sync.Mutex
	next     *readIndexBatch // joined by reads arriving now; sent next
	inflight int
}

const maxReadIndexInflight = 4

type readIndexBatch struct {
	done  chan struct{}
	index uint64
	err   error
}

// pairIsQuorum tells the leader whether it and the follower id are a
// majority of its latest configuration's voters, and so (see above) of
// any configuration that could elect another leader.
func (s *Server) pairIsQuorum(id string) bool {
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	return pairIsQuorumOf(f.Configuration(), id)
}

// pairIsQuorumOf is pairIsQuorum for configuration c: the follower id is
// one of its voters, and there are at most 3 of them (the leader being
// another, or the only other).
func pairIsQuorumOf(c raft.Configuration, id string) bool {
	voters, member := 0, false
	for _, srv := range c.Servers {
		if srv.Suffrage != raft.Voter {
			continue
		}
		voters++
		member = member || string(srv.ID) == id
	}
	return member && voters <= 3
}

// readIndexAnswer is the leader's answer to a read-index request, from
// what Status.ReadIndex read, in this order: its term, whether it was
// still leader, its applied index idx, and its term again. pair (whether
// it and the asking follower are a quorum of any electing configuration)
// and verify (a heartbeat round answered by a quorum) are asked only when
// the answer depends on them.
func readIndexAnswer(termBefore uint64, leader bool, idx, termAfter uint64, pair func() bool, verify func() error) (structs.ReadIndexResponse, error) {
	if !leader || termAfter != termBefore {
		return structs.ReadIndexResponse{}, structs.ErrNoLeader
	}
	if pair() {
		// The follower's term vouches for this leader (see above).
		return structs.ReadIndexResponse{Index: idx, Term: termBefore}, nil
	}
	// Otherwise confirm leadership with a quorum: a leader that was
	// deposed while paused must not hand out an old index. One
	// confirmation serves a whole batch of follower reads.
	if err := verify(); err != nil {
		return structs.ReadIndexResponse{}, structs.ErrNoLeader
	}
	return structs.ReadIndexResponse{Index: idx}, nil
}

// followerRead prepares args to be served locally and reports whether it
// may be. It declines (the caller forwards) on the leader, for blocking or
// consistent reads, and whenever anything goes wrong.
func (s *Server) followerRead(args any) bool {
	r, ok := args.(interface{ Options() *structs.QueryOptions })
	if !ok {
		return false
	}
	q := r.Options()
	if !mayReadLocally(q, s.IsLeader, s.Leader) {
		return false
	}
	idx, err := s.readIndex()
	if err != nil {
		return false
	}
	if !waitApplied(s.fsm.AppliedIndex, idx, time.Now().Add(followerReadWait)) {
		return false
	}
	q.MarkReadIndexed()
	return true
}

// mayReadLocally tells whether a read with options q may be served by
// this server after a read-index check: a default read (blocking and
// consistent ones go to the leader), on a follower that knows a leader.
func mayReadLocally(q *structs.QueryOptions, isLeader func() bool, leader func() string) bool {
	return q.MinQueryIndex == 0 && !q.RequireConsistent && !isLeader() && leader() != ""
}

// waitApplied waits until applied() reaches idx, and reports whether it
// did before deadline; a follower that lags further forwards the read.
func waitApplied(applied func() uint64, idx uint64, deadline time.Time) bool {
	for wait := 200 * time.Microsecond; applied() < idx; wait *= 2 {
		if time.Now().After(deadline) {
			return false
		}
		if wait > 5*time.Millisecond {
			wait = 5 * time.Millisecond
		}
		time.Sleep(wait)
	}
	return true
}

// readIndex returns the leader's applied index as of some moment after the
// call began.
func (s *Server) readIndex() (uint64, error) {
	b := &s.readIndexes
	b.mu.Lock()
	if b.next == nil {
		b.next = &readIndexBatch{done: make(chan struct{})}
	}
	batch := b.next
	if b.inflight < maxReadIndexInflight {
		b.inflight++
		go s.sendReadIndexes()
	}
	b.mu.Unlock()
	select {
	case <-batch.done:
		return batch.index, batch.err
	case <-s.shutdownCh:
		return 0, structs.ErrNoLeader
	}
}

// sendReadIndexes sends one RPC per batch until no read is waiting. A
// batch is taken out of next before its RPC is sent, so every read in it
// arrived before the leader answered.
func (s *Server) sendReadIndexes() {
	b := &s.readIndexes
	for {
		b.mu.Lock()
		batch := b.next
		b.next = nil
		if batch == nil {
			b.inflight--
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		batch.index, batch.err = s.askReadIndex()
		close(batch.done)
	}
}

// askReadIndex makes one read-index RPC to the leader and checks the
// answer.
func (s *Server) askReadIndex() (uint64, error) {
	leader := s.Leader()
	if leader == "" {
		return 0, structs.ErrNoLeader
	}
	var out structs.ReadIndexResponse
	args := &structs.ReadIndexRequest{ServerID: s.config.NodeID}
	if err := s.pool.RPCTimeout(s.shutdownCtx, leader, "Status.ReadIndex", args, &out, followerReadWait); err != nil {
		return 0, err
	}
	return acceptReadIndex(out, s.raft.CurrentTerm)
}

// acceptReadIndex checks the leader's answer on the follower, whose term
// is currentTerm() once the answer is in.
func acceptReadIndex(out structs.ReadIndexResponse, currentTerm func() uint64) (uint64, error) {
	if out.Term != 0 && currentTerm() != out.Term {
		// The cluster moved to another term: the index may be old.
		return 0, structs.ErrNoLeader
	}
	return out.Index, nil
}
