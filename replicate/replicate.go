package replicate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"conclave/client"
	"conclave/lock"
)

// errLockLost ends the passes of a replicator that no longer holds the
// lock; Run then waits to get it back (or returns, with Once).
var errLockLost = errors.New("replication lock lost")

// txnWorkers is how many transactions of one pass are in flight at once:
// the servers batch concurrent raft applies, so a few in flight move
// 10,000 keys several times faster than one at a time.
const txnWorkers = 4

// Status is what is stored (as JSON) under the status dir for each
// prefix: consul-replicate's fields, plus the source datacenter.
type Status struct {
	// LastReplicated is the source index the last applied pass reached.
	LastReplicated uint64
	Source         string
	Destination    string
	Datacenter     string `json:",omitempty"`
}

// Run replicates cfg.Prefixes until ctx ends (then it returns nil), or,
// with Once, until one pass of every prefix is done. A replicator that
// gives up (retries exhausted, a refused pass with Once) returns why.
func Run(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return err
	}
	r := &runner{cfg: cfg}
	if err := r.resolve(ctx); err != nil {
		return err
	}
	if cfg.DryRun {
		return r.passes(ctx, "")
	}
	host, _ := os.Hostname()
	l, err := lock.NewLock(lock.Config{
		Client:      cfg.Client,
		SessionName: "conclave replicate",
		SessionTTL:  cfg.SessionTTL,
		// No lock-delay: every write carries a check-session step, so a
		// holder whose session is gone cannot write, and a successor may
		// start at once.
		NoLockDelay:      true,
		Value:            []byte(fmt.Sprintf("%s pid %d", host, os.Getpid())),
		MonitorRetryTime: time.Second,
		// Stopping is cancelling a context: the passes end within one
		// request.
		StopTime: time.Second,
		Token:    cfg.Token,
	}, cfg.LockKey)
	if err != nil {
		return fmt.Errorf("replicate: %w", err)
	}
	for {
		cfg.Logger.Info("waiting for the replication lock", "key", cfg.LockKey)
		hold, err := l.Acquire(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("acquiring the replication lock %s: %w", cfg.LockKey, err)
		}
		cfg.Logger.Info("holding the replication lock", "key", cfg.LockKey, "session", hold.Session())
		err = r.whileHeld(ctx, hold)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.SessionTTL)
		if rerr := hold.Release(rctx); rerr != nil {
			cfg.Logger.Warn("releasing the replication lock failed; its session's TTL will free it", "error", rerr)
		}
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case cfg.Once || !errors.Is(err, errLockLost):
			return err
		}
		cfg.Logger.Warn("lost the replication lock; stopped replicating", "reason", err)
	}
}

// runner is one Run.
type runner struct {
	cfg     Config
	localDC string
}

// resolve learns the local datacenter, fills in the source datacenter of
// prefixes that name none, and refuses a prefix that would feed itself.
func (r *runner) resolve(ctx context.Context) error {
	self, _, err := r.cfg.Client.Agent().Self(ctx, &client.QueryOptions{Token: r.cfg.Token})
	if err != nil {
		return fmt.Errorf("replicate: asking the agent for its datacenter: %w", err)
	}
	r.localDC = self.Config.Datacenter
	prefixes := make([]Prefix, len(r.cfg.Prefixes))
	for i, p := range r.cfg.Prefixes {
		if p.Datacenter == "" {
			p.Datacenter = r.localDC
		}
		if p.Datacenter == r.localDC && overlaps(p.Source, p.Destination) {
			return fmt.Errorf("replicate: prefix %s: source and destination overlap in the local datacenter %s", p, r.localDC)
		}
		prefixes[i] = p
	}
	r.cfg.Prefixes = prefixes
	return nil
}

// whileHeld runs the passes until the hold is lost or ctx ends.
func (r *runner) whileHeld(ctx context.Context, hold *lock.Hold) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-hold.Lost():
			cancel()
		case <-ctx.Done():
		}
	}()
	err := r.passes(ctx, hold.Session())
	if lost := hold.Err(); lost != nil {
		return fmt.Errorf("%w: %w", errLockLost, lost)
	}
	return err
}

// passes runs one follower per prefix; the first to fail ends the others.
func (r *runner) passes(ctx context.Context, session string) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, p := range r.cfg.Prefixes {
		f := &follower{r: r, prefix: p, session: session, planner: planner{
			prefix: p, excludes: r.cfg.Excludes, reserved: r.reserved,
		}}
		g.Go(func() error { return f.run(ctx) })
	}
	return g.Wait()
}

// reserved tells the replicator's own keys, never replicated nor deleted.
func (r *runner) reserved(key string) bool {
	dir := strings.TrimRight(r.cfg.StatusDir, "/")
	return key == r.cfg.LockKey || key == dir || strings.HasPrefix(key, dir+"/")
}

