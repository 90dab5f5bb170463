package http

import (
	"context"
	"math/rand/v2"
	gohttp "net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"conclave/agent/structs"
)

// The agent cache: ?cached on the reads Consul caches
// (/v1/catalog/services, /v1/catalog/service/<s>, /v1/health/service/<s>,
// /v1/catalog/datacenters) is answered from this agent's memory, which a
// background blocking query per distinct request keeps fresh, as Consul's
// agent cache does. The answer carries X-Cache (HIT or MISS) and Age (in
// seconds; 0 while the background query is healthy, since the entry then
// follows every change), and honours the request's Cache-Control:
// max-age=N refetches an entry older than N seconds, stale-if-error=N
// lets an entry whose refresh is failing be served while no older than N
// seconds, must-revalidate refuses a stale entry. Without ?cached nothing
// changes.

const (
	// cacheIdle is how long an entry nobody reads is kept (and refreshed)
	// before it is dropped with its background query.
	cacheIdle = 20 * time.Minute
	// cacheWait is the wait of each background blocking query.
	cacheWait = 10 * time.Minute
	// cachePoll spaces refreshes of a read that does not block (one that
	// reports no index, like the datacenter list).
	cachePoll = 30 * time.Second
	// cacheMaxBackoff bounds the pause after failed refreshes.
	cacheMaxBackoff = time.Minute
)

// agentCache holds the entries; it is the Handler's, and Close stops every
// background query.
type agentCache struct {
	mu      sync.Mutex
	entries map[string]*cacheEntry
	ctx     context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

func newAgentCache() *agentCache {
	ctx, stop := context.WithCancel(context.Background())
	return &agentCache{entries: map[string]*cacheEntry{}, ctx: ctx, stop: stop}
}

// dropUnfilled forgets an entry whose first fetch failed: it has no
// answer and no background query that would ever drop it.
func (c *agentCache) dropUnfilled(key string, e *cacheEntry) {
	e.mu.Lock()
	unfilled := e.f == nil && !e.started
	e.mu.Unlock()
	if !unfilled {
		return
	}
	c.mu.Lock()
	if c.entries[key] == e {
		delete(c.entries, key)
	}
	c.mu.Unlock()
}

// close stops every background query and waits for them.
func (c *agentCache) close() {
	c.stop()
	c.wg.Wait()
}

// cacheEntry is one cached read and its background refresh.
type cacheEntry struct {
	mu sync.Mutex
	// f is the last good answer (nil until the first fetch ends well);
	// fetched is when it was fetched or last confirmed by a refresh.
	f       *readFlight
	fetched time.Time
	// failing is the error of the last refresh when it failed.
	failing error
	// changed is closed, and replaced, whenever f changes.
	changed  chan struct{}
	lastRead time.Time
	started  bool
}

// cacheControl is what the request's Cache-Control asks of the cache.
type cacheControl struct {
	maxAge, staleIfError time.Duration
	hasMaxAge            bool
	mustRevalidate       bool
}

func parseCacheControl(r *gohttp.Request) (cacheControl, error) {
	var cc cacheControl
	for _, v := range r.Header.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			secs := func() (time.Duration, error) {
				n, err := strconv.ParseUint(strings.Trim(val, `"`), 10, 32)
				if err != nil {
					return 0, badRequest("Cache-Control: %s=%q is not a number of seconds", name, val)
				}
				return time.Duration(n) * time.Second, nil
			}
			var err error
			switch strings.ToLower(name) {
			case "max-age":
				cc.maxAge, err = secs()
				cc.hasMaxAge = true
			case "stale-if-error":
				cc.staleIfError, err = secs()
			case "must-revalidate":
				cc.mustRevalidate = true
			}
			if err != nil {
				return cc, err
			}
		}
	}
	return cc, nil
}

