package lock

import (
	"context"
	"encoding/json"
	"fmt"
	"path"

	"conclave/client"
)

// Semaphore lets at most Limit holders in at once, as the official
// client's Semaphore: each contender acquires <prefix>/<session>, and the
// holders are listed in the JSON document at <prefix>/.lock, changed by
// CAS only.
type Semaphore struct {
	cfg    Config
	prefix string
	limit  int
}

// semaphoreDoc is the document at <prefix>/.lock.
type semaphoreDoc struct {
	Limit   int
	Holders map[string]bool
}

// NewSemaphore checks cfg and returns a semaphore of limit slots on prefix.
func NewSemaphore(cfg Config, prefix string, limit int) (*Semaphore, error) {
	cfg = cfg.withDefaults()
	// A slot is freed the moment its session is invalidated (the other
	// contenders prune it): no lock-delay protects it.
	if err := cfg.validate(0); err != nil {
		return nil, err
	}
	if limit < 1 {
		return nil, fmt.Errorf("semaphore limit %d: must be at least 1", limit)
	}
	if prefix == "" {
		return nil, fmt.Errorf("semaphore: empty prefix")
	}
	return &Semaphore{cfg: cfg, prefix: prefix, limit: limit}, nil
}

func (s *Semaphore) lockKey() string               { return path.Join(s.prefix, LockKeyName) }
func (s *Semaphore) contenderKey(id string) string { return path.Join(s.prefix, id) }

// Acquire makes a session, enters it as a contender and waits until it
// holds a slot, or ctx ends. The caller must Release the hold.
func (s *Semaphore) Acquire(ctx context.Context) (*Hold, error) {
	h, err := newSession(ctx, s.cfg)
	if err != nil {
		return nil, fmt.Errorf("making the semaphore's session: %w", err)
	}
	h.release = s.releaseFn(h.session)
	contender := &client.KVPair{Key: s.contenderKey(h.session), Value: s.cfg.Value, Flags: SemaphoreFlagValue, Session: h.session}
	ok, _, err := s.cfg.Client.KV().Acquire(ctx, contender, s.cfg.write())
	if err == nil && !ok {
		err = fmt.Errorf("the agent refused the contender key")
	}
	if err == nil {
		waitCtx, stop := h.waitContext(ctx)
		err = s.wait(waitCtx, h.session)
		stop()
	}
	if err != nil {
		// Leave no contender key behind; Release deletes it.
		return nil, fmt.Errorf("semaphore %s: %w", s.prefix, h.abandon(err))
	}
	h.start(0, func(stop <-chan struct{}) { h.watch(stop, s.monitorRead(h.session)) })
	return h, nil
}

// read lists the prefix and decodes the document, checking it is a
// semaphore of our limit. lockPair is nil when the document is absent.
func (s *Semaphore) read(ctx context.Context, q *client.QueryOptions) (pairs []*client.KVPair, lockPair *client.KVPair, doc *semaphoreDoc, meta *client.QueryMeta, err error) {
	pairs, meta, err = s.cfg.Client.KV().List(ctx, s.prefix+"/", q)
	if err != nil {
		return nil, nil, nil, meta, err
	}
	doc = &semaphoreDoc{Limit: s.limit, Holders: map[string]bool{}}
	for _, p := range pairs {
		if p.Key != s.lockKey() {
			continue
		}
		lockPair = p
		if p.Flags != SemaphoreFlagValue {
			return nil, nil, nil, meta, ErrConflict
		}
		if err := json.Unmarshal(p.Value, doc); err != nil {
			return nil, nil, nil, meta, fmt.Errorf("decoding %s: %w", p.Key, err)
		}
		if doc.Holders == nil {
			doc.Holders = map[string]bool{}
		}
		if doc.Limit != s.limit {
			return nil, nil, nil, meta, fmt.Errorf("%w (lock: %d, local: %d)", ErrLimitConflict, doc.Limit, s.limit)
		}
	}
	return pairs, lockPair, doc, meta, nil
}

