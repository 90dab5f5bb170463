package watch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"conclave/client"
)

// Backoff after failed reads, as Consul's watches: RetryBase times the
// square of the failures in a row, at most RetryMax.
const (
	DefaultRetryBase = 5 * time.Second
	DefaultRetryMax  = 180 * time.Second
)

// Fire is one change handed to a Handler.
type Fire struct {
	// Index is the read's X-Consul-Index (CONSUL_INDEX for scripts).
	Index uint64
	// Data is what the watch type hands on (see query.go).
	Data any
	// JSON is Data encoded as Consul's handlers get it: compact, with a
	// trailing newline.
	JSON []byte
}

// Handler takes the changes of a watch.
type Handler interface {
	// Handle is called for one change at a time, never concurrently. An
	// error is the handler's failure (see Runner.KeepGoing).
	Handle(ctx context.Context, f *Fire) error
}

// HandlerFunc makes a function a Handler.
type HandlerFunc func(ctx context.Context, f *Fire) error

// Handle calls fn.
func (fn HandlerFunc) Handle(ctx context.Context, f *Fire) error { return fn(ctx, f) }

// Runner runs one plan: it reads with blocking queries and fires its
// handler on each change.
//
// When a change fires: the first answer fires (unless Plan.SkipInitial);
// after that an answer fires when its index moved and its data differs
// from the data of the last fire. By default "differs" leaves out the raft
// indexes (CreateIndex, ModifyIndex) anywhere in the data, so a key
// rewritten with the same value, or an unrelated write that moves a
// catalog index, fires nothing. With Plan.FireUnchanged the whole data
// counts, indexes included, which is Consul's rule. An event watch fires
// only for events it has not handed on.
type Runner struct {
	// Plan is what to watch. Required.
	Plan *Plan
	// Client reads from the agent. Required. The plan's datacenter and
	// token are sent with each read when set.
	Client *client.Client
	// Handler gets the changes. Required.
	Handler Handler
	// Logger gets read errors and, with KeepGoing, handler failures.
	// Default: none.
	Logger hclog.Logger
	// KeepGoing logs a handler's failure and goes on watching (the
	// agent's config watches); without it Run returns the failure
	// (`conclave watch`, as Consul's).
	KeepGoing bool
	// Once returns after the first fire, with the handler's error.
	Once bool
	// WaitTime bounds each blocking read; zero is the agent's default.
	WaitTime time.Duration
	// RetryBase and RetryMax shape the backoff after failed reads;
	// zero means DefaultRetryBase and DefaultRetryMax.
	RetryBase, RetryMax time.Duration
}

// Run watches until ctx ends (then it returns nil), the handler fails
// (without KeepGoing), or, with Once, the first fire is handled.
func (r *Runner) Run(ctx context.Context) error {
	if r.Plan == nil || r.Plan.query == nil || r.Client == nil || r.Handler == nil {
		return errors.New("watch: Runner needs a parsed Plan, a Client and a Handler")
	}
	log := r.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	base, maxWait := r.RetryBase, r.RetryMax
	if base <= 0 {
		base = DefaultRetryBase
	}
	if maxWait <= 0 {
		maxWait = DefaultRetryMax
	}
	p := r.Plan
	var (
		cursor    string
		waitIndex uint64
		lastIndex uint64
		lastSum   [sha256.Size]byte
		first     = true
		failures  int
	)
	for ctx.Err() == nil {
		q := &client.QueryOptions{
			Datacenter: p.Datacenter,
			Token:      p.Token,
			AllowStale: p.Stale,
			WaitIndex:  waitIndex,
			WaitTime:   r.WaitTime,
		}
		rd, err := p.query(ctx, r.Client, q, &cursor)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			failures++
			retry := min(base*time.Duration(failures*failures), maxWait)
			log.Error("watch read failed", "type", p.Type, "error", err, "retry", retry)
			// Start over with a fresh read: the index may belong to a
			// state that is gone (Consul does the same).
			waitIndex = 0
			t := time.NewTimer(retry)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			continue
		}
		failures = 0
		if !first && rd.index == lastIndex {
			continue // the wait ran out with nothing new
		}
		lastIndex = rd.index
		// An index of 0 would not block; the agent never answers it for
		// data, but a proxy in between might.
		waitIndex = max(rd.index, 1)
		if !first && rd.nothingNew {
			continue
		}
		encoded, err := encode(rd.data)
		if err != nil {
			return fmt.Errorf("watch: encoding %s data: %w", p.Type, err)
		}
		sum, err := fingerprint(encoded, p.FireUnchanged)
		if err != nil {
			return fmt.Errorf("watch: fingerprinting %s data: %w", p.Type, err)
		}
		if !first && sum == lastSum {
			continue
		}
		lastSum = sum
		initial := first
		first = false
		if initial && p.SkipInitial {
			continue
		}
		herr := r.Handler.Handle(ctx, &Fire{Index: rd.index, Data: rd.data, JSON: encoded})
		if ctx.Err() != nil && !r.Once {
			return nil
		}
		if r.Once {
			return herr
		}
		if herr != nil {
			if !r.KeepGoing {
				return herr
			}
			log.Error("watch handler failed", "type", p.Type, "index", rd.index, "error", herr)
		}
	}
	return nil
}

// encode is the JSON handlers get: compact, with a trailing newline, as
// Consul's json.Encoder writes it.
func encode(data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// fingerprint hashes a fire's JSON. Unless withIndexes, the raft index
// fields are dropped first, so data that only moved in raft counts as
// unchanged.
func fingerprint(encoded []byte, withIndexes bool) ([sha256.Size]byte, error) {
	if withIndexes {
		return sha256.Sum256(encoded), nil
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(encoded))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return [sha256.Size]byte{}, err
	}
	stripIndexes(v)
	// Maps encode with sorted keys, so equal data hashes equal.
	b, err := json.Marshal(v)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return sha256.Sum256(b), nil
}

func stripIndexes(v any) {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "CreateIndex")
		delete(x, "ModifyIndex")
		for _, e := range x {
			stripIndexes(e)
		}
	case []any:
		for _, e := range x {
			stripIndexes(e)
		}
	}
}
