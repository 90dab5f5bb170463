package http

import (
	"errors"
	gohttp "net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"conclave/agent/structs"
)

func newQueryRequest(rawQuery string, hdr map[string]string) *gohttp.Request {
	r := httptest.NewRequest("GET", "/v1/kv/k", nil)
	r.URL.RawQuery = rawQuery
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return r
}

func TestParseQuery(t *testing.T) {
	t.Parallel()
	cases := []struct {
		query   string
		hdr     map[string]string
		want    structs.QueryOptions
		wantErr string
	}{
		{query: "", want: structs.QueryOptions{}},
		{query: "stale", want: structs.QueryOptions{AllowStale: true}},
		{query: "stale=false", want: structs.QueryOptions{AllowStale: true}}, // presence counts, as in Consul
		{query: "consistent", want: structs.QueryOptions{RequireConsistent: true}},
		{query: "index=42&wait=30s", want: structs.QueryOptions{MinQueryIndex: 42, MaxQueryTime: 30 * time.Second}},
		{query: "index=18446744073709551615", want: structs.QueryOptions{MinQueryIndex: 1<<64 - 1}},
		{query: "index=", want: structs.QueryOptions{}},
		{query: "wait=1m30s", want: structs.QueryOptions{MaxQueryTime: 90 * time.Second}},
		{query: "wait=0s", want: structs.QueryOptions{}},
		{query: "filter=Key+%3D%3D+%22a%22", want: structs.QueryOptions{Filter: `Key == "a"`}},
		{query: "token=q", want: structs.QueryOptions{Token: "q"}},
		{query: "token=q", hdr: map[string]string{"Authorization": "Bearer  b "}, want: structs.QueryOptions{Token: "b"}},
		{query: "token=q", hdr: map[string]string{"X-Consul-Token": "x", "Authorization": "Bearer b"}, want: structs.QueryOptions{Token: "x"}},
		{query: "token=q", hdr: map[string]string{"Authorization": "Basic b"}, want: structs.QueryOptions{Token: "q"}},
		{query: "index=1&index=abc", want: structs.QueryOptions{MinQueryIndex: 1}}, // the first value wins

		{query: "stale&consistent", wantErr: "Cannot specify ?stale with ?consistent, conflicting semantics."},
		{query: "index=abc", wantErr: `Invalid index: "abc" is not an unsigned integer`},
		{query: "index=-1", wantErr: `Invalid index: "-1" is not an unsigned integer`},
		{query: "index=18446744073709551616", wantErr: `Invalid index: "18446744073709551616" is not an unsigned integer`},
		{query: "wait=xyz", wantErr: `Invalid wait time: "xyz" (use a duration such as 30s or 5m)`},
		{query: "wait=10", wantErr: `Invalid wait time: "10" (use a duration such as 30s or 5m)`},
		{query: "wait=-5s", wantErr: `Invalid wait time: "-5s" (use a duration such as 30s or 5m)`},
	}
	for _, tc := range cases {
		var got structs.QueryOptions
		err := parseQuery(newQueryRequest(tc.query, tc.hdr), &got)
		if tc.wantErr != "" {
			if err == nil || structs.ErrorKind(err) != structs.KindBadRequest || err.Error() != tc.wantErr {
				t.Errorf("parseQuery(%q) = %v, want 400 %q", tc.query, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseQuery(%q, %v) = %+v, %v, want %+v", tc.query, tc.hdr, got, err, tc.want)
		}
	}
}

// FuzzParseQuery checks that any query string either parses into options
// that agree with it, or is refused with a 400 for a reason it shows.
func FuzzParseQuery(f *testing.F) {
	for _, seed := range []string{
		"", "stale", "consistent", "stale&consistent", "index=5&wait=10s", "index=abc",
		"wait=-1s", "wait=1h&index=18446744073709551615", "filter=a%20b&token=t",
		"index=%31%32", "a=1;b=2", "%zz", "wait=1e3s", "index=+1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := newQueryRequest(raw, nil)
		vals := r.URL.Query()
		var q structs.QueryOptions
		err := parseQuery(r, &q)

		_, stale := vals["stale"]
		_, consistent := vals["consistent"]
		index, indexErr := strconv.ParseUint(vals.Get("index"), 10, 64)
		if vals.Get("index") == "" {
			index, indexErr = 0, nil
		}
		wait, waitErr := time.ParseDuration(vals.Get("wait"))
		switch {
		case vals.Get("wait") == "":
			wait, waitErr = 0, nil
		case waitErr == nil && wait < 0:
			waitErr = errors.New("negative")
		}

		if err != nil {
			if structs.ErrorKind(err) != structs.KindBadRequest {
				t.Fatalf("parseQuery(%q) = %v, want a 400 error", raw, err)
			}
			if !(stale && consistent) && indexErr == nil && waitErr == nil {
				t.Fatalf("parseQuery(%q) = %v, but nothing in it is invalid", raw, err)
			}
			return
		}
		if stale && consistent || indexErr != nil || waitErr != nil {
			t.Fatalf("parseQuery(%q) accepted an invalid query: %+v", raw, q)
		}
		want := structs.QueryOptions{
			Token:             vals.Get("token"),
			MinQueryIndex:     index,
			MaxQueryTime:      wait,
			AllowStale:        stale,
			RequireConsistent: consistent,
			Filter:            vals.Get("filter"),
		}
		if q != want {
			t.Fatalf("parseQuery(%q) = %+v, want %+v", raw, q, want)
		}
	})
}

// FuzzTokenHeader: whatever the headers and query say, token() never
// panics and takes X-Consul-Token first, then a Bearer token (trimmed),
// then ?token, as Consul does.
func FuzzTokenHeader(f *testing.F) {
	f.Add("x", "Bearer b", "token=q")
	f.Add("", "Bearer  b ", "token=q")
	f.Add("", "Basic b", "token=%zz")
	f.Add("", "", "token=a&token=b")
	f.Fuzz(func(t *testing.T, xToken, authz, rawQuery string) {
		r := httptest.NewRequest("GET", "/v1/kv/k", nil)
		r.URL.RawQuery = rawQuery
		r.Header["X-Consul-Token"] = []string{xToken}
		r.Header["Authorization"] = []string{authz}
		got := token(r)
		bearer, isBearer := strings.CutPrefix(authz, "Bearer ")
		switch {
		case xToken != "":
			if got != xToken {
				t.Errorf("token(X-Consul-Token %q) = %q, want the header", xToken, got)
			}
		case isBearer:
			if got != strings.TrimSpace(bearer) {
				t.Errorf("token(Authorization %q) = %q, want %q", authz, got, strings.TrimSpace(bearer))
			}
		case got != queryOf(r).Get("token"):
			t.Errorf("token(?%s) = %q, want ?token's %q", rawQuery, got, queryOf(r).Get("token"))
		}
	})
}