// cacheKey names a read: its path, its query without the parameters that
// concern only this request, and its token.
func cacheKey(r *gohttp.Request, token string) string {
	q := url.Values{}
	for k, v := range queryOf(r) {
		switch k {
		case "cached", "index", "wait", "pretty":
			continue
		}
		q[k] = v
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(r.URL.Path)
	for _, k := range keys {
		b.WriteString("\x00" + k + "=" + strings.Join(q[k], "\x01"))
	}
	return b.String() + "\x00" + token
}

// serveCachedRead is serveRead for the reads Consul caches: with ?cached
// the answer comes from the agent cache, otherwise serveRead runs.
func (h *Handler) serveCachedRead(w gohttp.ResponseWriter, r *gohttp.Request, q *structs.QueryOptions, fn readFunc) (any, error) {
	if _, ok := queryOf(r)["cached"]; !ok {
		return h.serveRead(w, r, q, fn)
	}
	cc, err := parseCacheControl(r)
	if err != nil {
		return nil, err
	}
	c := h.cache
	key := cacheKey(r, q.Token)
	c.mu.Lock()
	e := c.entries[key]
	if e == nil {
		e = &cacheEntry{changed: make(chan struct{})}
		c.entries[key] = e
	}
	c.mu.Unlock()

	// A blocking read waits for the entry to pass the client's index.
	minIndex, wait := q.MinQueryIndex, q.MaxQueryTime
	if wait <= 0 || wait > cacheWait {
		wait = 5 * time.Minute
	}

	e.mu.Lock()
	e.lastRead = time.Now()
	// staleOK: the client accepts this entry even though its refresh
	// fails (stale-if-error), as long as it is young enough.
	age := e.age()
	staleOK := e.f != nil && cc.staleIfError > 0 && age <= cc.staleIfError && !cc.mustRevalidate
	hit := e.f != nil && (e.failing == nil || staleOK)
	if hit && cc.hasMaxAge && age > cc.maxAge {
		hit = false // too old for this client: fetch anew
	}
	e.mu.Unlock()

	if !hit {
		if err := h.cacheFetch(r.Context(), e, q, fn, r); err != nil {
			if !staleOK {
				c.dropUnfilled(key, e)
				return nil, err
			}
			hit = true // the fetch failed: the stale answer it allowed
		}
	}
	if minIndex > 0 {
		timeout := time.NewTimer(wait)
		defer timeout.Stop()
		for {
			e.mu.Lock()
			idx, ch := e.f.meta.Index, e.changed
			e.mu.Unlock()
			if idx > minIndex {
				break
			}
			select {
			case <-ch:
				continue
			case <-timeout.C:
			case <-r.Context().Done():
				return nil, nil
			}
			break
		}
	}
	h.startRefresh(e, key, q, fn, r)

	e.mu.Lock()
	f, age := e.f, e.age()
	e.mu.Unlock()
	hdr := w.Header()
	if hit {
		hdr.Set("X-Cache", "HIT")
	} else {
		hdr.Set("X-Cache", "MISS")
	}
	hdr.Set("Age", strconv.Itoa(int(age/time.Second)))
	return nil, h.writeRead(w, r, q, f)
}

// age is how old the entry's answer may be: 0 while its background query
// is healthy (it follows every change), else the time since the last
// good fetch. Callers hold e.mu.
func (e *cacheEntry) age() time.Duration {
	if e.f == nil || e.failing == nil && e.started {
		return 0
	}
	return time.Since(e.fetched)
}

// cacheFetch runs the read now and stores its answer in e.
func (h *Handler) cacheFetch(ctx context.Context, e *cacheEntry, q *structs.QueryOptions, fn readFunc, r *gohttp.Request) error {
	q.MinQueryIndex, q.MaxQueryTime = 0, 0
	f := &readFlight{}
	f.fill(ctx, fn, r, &h.entries)
	if f.err != nil {
		return f.err
	}
	e.store(f)
	return nil
}

// store makes f the entry's answer and wakes whoever waits for a change.
func (e *cacheEntry) store(f *readFlight) {
	e.mu.Lock()
	defer e.mu.Unlock()
	changed := e.f == nil || f.meta.Index != e.f.meta.Index
	e.f, e.fetched, e.failing = f, time.Now(), nil
	if changed {
		close(e.changed)
		e.changed = make(chan struct{})
	}
}

// startRefresh starts the entry's background query once. It runs the
// read as a blocking query from the entry's index, on the agent's
// lifetime rather than the request's, until the entry has been idle for
// cacheIdle or the cache closes. q and fn are the first request's: the
// loop owns them from here on (the request that made them has its
// answer).
func (h *Handler) startRefresh(e *cacheEntry, key string, q *structs.QueryOptions, fn readFunc, r *gohttp.Request) {
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return
	}
	e.started = true
	e.mu.Unlock()
	c := h.cache
	// The request's context values (not its cancellation) ride along.
	ctx := context.WithoutCancel(r.Context())
	rq := r.Clone(ctx)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		h.refreshLoop(e, key, q, fn, rq)
	}()
}

func (h *Handler) refreshLoop(e *cacheEntry, key string, q *structs.QueryOptions, fn readFunc, r *gohttp.Request) {
	c := h.cache
	backoff := time.Second
	for {
		e.mu.Lock()
		idle := time.Since(e.lastRead) > cacheIdle
		idx := uint64(0)
		if e.f != nil {
			idx = e.f.meta.Index
		}
		e.mu.Unlock()
		if idle {
			c.mu.Lock()
			delete(c.entries, key)
			c.mu.Unlock()
			return
		}
		if idx == 0 {
			// A read without an index cannot block: poll it.
			select {
			case <-c.ctx.Done():
				return
			case <-time.After(cachePoll):
			}
		}
		q.MinQueryIndex, q.MaxQueryTime = idx, cacheWait
		f := &readFlight{}
		rctx, cancel := context.WithCancel(c.ctx)
		f.fill(rctx, fn, r, &h.entries)
		cancel()
		if c.ctx.Err() != nil {
			return
		}
		if f.err == nil {
			e.store(f)
			backoff = time.Second
			continue
		}
		e.mu.Lock()
		e.failing = f.err
		e.mu.Unlock()
		// Spread retries, so agents do not all come back at once.
		pause := backoff/2 + rand.N(backoff/2+1)
		backoff = min(2*backoff, cacheMaxBackoff)
		select {
		case <-c.ctx.Done():
			return
		case <-time.After(pause):
		}
	}
}
