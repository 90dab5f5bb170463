package server

import (
	"sync"
	"time"

	"conclave/agent/structs"
)

// Followers answer default-consistency reads from their own state instead
// of forwarding each one to the leader, the way etcd serves linearizable
// reads: the follower asks the leader for its applied index (one RPC shared
// by every read that arrives while the previous one is in flight), waits
// until it has applied that far itself, and reads. Every write the leader
// acknowledged before the read arrived is at or below that index, so the
// read sees it. The leader confirms its leadership with a quorum before it
// answers (once per batch), so a deposed leader cannot hand out an old
// index: follower reads are linearizable, which is more than Consul's
// default mode promises.
// Blocking reads and ?consistent reads still go to the leader.

// followerReadWait bounds how long a follower waits to catch up to a read
// index before it gives up and forwards the read instead.
const followerReadWait = 500 * time.Millisecond

// readIndexBatcher shares one read-index RPC among concurrent reads.
type readIndexBatcher struct {
	mu       sync.Mutex
	next     *readIndexBatch // joined by reads arriving now; sent next
	inflight bool
}

type readIndexBatch struct {
	done  chan struct{}
	index uint64
	err   error
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
	if q.MinQueryIndex > 0 || q.RequireConsistent || s.IsLeader() || s.Leader() == "" {
		return false
	}
	idx, err := s.readIndex()
	if err != nil {
		return false
	}
	deadline := time.Now().Add(followerReadWait)
	for wait := 200 * time.Microsecond; s.fsm.AppliedIndex() < idx; wait *= 2 {
		if time.Now().After(deadline) {
			return false
		}
		if wait > 5*time.Millisecond {
			wait = 5 * time.Millisecond
		}
		time.Sleep(wait)
	}
	q.MarkReadIndexed()
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
	if !b.inflight {
		b.inflight = true
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
			b.inflight = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		if leader := s.Leader(); leader == "" {
			batch.err = structs.ErrNoLeader
		} else {
			batch.err = s.pool.RPCTimeout(leader, "Status.ReadIndex", &structs.DCSpecificRequest{}, &batch.index, followerReadWait)
		}
		close(batch.done)
	}
}
