package http

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	gohttp "net/http"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"conclave/agent/structs"
)

// readFlights coalesces identical blocking reads. A thousand clients
// watching one service send the same request (path, query, index, token);
// without sharing, a change wakes a thousand RPCs that each read the
// service, encode it to JSON and compress it. With sharing, the first
// request of a kind runs the RPC and everyone who asked the same thing
// while it was waiting gets the very bytes it produced.
//
// A request joins a flight only while the flight's RPC is running. The
// RPC may make its last read of the state a moment before a joiner
// arrives; the joiner then still gets an index past the one it asked
// with, which is all a blocking query promises, and its next query sees
// anything later. Reads without ?index are never shared: they must see
// every write that completed before them.
type readFlights struct {
	mu sync.Mutex
	m  map[string]*readFlight
}

type readFlight struct {
	done chan struct{}
	// waiters counts the requests still waiting for the flight (under
	// readFlights.mu); the last one to hang up cancels the RPC, so a
	// blocking query ends when nobody is left to answer, not earlier.
	waiters int
	cancel  context.CancelFunc
	// Set before done is closed, read-only afterwards.
	meta structs.QueryMeta
	body []byte
	err  error
	// missing: the read found nothing (absent); raw: body is a value as
	// it is (rawValue), not JSON.
	missing, raw bool

	gzOnce sync.Once
	gz     []byte
}

// join returns the flight for key, counting the caller as one of its
// waiters. The first caller starts the flight: its RPC runs on its own
// goroutine, under a context that outlives any one waiter (ctx's values,
// not its cancellation) and ends when the last waiter leaves.
func (rf *readFlights) join(ctx context.Context, key string, fn readFunc, r *gohttp.Request, memo *entryMemo) *readFlight {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	if f, ok := rf.m[key]; ok {
		f.waiters++
		return f
	}
	if rf.m == nil {
		rf.m = map[string]*readFlight{}
	}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := &readFlight{done: make(chan struct{}), waiters: 1, cancel: cancel}
	rf.m[key] = f
	go func() {
		f.fill(fctx, fn, r, memo)
		cancel()
		rf.mu.Lock()
		if rf.m[key] == f {
			delete(rf.m, key)
		}
		rf.mu.Unlock()
		close(f.done)
	}()
	return f
}

// leave drops a waiter that hung up; the last one cancels the flight and
// stops others from joining it.
func (rf *readFlights) leave(key string, f *readFlight) {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	if f.waiters--; f.waiters > 0 {
		return
	}
	f.cancel()
	if rf.m[key] == f {
		delete(rf.m, key)
	}
}

// gzipLevel trades CPU for bytes. Compression runs once per flight while
// the bytes go to every waiter. On a 5,000-instance health reply (3.4 MB
// of JSON) level 1 gives 257 KB in 22 ms, level 2 187 KB in 32 ms, the
// default 171 KB in 44 ms: level 2 buys most of the saving.
const gzipLevel = 2

// gzipped compresses the body once, for every client that accepts gzip.
func (f *readFlight) gzipped() []byte {
	f.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzipLevel)
		_, _ = zw.Write(f.body)
		_ = zw.Close()
		f.gz = buf.Bytes()
	})
	return f.gz
}

// readFunc makes the RPC of a read with ctx and returns the value to
// encode and the reply's meta. Two values are not JSON: absent and
// rawValue.
type readFunc func(ctx context.Context) (any, *structs.QueryMeta, error)

// absent is the value of a read that found nothing where Consul answers
// 404 with the read's headers and no body (a missing KV key, an empty KV
// prefix), so a client can block on the index of the absence.
type absent struct{}

// rawValue is a value sent as it is (KV's ?raw). It is the user's bytes:
// it goes out as text/plain with nosniff, so no browser sniffs it into
// something executable.
type rawValue []byte

// serveRead runs a read and writes its reply: JSON (or a raw value) with
// the X-Consul-* headers, gzip-compressed when the client accepts it (as
// Consul's API does). Every catalog, health and KV read goes through
// here, so all of them answer blocking queries, headers, gzip and hang-ups
// alike. Blocking reads are shared as readFlights describes.
func (h *Handler) serveRead(w gohttp.ResponseWriter, r *gohttp.Request, q *structs.QueryOptions, fn readFunc) (any, error) {
	var f *readFlight
	if q.MinQueryIndex == 0 {
		f = &readFlight{}
		f.fill(r.Context(), fn, r, &h.entries)
	} else {
		key := r.URL.Path + "?" + r.URL.RawQuery + "\x00" + q.Token
		f = h.reads.join(r.Context(), key, fn, r, &h.entries)
		select {
		case <-f.done:
		case <-r.Context().Done():
			h.reads.leave(key, f)
			return nil, nil // the client left; nobody to answer
		}
	}
	return nil, h.writeRead(w, r, q, f)
}

