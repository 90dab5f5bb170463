package dns

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"conclave/agent/structs"
)

// Why a cache: a service lookup through Agent.RPC costs an RPC dispatch
// and a state store read that builds fresh rows (about 20 µs of CPU and
// 100 allocations per query, measured with BenchmarkServiceLookupAgent),
// which alone caps a 2-core machine far below the DNS target. The cache
// keeps each (datacenter, service) result and refreshes it with a blocking
// query on the same endpoint, so a hit is a map read.
//
// Freshness: the refresher's blocking query is woken by the state store's
// watch the moment the service's rows change, and swaps in the new result
// at once. An answer from the cache is therefore never older than what a
// stale read of this agent's server would give, give or take that one
// wake-up. allow_stale and max_stale apply to the refresher as they apply
// to a direct read: an entry whose server fell more than max_stale behind
// is dropped, and lookups go back to reading directly (on the leader).
//
// Entries nobody asked for during refreshWait are dropped, and at most
// maxEntries exist, so names nobody uses do not keep queries running.

const (
	// refreshWait bounds each blocking query; an entry nobody asked for
	// during that long goes away (after at most two rounds). It also
	// bounds how long a refresher outlives Shutdown: a blocking query
	// cannot be cancelled from here.
	refreshWait = 30 * time.Second
	// maxEntries bounds the services followed at once; beyond it lookups
	// are direct reads.
	maxEntries = 1024
)

type cacheKey struct{ dc, service string }

type cacheEntry struct {
	nodes atomic.Pointer[structs.CheckServiceNodes]
	used  atomic.Bool   // asked for since the refresher last looked
	ready chan struct{} // closed once nodes holds the first result
	err   error         // the first read's error, when nodes stays nil
}

type serviceCache struct {
	s      *Server
	logger hclog.Logger

	mu      sync.RWMutex
	entries map[cacheKey]*cacheEntry
	closed  bool

	stop chan struct{}
}

func newServiceCache(s *Server, logger hclog.Logger) *serviceCache {
	return &serviceCache{s: s, logger: logger, entries: map[cacheKey]*cacheEntry{}, stop: make(chan struct{})}
}

// peek returns the instances of service in dc if the cache has them, and
// never blocks.
func (c *serviceCache) peek(dc, service string) (structs.CheckServiceNodes, bool) {
	c.mu.RLock()
	e := c.entries[cacheKey{dc, service}]
	c.mu.RUnlock()
	if e == nil {
		return nil, false
	}
	nodes := e.nodes.Load()
	if nodes == nil {
		return nil, false
	}
	if !e.used.Load() { // a load is cheaper than a store on a shared line
		e.used.Store(true)
	}
	return *nodes, true
}

// get returns the instances of service in dc: from the cache when it
// follows them, else by a direct read, after which it follows them.
func (c *serviceCache) get(dc, service string) (structs.CheckServiceNodes, error) {
	key := cacheKey{dc, service}
	c.mu.RLock()
	e := c.entries[key]
	c.mu.RUnlock()
	if e != nil {
		if nodes, ok := c.peek(dc, service); ok {
			return nodes, nil
		}
		// Someone else is making the first read: share its result.
		select {
		case <-e.ready:
			if nodes := e.nodes.Load(); nodes != nil {
				return *nodes, nil
			}
			return nil, e.err
		case <-c.stop:
			return c.s.readService(dc, service, 0)
		}
	}

	c.mu.Lock()
	if e = c.entries[key]; e == nil && !c.closed && len(c.entries) < maxEntries {
		e = &cacheEntry{ready: make(chan struct{})}
		c.entries[key] = e
		c.mu.Unlock()
		return c.fill(key, e)
	}
	c.mu.Unlock()
	if e != nil {
		return c.get(dc, service) // lost the race to create it
	}
	return c.s.readService(dc, service, 0)
}

// fill makes an entry's first read and starts its refresher.
func (c *serviceCache) fill(key cacheKey, e *cacheEntry) (structs.CheckServiceNodes, error) {
	out, err := c.s.readServiceIndexed(key.dc, key.service, 0)
	if err != nil {
		e.err = err
		c.drop(key, e)
		close(e.ready)
		return nil, err
	}
	nodes := out.Nodes
	e.nodes.Store(&nodes)
	close(e.ready)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.drop(key, e)
		return nodes, nil
	}
	c.mu.Unlock()
	go c.refresh(key, e, out.Index)
	return nodes, nil
}

// refresh follows one entry with blocking queries until it goes idle, a
// read fails, or the cache closes.
func (c *serviceCache) refresh(key cacheKey, e *cacheEntry, index uint64) {
	defer c.drop(key, e)
	lastUsed := time.Now()
	for {
		out, err := c.s.readServiceIndexed(key.dc, key.service, max(index, 1)) // 0 would not block
		select {
		case <-c.stop:
			return
		default:
		}
		if err != nil {
			c.logger.Debug("dns: service cache refresh failed; dropping the entry", "service", key.service, "dc", key.dc, "error", err)
			return
		}
		if out.Index != index {
			nodes := out.Nodes
			e.nodes.Store(&nodes)
			index = out.Index
		}
		now := time.Now()
		if e.used.Swap(false) {
			lastUsed = now
		} else if now.Sub(lastUsed) >= refreshWait {
			return // nobody asked for a whole round
		}
	}
}

// drop removes e if it is still the entry for key.
func (c *serviceCache) drop(key cacheKey, e *cacheEntry) {
	c.mu.Lock()
	if c.entries[key] == e {
		delete(c.entries, key)
	}
	c.mu.Unlock()
}

// close stops every refresher. Blocking queries in flight end when the
// agent's server shuts down or their wait runs out; close does not wait
// for them.
func (c *serviceCache) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	close(c.stop)
}

// flush forgets every entry: the next lookup reads afresh. Refreshers of
// the old entries run on until their entry goes idle, writing only to it.
func (c *serviceCache) flush() {
	c.mu.Lock()
	c.entries = map[cacheKey]*cacheEntry{}
	c.mu.Unlock()
}

// FlushCache forgets the cached service instances. The agent calls it
// when its default token changes: the cache holds answers read with the
// old token, and ACL changes do not wake its blocking queries.
func (s *Server) FlushCache() {
	if s.cache != nil {
		s.cache.flush()
	}
}
