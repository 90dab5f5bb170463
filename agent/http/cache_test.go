package http

import (
	"context"
	"errors"
	gohttp "net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"conclave/agent/structs"
	"conclave/internal/retry"
)

func TestParseCacheControl(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header string
		want   cacheControl
		bad    bool
	}{
		{"", cacheControl{}, false},
		{"max-age=30", cacheControl{maxAge: 30 * time.Second, hasMaxAge: true}, false},
		{"max-age=0, stale-if-error=600", cacheControl{hasMaxAge: true, staleIfError: 10 * time.Minute}, false},
		{"must-revalidate, no-transform", cacheControl{mustRevalidate: true}, false},
		{"max-age=soon", cacheControl{}, true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(gohttp.MethodGet, "/v1/health/service/web?cached", nil)
		if tt.header != "" {
			r.Header.Set("Cache-Control", tt.header)
		}
		got, err := parseCacheControl(r)
		if (err != nil) != tt.bad || !tt.bad && got != tt.want {
			t.Errorf("parseCacheControl(%q) = %+v, %v; want %+v, error %t", tt.header, got, err, tt.want, tt.bad)
		}
	}
}

// Requests that differ only in what concerns the request itself (the
// index and wait of a blocking read, ?pretty, ?cached) share an entry;
// anything that changes the answer does not.
func TestCacheKey(t *testing.T) {
	t.Parallel()
	key := func(target, token string) string {
		return cacheKey(httptest.NewRequest(gohttp.MethodGet, target, nil), token)
	}
	base := key("/v1/health/service/web?cached&passing", "")
	if k := key("/v1/health/service/web?passing&cached&index=7&wait=1m&pretty", ""); k != base {
		t.Errorf("cacheKey with index, wait and pretty = %q, want %q", k, base)
	}
	for _, other := range []struct{ target, token string }{
		{"/v1/health/service/web?cached", ""},
		{"/v1/health/service/web?cached&passing&dc=dc2", ""},
		{"/v1/health/service/api?cached&passing", ""},
		{"/v1/health/service/web?cached&passing", "secret"},
	} {
		if k := key(other.target, other.token); k == base {
			t.Errorf("cacheKey(%q, %q) = the key of %q", other.target, other.token, "/v1/health/service/web?cached&passing")
		}
	}
}

// fakeRead is a read whose first call answers index 5 and whose later
// calls fail, as a refresh does when the servers are gone.
type fakeRead struct {
	mu    sync.Mutex
	calls int
}

func (f *fakeRead) read(ctx context.Context) (any, *structs.QueryMeta, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls == 1 {
		return []string{"a"}, &structs.QueryMeta{Index: 5}, nil
	}
	return nil, nil, errors.New("No known Consul servers")
}

// An entry whose background refresh fails is served only to a client that
// allows it (stale-if-error), as Consul's cache does; others get the
// error. max-age asks for a fresh fetch, which then fails too.
func TestCacheStaleIfError(t *testing.T) {
	t.Parallel()
	h := New(nil, nil)
	t.Cleanup(h.Close)
	f := &fakeRead{}
	get := func(cacheControl string) (*httptest.ResponseRecorder, error) {
		r := httptest.NewRequest(gohttp.MethodGet, "/v1/catalog/services?cached", nil)
		if cacheControl != "" {
			r.Header.Set("Cache-Control", cacheControl)
		}
		w := httptest.NewRecorder()
		_, err := h.serveCachedRead(w, r, &structs.QueryOptions{}, f.read)
		return w, err
	}
	if w, err := get(""); err != nil || w.Header().Get("X-Cache") != "MISS" {
		t.Fatalf("first read = %v, X-Cache %q; want a MISS", err, w.Header().Get("X-Cache"))
	}
	// Wait until the background refresh has failed once.
	retry.Run(t, 10*time.Second, func() error {
		h.cache.mu.Lock()
		defer h.cache.mu.Unlock()
		for _, e := range h.cache.entries {
			e.mu.Lock()
			failing := e.failing
			e.mu.Unlock()
			if failing != nil {
				return nil
			}
		}
		return errors.New("the refresh has not failed yet")
	})
	if w, err := get("stale-if-error=600"); err != nil || w.Header().Get("X-Cache") != "HIT" || w.Body.String() != `["a"]` {
		t.Errorf("read with stale-if-error = %v, X-Cache %q, %q; want the stale HIT", err, w.Header().Get("X-Cache"), w.Body.String())
	}
	if _, err := get("max-age=0, stale-if-error=600"); err != nil {
		t.Errorf("read with max-age=0, stale-if-error = %v; want the stale answer after the failed fetch", err)
	}
	if _, err := get(""); err == nil {
		t.Errorf("read without stale-if-error of a failing entry = nil error, want the fetch's error")
	}
	if _, err := get("stale-if-error=600, must-revalidate"); err == nil {
		t.Errorf("read with must-revalidate of a failing entry = nil error, want the fetch's error")
	}
}
