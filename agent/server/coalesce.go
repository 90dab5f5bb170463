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
// about a fifth of a server's CPU per PUT; one entry per burst cut server
// CPU per PUT from about 54 µs to 43 µs (bench/README.md, "Fourth
// round").
//
// A writer that finds fewer than coalesceInflight entries under way leads:
// it takes every write waiting (its own among them), applies them as one
// entry and answers each. The others wait; the lead passes to the first
// of them still waiting when a leader is done, so no write waits for a
// writer that has gone. A lone writer leads a batch of one, written as
// the ordinary KVSRequestType entry: with no concurrency nothing changes.
//
// The writes of one entry commit at one raft index, in the order they
// arrived, and each gets its own answer. As with the operations of a
// transaction, they share that index as their ModifyIndex.
type kvCoalescer struct {
	s *Server

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
	c.waiting = append(c.waiting, w)
	lead := c.leaders < coalesceInflight
	if lead {
		c.leaders++
	}
	c.mu.Unlock()
	if !lead {
		if a := <-w.ch; !a.lead {
			return a.resp, a.err
		}
	}

	c.mu.Lock()
	batch := c.waiting
	c.waiting = nil
	c.mu.Unlock()
	mine, answered := c.commit(batch, w)

	c.mu.Lock()
	if len(c.waiting) > 0 {
		// Under the lock, so that no other leader takes it meanwhile and
		// its answer and the lead cannot both be sent to it.
		c.waiting[0].ch <- kvAnswer{lead: true}
	} else {
		c.leaders--
	}
	c.mu.Unlock()
	if !answered {
		// A leader promoted while its own write was already in another
		// leader's batch: that leader answers it.
		mine = <-w.ch
	}
	return mine.resp, mine.err
}

// commit applies batch as one raft entry and answers every write in it
// but self's, which it returns (answered is false when self is not in
// batch).
func (c *kvCoalescer) commit(batch []*kvWrite, self *kvWrite) (mine kvAnswer, answered bool) {
	var (
		resps []any
		err   error
	)
	switch len(batch) {
	case 0:
		return kvAnswer{}, false
	case 1:
		var resp any
		resp, err = c.s.raftApply(structs.KVSRequestType, batch[0].req)
		resps = []any{resp}
	default:
		reqs := make([]*structs.KVSRequest, len(batch))
		for i, w := range batch {
			reqs[i] = w.req
		}
		var resp any
		resp, err = c.s.raftApplyBytes(structs.EncodeKVSBatch(reqs))
		resps, _ = resp.([]any)
		if err == nil && len(resps) != len(batch) {
			err = structs.Errorf(structs.KindInternal, "kv batch of %d writes answered %d", len(batch), len(resps))
		}
	}
	for i, w := range batch {
		a := kvAnswer{err: err}
		if err == nil {
			a.resp = resps[i]
			if e, ok := a.resp.(error); ok {
				a.resp, a.err = nil, e
			}
		}
		if w == self {
			mine, answered = a, true
		} else {
			w.ch <- a
		}
	}
	return mine, answered
}
