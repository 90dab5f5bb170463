package http_test

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"

	httpapi "conclave/agent/http"
	"conclave/internal/testutil"
)

// FuzzKVPath sends arbitrary methods, key paths, query strings and bodies
// to /v1/kv/ on one real agent. The handler must never panic (its recover
// would turn a panic into a 500) and never fail with a 5xx other than the
// two Consul also answers with 500: no leader, and an unknown datacenter.
// A PUT that answered true must read back byte for byte.
func FuzzKVPath(f *testing.F) {
	for _, s := range []struct {
		method, key, query string
		body               []byte
	}{
		{"GET", "a/b", "", nil},
		{"PUT", "a/b", "flags=42", []byte("v")},
		{"PUT", "a/b", "cas=0", []byte("v")},
		{"GET", "a/", "keys&separator=/", nil},
		{"GET", "a/", "recurse&stale", nil},
		{"GET", "a/b", "raw&consistent", nil},
		{"GET", "a/b", "index=1&wait=1ms", nil},
		{"DELETE", "a/", "recurse", nil},
		{"DELETE", "a/b", "cas=7", nil},
		{"PUT", "", "", []byte("x")},
		{"PUT", "ключ/ 日本//x/../%2F", "", []byte{0, 0xff}},
		{"POST", "x", "", nil},
		{"GET", "x", "dc=other", nil},
		{"PUT", "x", "acquire=s", nil},
		{"GET", "x", "%zz;a=b&index=abc", nil},
	} {
		f.Add(s.method, s.key, s.query, s.body)
	}
	a := testutil.NewAgent(f, testutil.AgentOptions{})
	h := httpapi.New(a.HTTPBackend(), nil)

	f.Fuzz(func(t *testing.T, method, key, query string, body []byte) {
		r := httptest.NewRequest("GET", "/", bytes.NewReader(body))
		r.Method = method
		r.URL.Path = "/v1/kv/" + key
		r.URL.RawQuery = query
		if _, ok := r.URL.Query()["index"]; ok {
			// Blocking reads are covered elsewhere; here a wait would only
			// stall the fuzzer. The first wait value is the one that counts.
			r.URL.RawQuery = "wait=1ms&" + query
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)

		resp := w.Body.String()
		if w.Code >= 500 {
			_, dc := r.URL.Query()["dc"]
			// An acquire with an unknown session is Consul's 500 with
			// this text: Patroni recognises it by both and makes a new
			// session.
			_, acquire := r.URL.Query()["acquire"]
			allowed := strings.HasPrefix(resp, "No cluster leader") ||
				(dc && strings.HasPrefix(resp, "No path to datacenter")) ||
				(acquire && method == "PUT" && strings.HasPrefix(resp, "invalid session "))
			if !allowed {
				t.Fatalf("%s %q?%s = %d %q, want no 5xx", method, r.URL.Path, r.URL.RawQuery, w.Code, resp)
			}
		}
		if method != "PUT" || w.Code != 200 || resp != "true" {
			return
		}
		g := httptest.NewRequest("GET", "/", nil)
		g.URL.Path = r.URL.Path
		g.URL.RawQuery = "raw"
		gw := httptest.NewRecorder()
		h.ServeHTTP(gw, g)
		if gw.Code != 200 || !bytes.Equal(gw.Body.Bytes(), body) {
			t.Fatalf("after PUT %q = true, GET ?raw = %d %q, want 200 %q", r.URL.Path, gw.Code, gw.Body.Bytes(), body)
		}
	})
}
