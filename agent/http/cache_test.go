package http

import (
	gohttp "net/http"
	"net/http/httptest"
	"testing"
	"time"
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