// follower replicates one prefix.
type follower struct {
	r       *runner
	prefix  Prefix
	session string // the lock's session; "" in a dry run
	planner planner
	status  Status
}

// run reads the status, then passes: once, or each time the source
// changes. Failures are retried as cfg.Retry says; a refused pass waits
// for the next change.
func (f *follower) run(ctx context.Context) error {
	cfg := f.r.cfg
	log := cfg.Logger.With("prefix", f.prefix.String())
	var index uint64
	haveStatus := false
	failures := 0
	for {
		var err error
		if !haveStatus {
			err = f.readStatus(ctx)
			haveStatus = err == nil
		}
		if err == nil {
			err = f.step(ctx, &index)
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			failures = 0
			if cfg.Once {
				return nil
			}
			continue
		case cfg.Once || errors.Is(err, errLockLost):
			return fmt.Errorf("%s: %w", f.prefix, err)
		case errors.Is(err, ErrEmptySource) || errors.Is(err, ErrTooManyDeletes):
			// step has moved index to the refused state: wait for the
			// source to change again.
			log.Error("pass refused", "error", err)
			continue
		}
		failures++
		if cfg.Retry.gaveUp(failures) {
			return fmt.Errorf("%s: giving up after %d failures in a row: %w", f.prefix, failures, err)
		}
		pause := cfg.Retry.pause(failures)
		log.Warn("pass failed; retrying", "error", err, "in", pause)
		index = 0
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
	}
}

func (f *follower) statusKey() string { return statusKey(f.r.cfg.StatusDir, f.prefix) }

// readStatus loads the stored status; none is a first run.
func (f *follower) readStatus(ctx context.Context) error {
	p, _, err := f.r.cfg.Client.KV().Get(ctx, f.statusKey(), &client.QueryOptions{Token: f.r.cfg.Token})
	if err != nil {
		return fmt.Errorf("reading status: %w", err)
	}
	f.status = Status{}
	if p != nil {
		if err := json.Unmarshal(p.Value, &f.status); err != nil {
			return fmt.Errorf("reading status %s: %w", f.statusKey(), err)
		}
	}
	return nil
}

// step waits for the source to move past *index (at once when 0), then
// plans and applies one pass.
func (f *follower) step(ctx context.Context, index *uint64) error {
	cfg := f.r.cfg
	pairs, meta, err := f.list(ctx, *index, cfg.BlockTime, cfg.MaxStale > 0)
	if err != nil {
		return err
	}
	if meta.LastIndex < f.status.LastReplicated && cfg.MaxStale > 0 {
		// A server further behind than the one that answered the last
		// pass: its view predates what is replicated already, and would
		// delete the keys created since. Ask the leader.
		if pairs, meta, err = f.list(ctx, 0, 0, false); err != nil {
			return err
		}
	}
	if *index != 0 && meta.LastIndex == *index {
		return nil // the wait ran out with no change
	}
	if pairs, meta, err = f.settle(ctx, pairs, meta); err != nil {
		return err
	}
	last := f.status.LastReplicated
	if meta.LastIndex < last {
		cfg.Logger.Warn("source index went back: the source was rebuilt or restored; every key is compared again",
			"prefix", f.prefix.String(), "stored", last, "source", meta.LastIndex)
		last = 0
	}
	dst, _, err := cfg.Client.KV().Keys(ctx, f.prefix.Destination, "", &client.QueryOptions{Token: cfg.Token})
	if err != nil {
		return fmt.Errorf("listing the destination: %w", err)
	}
	pl := f.planner.plan(pairs, dst, last)
	if cfg.DryRun {
		f.print(pl)
	}
	if err := pl.rails(cfg.AllowEmptySource, cfg.MaxDeleteFraction); err != nil {
		*index = max(meta.LastIndex, 1)
		return err
	}
	if cfg.DryRun {
		cfg.Logger.Info(fmt.Sprintf("dry run: %d updates, %d deletes, source index %d (nothing written)",
			len(pl.Puts), len(pl.Deletes), meta.LastIndex), "prefix", f.prefix.String())
		return nil
	}
	if pl.Sessions > 0 {
		cfg.Logger.Warn("source keys held by a session: their values are copied, their locks cannot be (sessions belong to one datacenter)",
			"prefix", f.prefix.String(), "keys", pl.Sessions)
	}
	if err := f.apply(ctx, pl); err != nil {
		return err
	}
	st := Status{LastReplicated: meta.LastIndex, Source: f.prefix.Source, Destination: f.prefix.Destination, Datacenter: f.prefix.Datacenter}
	if err := f.writeStatus(ctx, st); err != nil {
		return err
	}
	f.status = st
	*index = max(meta.LastIndex, 1)
	cfg.Logger.Info(fmt.Sprintf("%d updates, %d deletes, source index %d", len(pl.Puts), len(pl.Deletes), meta.LastIndex),
		"prefix", f.prefix.String())
	return nil
}