// writeRead writes a read's answer: its error, or the X-Consul-* headers
// and the body (gzip-compressed when the client accepts it).
func (h *Handler) writeRead(w gohttp.ResponseWriter, r *gohttp.Request, q *structs.QueryOptions, f *readFlight) error {
	if f.err != nil {
		return f.err
	}
	setMeta(w, q, &f.meta)
	if f.missing {
		w.WriteHeader(gohttp.StatusNotFound)
		return nil
	}
	hdr := w.Header()
	if f.raw {
		hdr["Content-Type"] = textPlain
		hdr["X-Content-Type-Options"] = noSniff
	} else {
		hdr["Content-Type"] = appJSON
	}
	hdr["Vary"] = varyEncoding
	body := f.body
	if len(body) >= gzipMinSize && acceptsGzip(r) {
		body = f.gzipped()
		hdr["Content-Encoding"] = gzipEncoding
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
	return nil
}

// Header values of every read, in canonical form and shared, so a read
// allocates none of them: net/http only reads them, and a slice literal
// has no room for an append to write into.
var (
	appJSON      = []string{"application/json"}
	textPlain    = []string{"text/plain; charset=utf-8"}
	noSniff      = []string{"nosniff"}
	varyEncoding = []string{"Accept-Encoding"}
	gzipEncoding = []string{"gzip"}
)

// gzipMinSize: below this, compressing costs more than it saves.
const gzipMinSize = 1024

// fill runs the RPC and encodes its result.
func (f *readFlight) fill(ctx context.Context, fn readFunc, r *gohttp.Request, memo *entryMemo) {
	out, meta, err := fn(ctx)
	if err != nil {
		f.err = err
		return
	}
	f.meta = *meta
	_, pretty := queryOf(r)["pretty"]
	switch v := out.(type) {
	case absent:
		f.missing = true
		return
	case rawValue:
		f.body, f.raw = v, true
		return
	}
	switch list, ok := out.(structs.CheckServiceNodes); {
	case pretty:
		f.body, err = json.MarshalIndent(out, "", "    ")
	case ok:
		f.body, err = memo.encode(r.URL.Path, list)
	default:
		f.body, err = json.Marshal(out)
	}
	if err != nil {
		f.err = fmt.Errorf("encode response: %w", err)
	}
}

// entryMemo keeps the JSON of each /v1/health/service entry from the last
// reply of each path. The state store hands out the same immutable Node,
// Service and Checks for an instance until something about it changes
// (state.healthMemo), so their identity names one exact encoding: after a
// check flip on a service of 5,000 instances, one entry is encoded and
// 4,999 are copied. A reply that crossed the network between agents has
// fresh pointers and is simply encoded in full.
type entryMemo struct {
	mu sync.Mutex
	m  map[string]map[entryKey][]byte
}

// entryKey identifies an entry by its parts. Holding the pointers keeps
// them alive, so an address is never reused for other content while it is
// a key.
type entryKey struct {
	node    *structs.Node
	service *structs.NodeService
	checks  **structs.HealthCheck // the Checks slice's array
	n       int
}

// maxMemoPaths bounds the memo: past it, it starts over.
const maxMemoPaths = 512

// encode returns exactly what json.Marshal(list) would.
func (em *entryMemo) encode(path string, list structs.CheckServiceNodes) ([]byte, error) {
	em.mu.Lock()
	old := em.m[path]
	em.mu.Unlock()
	next := make(map[entryKey][]byte, len(list))
	size := 2
	for _, b := range old {
		size += len(b) + 1
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	buf.WriteByte('[')
	for i, e := range list {
		k := entryKey{node: e.Node, service: e.Service, checks: unsafe.SliceData(e.Checks), n: len(e.Checks)}
		b, ok := old[k]
		if !ok {
			var err error
			if b, err = json.Marshal(e); err != nil {
				return nil, err
			}
		}
		next[k] = b
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(b)
	}
	buf.WriteByte(']')
	em.mu.Lock()
	defer em.mu.Unlock()
	switch {
	case len(next) == 0:
		delete(em.m, path)
	default:
		if em.m == nil || len(em.m) >= maxMemoPaths {
			em.m = map[string]map[entryKey][]byte{}
		}
		em.m[path] = next
	}
	return buf.Bytes(), nil
}

// acceptsGzip tells whether the client listed gzip in Accept-Encoding
// (Go's HTTP client, and so the official Consul client, always does).
func acceptsGzip(r *gohttp.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
				continue
			}
			if q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok && q == "0" {
				return false
			}
			return true
		}
	}
	return false
}