// wait loops until session is one of the document's holders.
func (s *Semaphore) wait(ctx context.Context, session string) error {
	var index uint64
	for {
		pairs, lockPair, doc, meta, err := s.read(ctx, s.cfg.query(index, false))
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if !retryable(err) {
				return err
			}
			index = 0
			if err := sleep(ctx, s.cfg.RetryTime); err != nil {
				return err
			}
			continue
		}
		// Holders whose contender key no longer has a session are dead.
		alive := map[string]bool{}
		for _, p := range pairs {
			if p.Session != "" {
				alive[p.Session] = true
			}
		}
		for id := range doc.Holders {
			if !alive[id] {
				delete(doc.Holders, id)
			}
		}
		if doc.Holders[session] {
			return nil
		}
		if len(doc.Holders) >= doc.Limit {
			index = meta.LastIndex
			continue
		}
		doc.Holders[session] = true
		ok, err := s.cas(ctx, lockPair, doc)
		if err != nil && !retryable(err) {
			return err
		}
		if ok {
			return nil
		}
		index = 0 // someone else changed the document: read it again
	}
}

// cas writes doc over lockPair (nil: only if absent).
func (s *Semaphore) cas(ctx context.Context, lockPair *client.KVPair, doc *semaphoreDoc) (bool, error) {
	value, err := json.Marshal(doc)
	if err != nil {
		return false, fmt.Errorf("encoding %s: %w", s.lockKey(), err)
	}
	p := &client.KVPair{Key: s.lockKey(), Value: value, Flags: SemaphoreFlagValue}
	if lockPair != nil {
		p.ModifyIndex = lockPair.ModifyIndex
	}
	ok, _, err := s.cfg.Client.KV().CAS(ctx, p, s.cfg.write())
	return ok, err
}

// monitorRead reads the prefix, consistent and blocking, and reports the
// slot lost once session is no longer a holder or its contender key lost
// its session.
func (s *Semaphore) monitorRead(session string) func(context.Context, uint64) (uint64, error) {
	return func(ctx context.Context, index uint64) (uint64, error) {
		pairs, _, doc, meta, err := s.read(ctx, s.cfg.query(index, true))
		if err != nil {
			return 0, err
		}
		if !doc.Holders[session] {
			return 0, fmt.Errorf("%w: session %s is no longer a holder of %s", ErrLost, session, s.prefix)
		}
		for _, p := range pairs {
			if p.Key == s.contenderKey(session) && p.Session == session {
				return meta.LastIndex, nil
			}
		}
		return 0, fmt.Errorf("%w: contender key of %s lost", ErrSessionInvalidated, session)
	}
}

// releaseFn removes session from the holders, deletes its contender key,
// and deletes the document when nobody is left.
func (s *Semaphore) releaseFn(session string) func(context.Context) error {
	return func(ctx context.Context) error {
		for {
			_, lockPair, doc, _, err := s.read(ctx, &client.QueryOptions{Token: s.cfg.Token})
			if err != nil {
				return fmt.Errorf("releasing semaphore %s: %w", s.prefix, err)
			}
			if lockPair == nil || !doc.Holders[session] {
				break
			}
			delete(doc.Holders, session)
			ok, err := s.cas(ctx, lockPair, doc)
			if err != nil {
				return fmt.Errorf("releasing semaphore %s: %w", s.prefix, err)
			}
			if ok {
				break
			}
		}
		if _, err := s.cfg.Client.KV().Delete(ctx, s.contenderKey(session), s.cfg.write()); err != nil {
			return fmt.Errorf("releasing semaphore %s: %w", s.prefix, err)
		}
		pairs, lockPair, doc, _, err := s.read(ctx, &client.QueryOptions{Token: s.cfg.Token})
		if err == nil && lockPair != nil && len(pairs) == 1 && len(doc.Holders) == 0 {
			_, _, _ = s.cfg.Client.KV().DeleteCAS(ctx, lockPair, s.cfg.write())
		}
		return nil
	}
}
