package lock

import (
	"context"
	"fmt"
	"path"

	"conclave/client"
)

// Lock is a mutual-exclusion lock on one key, as the official client's
// Lock: the key is acquired by a session and carries LockFlagValue.
type Lock struct {
	cfg Config
	key string
}

// NewLock checks cfg and returns a lock on key (for `conclave lock`'s
// layout, pass Key(prefix)).
func NewLock(cfg Config, key string) (*Lock, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(cfg.LockDelay); err != nil {
		return nil, err
	}
	if key == "" {
		return nil, fmt.Errorf("lock: empty key")
	}
	return &Lock{cfg: cfg, key: key}, nil
}

// Key is the lock key `conclave lock` and `consul lock` use for prefix.
func Key(prefix string) string { return path.Join(prefix, LockKeyName) }

// Acquire makes a session and waits until it holds the key, or ctx ends
// (its error is returned, wrapped). The caller must Release the hold.
func (l *Lock) Acquire(ctx context.Context) (*Hold, error) {
	h, err := newSession(ctx, l.cfg)
	if err != nil {
		return nil, fmt.Errorf("making the lock's session: %w", err)
	}
	waitCtx, stop := h.waitContext(ctx)
	err = l.wait(waitCtx, h.session)
	stop()
	if err != nil {
		return nil, h.abandon(err)
	}
	h.release = l.releaseFn(h.session)
	h.start(l.cfg.LockDelay, func(stop <-chan struct{}) { h.watch(stop, l.monitorRead(h.session)) })
	return h, nil
}

func (l *Lock) pair(session string) *client.KVPair {
	return &client.KVPair{Key: l.key, Value: l.cfg.Value, Flags: LockFlagValue, Session: session}
}

// wait loops until session holds the key: read it (blocking while someone
// holds it), and try to acquire it whenever it is free.
func (l *Lock) wait(ctx context.Context, session string) error {
	kv := l.cfg.Client.KV()
	var index uint64
	for {
		p, meta, err := kv.Get(ctx, l.key, l.cfg.query(index, false))
		if ctx.Err() != nil {
			return fmt.Errorf("waiting for lock %s: %w", l.key, ctx.Err())
		}
		if err != nil {
			if !retryable(err) {
				return fmt.Errorf("reading lock %s: %w", l.key, err)
			}
			index = 0
			if err := sleep(ctx, l.cfg.RetryTime); err != nil {
				return fmt.Errorf("waiting for lock %s: %w", l.key, err)
			}
			continue
		}
		if p != nil && p.Flags != LockFlagValue {
			return fmt.Errorf("lock %s: %w", l.key, ErrConflict)
		}
		if p != nil && p.Session == session {
			return nil
		}
		if p != nil && p.Session != "" {
			index = meta.LastIndex
			continue
		}
		ok, _, err := kv.Acquire(ctx, l.pair(session), l.cfg.write())
		if ok {
			return nil
		}
		if err != nil && !retryable(err) && ctx.Err() == nil {
			return fmt.Errorf("acquiring lock %s: %w", l.key, err)
		}
		// Refused although free: another contender was faster, or the
		// lock-delay of a lost holder still runs.
		index = 0
		if err := sleep(ctx, l.cfg.RetryTime); err != nil {
			return fmt.Errorf("waiting for lock %s: %w", l.key, err)
		}
	}
}

// monitorRead reads the key, consistent and blocking, and reports ErrLost
// once session no longer holds it.
func (l *Lock) monitorRead(session string) func(context.Context, uint64) (uint64, error) {
	return func(ctx context.Context, index uint64) (uint64, error) {
		p, meta, err := l.cfg.Client.KV().Get(ctx, l.key, l.cfg.query(index, true))
		if err != nil {
			return 0, err
		}
		if p == nil || p.Session != session {
			return 0, fmt.Errorf("%w: %s is no longer held by session %s", ErrLost, l.key, session)
		}
		return meta.LastIndex, nil
	}
}

// releaseFn gives the key up and then deletes it if nobody took it
// meanwhile, as `consul lock` cleans up after itself.
func (l *Lock) releaseFn(session string) func(context.Context) error {
	return func(ctx context.Context) error {
		kv := l.cfg.Client.KV()
		if _, _, err := kv.Release(ctx, l.pair(session), l.cfg.write()); err != nil {
			return fmt.Errorf("releasing lock %s: %w", l.key, err)
		}
		p, _, err := kv.Get(ctx, l.key, &client.QueryOptions{Token: l.cfg.Token})
		if err != nil || p == nil || p.Session != "" || p.Flags != LockFlagValue {
			return nil
		}
		_, _, _ = kv.DeleteCAS(ctx, p, l.cfg.write())
		return nil
	}
}
