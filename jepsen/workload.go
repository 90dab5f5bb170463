package jepsen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is one kind of trouble the nemesis causes.
type Fault string

// The faults. Each hits one node at a time, so a majority of a 3-server
// cluster stays up; the *Leader variants pick the current leader.
const (
	FaultKill        Fault = "kill"         // SIGKILL, then restart on the same data dir
	FaultKillLeader  Fault = "kill-leader"  //
	FaultPause       Fault = "pause"        // SIGSTOP, then SIGCONT
	FaultPauseLeader Fault = "pause-leader" //
	FaultPartition   Fault = "partition"    // cut the node's cluster link (netns only)
	FaultPartLeader  Fault = "partition-leader"
)

// Workload is a Jepsen-style run: concurrent clients doing get, put and cas
// on a few keys while a nemesis injects faults.
type Workload struct {
	// Clients is the number of concurrent clients; client i talks to node
	// i mod len(nodes) only.
	Clients int
	// Keys is the number of keys (jepsen/k0, ...).
	Keys int
	// Duration of the load, faults included.
	Duration time.Duration
	// OpTimeout bounds each request; a write that times out is recorded
	// with an unknown outcome.
	OpTimeout time.Duration
	// ConsistentEvery makes every n-th client read with ?consistent (1:
	// all, 0: none); the others use the default mode.
	ConsistentEvery int
	// Faults the nemesis picks from; none means a fault-free run.
	Faults []Fault
	// FaultFor is the longest a fault lasts, QuietFor the longest pause
	// between faults; each is drawn uniformly from [1/4, 1] of it.
	FaultFor, QuietFor time.Duration
	// RecoverWithin bounds how long the cluster may take to become healthy
	// after a fault is healed; exceeding it fails the run (liveness).
	RecoverWithin time.Duration
	// Seed makes the choice of ops and faults repeatable (0: random).
	Seed uint64
	// Logf receives progress lines (nemesis actions); may be nil.
	Logf func(format string, args ...any)
	// Alongside, when set, runs beside the clients for the load's
	// duration and may add operations of its own to the history (the
	// snapshot test saves and restores from it). Its client IDs must not
	// collide with the clients' (use AlongsideID and up).
	Alongside func(ctx context.Context, h *History)
}

// AlongsideID is the first client ID free for Workload.Alongside.
const AlongsideID = 1 << 20

func (w *Workload) defaults() {
	if w.Clients <= 0 {
		w.Clients = 8
	}
	if w.Keys <= 0 {
		w.Keys = 4
	}
	if w.OpTimeout <= 0 {
		w.OpTimeout = 4 * time.Second
	}
	if w.FaultFor <= 0 {
		w.FaultFor = 4 * time.Second
	}
	if w.QuietFor <= 0 {
		w.QuietFor = 3 * time.Second
	}
	if w.RecoverWithin <= 0 {
		w.RecoverWithin = 60 * time.Second
	}
	if w.Seed == 0 {
		w.Seed = rand.Uint64()
	}
	if w.Logf == nil {
		w.Logf = func(string, ...any) {}
	}
}

// Run drives the workload against c and returns the recorded history. The
// history is complete even when Run returns an error (a fault that could
// not be applied or healed, or a cluster that did not recover).
func (w Workload) Run(ctx context.Context, c *Cluster) (*History, error) {
	w.defaults()
	w.Logf("workload: %d clients, %d keys, %s, faults %v, seed %d", w.Clients, w.Keys, w.Duration, w.Faults, w.Seed)
	h := NewHistory()
	keys := workloadKeys(w.Keys)
	loadCtx, stopLoad := context.WithTimeout(ctx, w.Duration)
	defer stopLoad()

	var wg sync.WaitGroup
	var nextID atomic.Int64
	nextID.Store(int64(w.Clients))
	for i := 0; i < w.Clients; i++ {
		mode := ReadDefault
		if w.ConsistentEvery > 0 && i%w.ConsistentEvery == 0 {
			mode = ReadConsistent
		}
		cl := &worker{
			id: i, h: h, keys: keys, mode: mode, nextID: &nextID,
			client: c.Client(c.Nodes[i%len(c.Nodes)], w.OpTimeout),
			rng:    rand.New(rand.NewPCG(w.Seed, uint64(i)+1)),
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cl.client.Close()
			cl.loop(loadCtx)
		}()
	}

	if w.Alongside != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Alongside(loadCtx, h)
		}()
	}

	nem := &nemesis{w: &w, c: c, h: h, rng: rand.New(rand.NewPCG(w.Seed, 0))}
	nemErr := make(chan error, 1)
	go func() { nemErr <- nem.loop(loadCtx) }()

	wg.Wait()
	err := <-nemErr
	// Heal everything and let the cluster settle; then read every key
	// through every node, so the history ends with what survived.
	if herr := nem.healAll(ctx); herr != nil && err == nil {
		err = herr
	}
	if err == nil {
		rctx, cancel := context.WithTimeout(ctx, w.RecoverWithin)
		if herr := c.WaitHealthy(rctx, c.Nodes...); herr != nil {
			err = fmt.Errorf("cluster did not recover after the run: %w", herr)
		}
		cancel()
	}
	if err == nil {
		w.finalReads(ctx, c, h, keys)
	}
	return h, err
}