// list reads the source prefix, blocking while its index is index, and
// refuses an answer from a source without a known leader. When stale,
// any server may answer, unless it is further behind its leader than
// MaxStale: then the read is repeated at default consistency.
func (f *follower) list(ctx context.Context, index uint64, wait time.Duration, stale bool) ([]*client.KVPair, *client.QueryMeta, error) {
	cfg := f.r.cfg
	q := &client.QueryOptions{
		Datacenter: f.prefix.Datacenter, Token: cfg.Token,
		WaitIndex: index, WaitTime: wait, AllowStale: stale, MaxStale: cfg.MaxStale,
	}
	pairs, meta, err := cfg.Client.KV().List(ctx, f.prefix.Source, q)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the source: %w", err)
	}
	if !meta.KnownLeader {
		return nil, nil, fmt.Errorf("%w (datacenter %s, index %d): not replicating", ErrNoLeader, f.prefix.Datacenter, meta.LastIndex)
	}
	return pairs, meta, nil
}

// settle applies the quiescence timers: it keeps reading while the
// source changes within WaitMin of the last change, up to WaitMax.
func (f *follower) settle(ctx context.Context, pairs []*client.KVPair, meta *client.QueryMeta) ([]*client.KVPair, *client.QueryMeta, error) {
	cfg := f.r.cfg
	if cfg.WaitMin <= 0 || cfg.Once {
		return pairs, meta, nil
	}
	deadline := time.Now().Add(cfg.WaitMax)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return pairs, meta, nil
		}
		p2, m2, err := f.list(ctx, meta.LastIndex, min(cfg.WaitMin, left), cfg.MaxStale > 0)
		if err != nil {
			return nil, nil, err
		}
		if m2.LastIndex == meta.LastIndex {
			return pairs, meta, nil
		}
		pairs, meta = p2, m2
	}
}

// print writes a dry run's plan, one line per key.
func (f *follower) print(pl plan) {
	out := f.r.cfg.Out
	for _, p := range pl.Puts {
		fmt.Fprintf(out, "put %s\n", p.Key)
	}
	for _, k := range pl.Deletes {
		fmt.Fprintf(out, "delete %s\n", k)
	}
}

// apply writes a plan in transactions of at most client.MaxTxnOps steps,
// each led by the lock check.
func (f *follower) apply(ctx context.Context, pl plan) error {
	ops := make(client.TxnOps, 0, len(pl.Puts)+len(pl.Deletes))
	for _, p := range pl.Puts {
		ops = append(ops, &client.TxnOp{KV: &client.KVTxnOp{Verb: client.KVSet, Key: p.Key, Value: p.Value, Flags: p.Flags}})
	}
	for _, k := range pl.Deletes {
		ops = append(ops, &client.TxnOp{KV: &client.KVTxnOp{Verb: client.KVDelete, Key: k}})
	}
	per := client.MaxTxnOps - 1 // one step is the lock check
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(txnWorkers)
	for start := 0; start < len(ops); start += per {
		batch := ops[start:min(start+per, len(ops))]
		g.Go(func() error { return f.txn(ctx, batch) })
	}
	return g.Wait()
}

// writeStatus stores st, under the same lock check as the pass.
func (f *follower) writeStatus(ctx context.Context, st Status) error {
	// Indented, as consul-replicate stores it, for people reading it in
	// the UI.
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding status: %w", err)
	}
	op := &client.TxnOp{KV: &client.KVTxnOp{Verb: client.KVSet, Key: f.statusKey(), Value: b}}
	if err := f.txn(ctx, client.TxnOps{op}); err != nil {
		return fmt.Errorf("writing status: %w", err)
	}
	return nil
}

// txn applies ops in one transaction that commits only while the lock
// key is held by this replicator's session.
func (f *follower) txn(ctx context.Context, ops client.TxnOps) error {
	cfg := f.r.cfg
	if f.session != "" {
		check := &client.TxnOp{KV: &client.KVTxnOp{Verb: client.KVCheckSession, Key: cfg.LockKey, Session: f.session}}
		ops = append(client.TxnOps{check}, ops...)
	}
	resp, _, err := cfg.Client.Txn().Do(ctx, ops, &client.WriteOptions{Token: cfg.Token})
	if err != nil {
		return fmt.Errorf("writing the destination: %w", err)
	}
	if resp.Committed() {
		return nil
	}
	for _, e := range resp.Errors {
		if f.session != "" && e.OpIndex == 0 {
			return fmt.Errorf("%w: the lock key %s is no longer held by session %s (%s)", errLockLost, cfg.LockKey, f.session, e.What)
		}
	}
	return fmt.Errorf("writing the destination: transaction rolled back: %v", resp.Errors[0])
}
