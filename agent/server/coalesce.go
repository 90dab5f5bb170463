package server

import (
	"sync"

	"conclave/agent/structs"
)

// kvCoalescer commits plain KV writes (KVSet) that arrive together on the
// leader as one raft entry (structs.KVSBatchRequestType). raft already
// writes a burst of entries with one fsync, but it pays for every entry
// on its way: a future, the WAL encoding, the commit bookkeeping, a hand-
// off to the FSM and an answer. Under 256 concurrent writers that was
// about a fifth of a server's CPU per PUT (bench/README.md, "Fourth
// round").
//
// A writer that finds fewer than coalesceInflight batches under way leads
// at once. Otherwise it waits; when a leader is done, it hands the lead to
// the writer that has waited longest, which takes every write waiting by
// then (its own first) and applies them as one entry, answering each. A
// lone writer leads a batch of one, written as the ordinary KVSRequestType
// entry: with no concurrency nothing changes.
//
// The writes of one entry commit at one raft index, in the order they
// arrived, and each gets its own answer. As with the operations of a
// transaction, they share that index as their ModifyIndex.
type kvCoalescer struct {
	// commit applies writes as one raft entry and returns the answer of
	// each (Server.applyKVSets).
	commit func(reqs []*structs.KVSRequest) ([]any, error)

	mu      sync.Mutex
	waiting []*kvWrite
	leaders int
}

// coalesceInflight is how many batches may be under way at once: while
// one is in raft, the next one gathers, and raft writes them together
// when they meet in its queue.
const coalesceInflight = 2

type kvWrite struct {
	req *structs.KVSRequest
	// ch carries the write's answer, or the lead (answer.lead).
	ch chan kvAnswer
}

type kvAnswer struct {
	lead bool
	resp any
	err  error
}

// apply commits req (a KVSet) and returns the FSM's answer, as raftApply.
func (c *kvCoalescer) apply(req *structs.KVSRequest) (any, error) {
	w := &kvWrite{req: req, ch: make(chan kvAnswer, 1)}
	c.mu.Lock()
	if c.leaders < coalesceInflight {
		c.leaders++
		batch := append(c.waiting, w)
		c.waiting = nil
		c.mu.Unlock()
		return c.lead(batch, w)
	}
	c.waiting = append(c.waiting, w)
	c.mu.Unlock()
	a := <-w.ch
	if !a.lead {
		return a.resp, a.err
	}
	// Handed the lead (and taken off the waiting list by the leader
	// before): w is the oldest write, then whatever queued behind it.
	c.mu.Lock()
	batch := append([]*kvWrite{w}, c.waiting...)
	c.waiting = nil
	c.mu.Unlock()
	return c.lead(batch, w)
}

// lead commits batch, whose writer self leads it, answers every write in
// it but self's, then hands the lead on and returns self's answer.
func (c *kvCoalescer) lead(batch []*kvWrite, self *kvWrite) (any, error) {
	reqs := make([]*structs.KVSRequest, len(batch))
	for i, w := range batch {
		reqs[i] = w.req
	}
	resps, err := c.commit(reqs)
	if err == nil && len(resps) != len(batch) {
		err = structs.Errorf(structs.KindInternal, "kv batch of %d writes answered %d", len(batch), len(resps))
	}
	var mine kvAnswer
	for i, w := range batch {
		a := kvAnswer{err: err}
		if err == nil {
			a.resp = resps[i]
			if e, ok := a.resp.(error); ok {
				a.resp, a.err = nil, e
			}
		}
		if w == self {
			mine = a
		} else {
			w.ch <- a
		}
	}

	c.mu.Lock()
	if len(c.waiting) > 0 {
		// Off the list before it hears, so that no other leader takes
		// its write or hands it the lead again: its channel is empty.
		next := c.waiting[0]
		c.waiting = c.waiting[1:]
		next.ch <- kvAnswer{lead: true}
	} else {
		c.leaders--
	}
	c.mu.Unlock()
	return mine.resp, mine.err
}

// applyKVSets is the coalescer's commit: one write is the ordinary
// KVSRequestType entry, several one KVSBatchRequestType entry.
func (s *Server) applyKVSets(reqs []*structs.KVSRequest) ([]any, error) {
	if len(reqs) == 1 {
		resp, err := s.raftApply(structs.KVSRequestType, reqs[0])
		return []any{resp}, err
	}
	resp, err := s.raftApplyBytes(structs.EncodeKVSBatch(reqs))
	resps, _ := resp.([]any)
	return resps, err
}