// workloadKeys are the keys a workload of n keys works on.
func workloadKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("jepsen/k%d", i)
	}
	return keys
}

// finalReads reads each key through each node in both read modes.
func (w Workload) finalReads(ctx context.Context, c *Cluster, h *History, keys []string) {
	id := w.Clients * 1000
	for _, n := range c.Nodes {
		for _, mode := range []ReadMode{ReadDefault, ReadConsistent} {
			cl := c.Client(n, w.OpTimeout)
			for _, k := range keys {
				call := h.Now()
				v, _, _, err := cl.Get(ctx, k, mode)
				if err != nil {
					h.Failed()
					continue
				}
				h.Add(id, Input{Kind: OpGet, Key: k}, Output{Value: v}, call, h.Now(), "final read via "+n.Name+" "+string(mode))
			}
			cl.Close()
			id++
		}
	}
}

// worker is one client: a process in Jepsen's terms. After an operation
// with an unknown outcome it continues under a new id, since the old
// operation may still be in flight.
type worker struct {
	id     int
	h      *History
	keys   []string
	mode   ReadMode
	client *Client
	rng    *rand.Rand
	nextID *atomic.Int64
	seq    int
}

func (w *worker) loop(ctx context.Context) {
	for ctx.Err() == nil {
		key := w.keys[w.rng.IntN(len(w.keys))]
		var trouble bool
		switch r := w.rng.IntN(10); {
		case r < 4:
			_, _, trouble = w.get(ctx, key)
		case r < 7:
			trouble = w.put(ctx, key, nil, "")
		default:
			// A cas works on what this client just read, as a real
			// read-modify-write would.
			v, idx, bad := w.get(ctx, key)
			if !bad && ctx.Err() == nil {
				trouble = w.put(ctx, key, &idx, v)
			}
			trouble = trouble || bad
		}
		if trouble {
			// Pacing against a node that is down, not synchronisation.
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(50+w.rng.IntN(150)) * time.Millisecond):
			}
		}
	}
}

func (w *worker) note() string { return w.client.Addr() + " " + string(w.mode) }

// get reads key and records it. bad reports a failed read (left out of the
// history: a read changes nothing).
func (w *worker) get(ctx context.Context, key string) (string, uint64, bool) {
	call := w.h.Now()
	v, idx, found, err := w.client.Get(ctx, key, w.mode)
	ret := w.h.Now()
	if err != nil {
		w.h.Failed()
		return "", 0, true
	}
	if !found {
		idx = 0
	}
	w.h.Add(w.id, Input{Kind: OpGet, Key: key}, Output{Value: v}, call, ret, w.note())
	return v, idx, false
}

// put writes a value no other operation writes; with cas non-nil it is a
// cas expecting the key to hold expect. trouble reports a failure.
func (w *worker) put(ctx context.Context, key string, cas *uint64, expect string) (trouble bool) {
	w.seq++
	in := Input{Kind: OpPut, Key: key, Value: fmt.Sprintf("%d.%d", w.id, w.seq)}
	if cas != nil {
		in.Kind, in.Expect = OpCAS, expect
	}
	call := w.h.Now()
	ok, err := w.client.Put(ctx, key, in.Value, cas)
	ret := w.h.Now()
	switch {
	case err == nil:
		w.h.Add(w.id, in, Output{OK: ok}, call, ret, w.note())
		return false
	case NotSent(err):
		w.h.Failed()
	default:
		// It may have happened, now or later: record it as open-ended and
		// carry on as a new process.
		w.h.Add(w.id, in, Output{Unknown: true}, call, ret, w.note()+" "+err.Error())
		w.id = int(w.nextID.Add(1))
	}
	return true
}
