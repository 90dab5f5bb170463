package lock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"conclave/client"
)

// Hold is a held lock or semaphore slot.
type Hold struct {
	cfg     Config
	session string
	lost    chan struct{}
	once    sync.Once
	reason  error

	mu        sync.Mutex
	lastRenew time.Time // start of the last renewal the agent confirmed
	deadline  time.Time // when the holder must have stopped, unless renewed

	renewed  chan struct{} // poked after each confirmed renewal
	stop     chan struct{} // closed by Release: stop renewing and watching
	stopOnce sync.Once
	wg       sync.WaitGroup
	release  func(ctx context.Context) error // gives the key or slot up, when held
}

// Session is the ID of the session that holds the lock.
func (h *Hold) Session() string { return h.session }

// Lost closes when the holder must stop; Err then says why.
func (h *Hold) Lost() <-chan struct{} { return h.lost }

// Err is why Lost closed (ErrLost, ErrSessionInvalidated,
// ErrRenewUnconfirmed, possibly wrapped), nil while the hold is good.
func (h *Hold) Err() error {
	select {
	case <-h.lost:
		return h.reason
	default:
		return nil
	}
}

// Deadline is when the holder must have stopped if no renewal is
// confirmed from now on: Lost closes StopTime before it.
func (h *Hold) Deadline() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.deadline
}

func (h *Hold) lose(err error) {
	h.once.Do(func() {
		h.reason = err
		close(h.lost)
	})
}

// newSession creates the session and returns a hold around it, already
// renewing it: waiting for the lock may take longer than the TTL. The
// caller starts the fence and the monitor once the lock is held, and
// calls Release in any case.
// A creation the servers could not answer (no leader during an election)
// is tried again until ctx ends; one that failed after all leaves a
// session that holds nothing and expires with its TTL.
func newSession(ctx context.Context, cfg Config) (*Hold, error) {
	var (
		start time.Time
		id    string
	)
	for {
		start = time.Now()
		var err error
		id, _, err = cfg.Client.Session().Create(ctx, &client.SessionCreate{
			Name:        cfg.SessionName,
			TTL:         cfg.SessionTTL,
			LockDelay:   cfg.LockDelay,
			NoLockDelay: cfg.LockDelay == 0,
			Behavior:    client.SessionBehaviorRelease,
			// No linked check: the fence arithmetic counts from the last
			// confirmed renewal, and only the TTL is bound to it. With
			// serfHealth linked, cutting the agent off got the session
			// invalidated seconds later, freeing the lock after D while
			// the fence waited for T + D (jepsen.TestLockSafety).
			NoChecks: true,
		}, cfg.write())
		if err == nil {
			break
		}
		if !retryable(err) || ctx.Err() != nil {
			return nil, err
		}
		if err := sleep(ctx, cfg.RetryTime); err != nil {
			return nil, err
		}
	}
	h := &Hold{
		cfg:     cfg,
		session: id,
		lost:    make(chan struct{}),
		renewed: make(chan struct{}, 1),
		stop:    make(chan struct{}),
		// The creation counts as the first renewal: the TTL starts no
		// earlier.
		lastRenew: start,
	}
	h.wg.Add(1)
	go func() { defer h.wg.Done(); h.renew() }()
	return h, nil
}

// waitContext is ctx, also ended when the session is found invalidated
// while waiting for the lock; its stop function must be called.
func (h *Hold) waitContext(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-h.lost:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// abandon cleans up after a failed wait (bounded: the agent may be gone)
// and returns what Acquire reports: the session's loss when that ended
// the wait, else err.
func (h *Hold) abandon(err error) error {
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.SessionTTL)
	defer cancel()
	_ = h.Release(ctx)
	if lost := h.Err(); lost != nil {
		return fmt.Errorf("while waiting for the lock: %w", lost)
	}
	return err
}

// start runs the fence and the monitor until Release.
func (h *Hold) start(delay time.Duration, monitor func(stop <-chan struct{})) {
	h.wg.Add(2)
	go func() { defer h.wg.Done(); h.fence(h.cfg.fenceAfter(delay), h.cfg.fenceAfter(delay)+h.cfg.StopTime) }()
	go func() { defer h.wg.Done(); monitor(h.stop) }()
}

// renew renews the session every T/3, and retries a failed renewal every
// RetryTime; each call is bounded so a hung agent cannot stall it. A
// session the agent no longer has ends the hold at once.
func (h *Hold) renew() {
	wait := h.cfg.renewInterval()
	for {
		select {
		case <-h.stop:
			return
		case <-h.lost:
			return
		case <-time.After(wait):
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), h.cfg.renewInterval())
		_, _, err := h.cfg.Client.Session().Renew(ctx, h.session, h.cfg.write())
		cancel()
		switch {
		case errors.Is(err, client.ErrSessionNotFound):
			h.lose(fmt.Errorf("%w: %s", ErrSessionInvalidated, h.session))
			return
		case err != nil:
			wait = h.cfg.RetryTime
			continue
		}
		wait = h.cfg.renewInterval()
		h.mu.Lock()
		if start.After(h.lastRenew) {
			h.lastRenew = start
		}
		h.mu.Unlock()
		select {
		case h.renewed <- struct{}{}:
		default: // the fence has a poke waiting already
		}
	}
}

// fence closes Lost when no renewal has been confirmed for fenceAfter
// since the start of the last confirmed one.
func (h *Hold) fence(fenceAfter, stopBy time.Duration) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		h.mu.Lock()
		last := h.lastRenew
		h.deadline = last.Add(stopBy)
		h.mu.Unlock()
		t.Reset(time.Until(last.Add(fenceAfter)))
		select {
		case <-h.stop:
			return
		case <-h.lost:
			return
		case <-h.renewed:
		case <-t.C:
			h.lose(ErrRenewUnconfirmed)
			return
		}
	}
}

// watch runs one monitor loop: read (blocking from index, consistent)
// and check; failed reads are retried MonitorRetries times in a row,
// MonitorRetryTime apart, then the hold is lost.
func (h *Hold) watch(stop <-chan struct{}, read func(ctx context.Context, index uint64) (uint64, error)) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stop:
		case <-h.lost:
		}
		cancel()
	}()
	var index uint64
	failures := 0
	for {
		next, err := read(ctx, index)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrLost) || errors.Is(err, ErrSessionInvalidated) {
			h.lose(err)
			return
		}
		if err != nil {
			failures++
			if failures > h.cfg.MonitorRetries {
				h.lose(fmt.Errorf("%w: monitor gave up after %d failed reads: %w", ErrLost, failures, err))
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(h.cfg.MonitorRetryTime):
			}
			continue
		}
		failures = 0
		index = next
	}
}

// Release gives the lock up, stops renewing and destroys the session. It
// is safe to call after Lost closed; calls after the first do nothing.
func (h *Hold) Release(ctx context.Context) error {
	first := false
	h.stopOnce.Do(func() { first = true; close(h.stop) })
	if !first {
		return nil
	}
	h.wg.Wait()
	var err error
	if h.release != nil {
		err = h.release(ctx)
	}
	if _, derr := h.cfg.Client.Session().Destroy(ctx, h.session, h.cfg.write()); derr != nil && err == nil {
		err = derr
	}
	return err
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryable tells a failed read worth retrying while acquiring (the
// agent or its servers are briefly unavailable) from one that is not.
func retryable(err error) bool {
	var se *client.StatusError
	if errors.As(err, &se) {
		return se.Code >= 500
	}
	var ue *client.UnreachableError
	return errors.As(err, &ue)
}
