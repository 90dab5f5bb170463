package http_test

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"

	"conclave/agent/structs"
	"conclave/internal/testutil"
)

// TestKV runs every /v1/kv case against one agent. Each case works under its
// own key prefix, so they run in parallel.
func TestKV(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := newClient(a)

	t.Run("get missing key", func(t *testing.T) {
		t.Parallel()
		r := c.get(t, "/v1/kv/missing/key")
		r.want(t, "GET missing", 404, "")
		r.index(t)
		r.wantReadHeaders(t, "GET missing")
		if got := r.header.Get("X-Consul-Effective-Consistency"); got != "leader" {
			t.Errorf("X-Consul-Effective-Consistency = %q, want leader", got)
		}
	})

	t.Run("put then get", func(t *testing.T) {
		t.Parallel()
		r := c.put(t, "/v1/kv/pg/key", "hello")
		r.want(t, "PUT", 200, "true")
		if got := r.header.Get("Content-Type"); got != "application/json" {
			t.Errorf("PUT Content-Type = %q, want application/json", got)
		}
		g := c.get(t, "/v1/kv/pg/key")
		idx := g.index(t)
		g.want(t, "GET", 200, entriesJSON(t, kvJSON{Key: "pg/key", Value: []byte("hello"), CreateIndex: idx, ModifyIndex: idx}))
		g.wantReadHeaders(t, "GET")

		// An update keeps CreateIndex and moves ModifyIndex and the index.
		c.mustPut(t, "/v1/kv/pg/key", "again")
		g2 := c.get(t, "/v1/kv/pg/key")
		idx2 := g2.index(t)
		if idx2 <= idx {
			t.Errorf("X-Consul-Index after update = %d, want > %d", idx2, idx)
		}
		g2.want(t, "GET after update", 200, entriesJSON(t, kvJSON{Key: "pg/key", Value: []byte("again"), CreateIndex: idx, ModifyIndex: idx2}))
	})

	t.Run("empty value is null", func(t *testing.T) {
		t.Parallel()
		c.mustPut(t, "/v1/kv/empty/key", "")
		g := c.get(t, "/v1/kv/empty/key")
		idx := g.index(t)
		g.want(t, "GET", 200, fmt.Sprintf(`[{"LockIndex":0,"Key":"empty/key","Flags":0,"Value":null,"CreateIndex":%d,"ModifyIndex":%d}]`, idx, idx))
		c.get(t, "/v1/kv/empty/key?raw").want(t, "GET ?raw", 200, "")
	})

	t.Run("raw", func(t *testing.T) {
		t.Parallel()
		val := "<script>alert(1)</script>\x00\xff"
		c.mustPut(t, "/v1/kv/raw/key", val)
		r := c.get(t, "/v1/kv/raw/key?raw")
		r.want(t, "GET ?raw", 200, val)
		if got := r.header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
			t.Errorf("GET ?raw Content-Type = %q, want text/plain; charset=utf-8", got)
		}
		if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET ?raw X-Content-Type-Options = %q, want nosniff", got)
		}
		r.wantReadHeaders(t, "GET ?raw")
		c.get(t, "/v1/kv/raw/missing?raw").want(t, "GET ?raw missing", 404, "")
	})

	t.Run("keys and separator", func(t *testing.T) {
		t.Parallel()
		for _, k := range []string{"a/b", "a/c/d", "a/c/e", "ab", "b"} {
			c.mustPut(t, "/v1/kv/ks/"+k, k)
		}
		for _, tc := range []struct {
			path   string
			status int
			body   string
		}{
			{"/v1/kv/ks/a/?keys&separator=/", 200, `["ks/a/b","ks/a/c/"]`},
			{"/v1/kv/ks/a/?keys", 200, `["ks/a/b","ks/a/c/d","ks/a/c/e"]`},
			{"/v1/kv/ks/?keys&separator=/", 200, `["ks/a/","ks/ab","ks/b"]`},
			{"/v1/kv/ks/a?keys&separator=/", 200, `["ks/a/","ks/ab"]`},
			{"/v1/kv/ks/?keys=&separator=%2F", 200, `["ks/a/","ks/ab","ks/b"]`},
			{"/v1/kv/ks/nothing/?keys", 404, ""},
			// ?keys wins over ?recurse, as in Consul.
			{"/v1/kv/ks/a/?keys&recurse&separator=/", 200, `["ks/a/b","ks/a/c/"]`},
		} {
			r := c.get(t, tc.path)
			r.want(t, "GET "+tc.path, tc.status, tc.body)
			r.wantReadHeaders(t, "GET "+tc.path)
		}
	})

	t.Run("recurse", func(t *testing.T) {
		t.Parallel()
		c.mustPut(t, "/v1/kv/rec/b", "2")
		c.mustPut(t, "/v1/kv/rec/a", "1")
		c.mustPut(t, "/v1/kv/recx", "no")
		ga := c.get(t, "/v1/kv/rec/a")
		gb := c.get(t, "/v1/kv/rec/b")
		ia, ib := ga.index(t), gb.index(t)
		r := c.get(t, "/v1/kv/rec/?recurse")
		r.want(t, "GET ?recurse", 200, entriesJSON(t,
			kvJSON{Key: "rec/a", Value: []byte("1"), CreateIndex: ia, ModifyIndex: ia},
			kvJSON{Key: "rec/b", Value: []byte("2"), CreateIndex: ib, ModifyIndex: ib},
		))
		if got := r.index(t); got != max(ia, ib) {
			t.Errorf("GET ?recurse X-Consul-Index = %d, want %d", got, max(ia, ib))
		}
		r.wantReadHeaders(t, "GET ?recurse")
		e := c.get(t, "/v1/kv/rec/nothing/?recurse")
		e.want(t, "GET ?recurse on an empty prefix", 404, "")
		e.wantReadHeaders(t, "GET ?recurse empty")
	})

	t.Run("cas", func(t *testing.T) {
		t.Parallel()
		c.put(t, "/v1/kv/cas/k?cas=0", "first").want(t, "PUT ?cas=0 (new)", 200, "true")
		c.put(t, "/v1/kv/cas/k?cas=0", "second").want(t, "PUT ?cas=0 (exists)", 200, "false")
		g := c.get(t, "/v1/kv/cas/k")
		idx := g.index(t)
		c.get(t, "/v1/kv/cas/k?raw").want(t, "GET after create-only", 200, "first")

		c.put(t, fmt.Sprintf("/v1/kv/cas/k?cas=%d", idx+1000), "stale").want(t, "PUT ?cas=wrong", 200, "false")
		c.put(t, fmt.Sprintf("/v1/kv/cas/k?cas=%d", idx), "third").want(t, "PUT ?cas=current", 200, "true")
		c.put(t, fmt.Sprintf("/v1/kv/cas/k?cas=%d", idx), "fourth").want(t, "PUT ?cas=old", 200, "false")
		c.get(t, "/v1/kv/cas/k?raw").want(t, "GET after cas", 200, "third")

		c.put(t, "/v1/kv/cas/k?cas=abc", "x").want(t, "PUT ?cas=abc", 400, "*")
		c.put(t, "/v1/kv/cas/k?cas=", "x").want(t, "PUT ?cas=", 400, "*")
	})

	t.Run("flags", func(t *testing.T) {
		t.Parallel()
		c.put(t, "/v1/kv/flags/k?flags=42", "v").want(t, "PUT ?flags=42", 200, "true")
		g := c.get(t, "/v1/kv/flags/k")
		idx := g.index(t)
		g.want(t, "GET", 200, entriesJSON(t, kvJSON{Key: "flags/k", Flags: 42, Value: []byte("v"), CreateIndex: idx, ModifyIndex: idx}))

		c.put(t, "/v1/kv/flags/k?flags=18446744073709551615", "v").want(t, "PUT max flags", 200, "true")
		g = c.get(t, "/v1/kv/flags/k")
		if !strings.Contains(g.body, `"Flags":18446744073709551615`) {
			t.Errorf("GET body = %s, want Flags 18446744073709551615", g.body)
		}
		for _, bad := range []string{"abc", "-1", "1.5", "18446744073709551616"} {
			r := c.put(t, "/v1/kv/flags/k?flags="+bad, "v")
			r.want(t, "PUT ?flags="+bad, 400, "*")
			if !strings.Contains(r.body, "Invalid flags") {
				t.Errorf("PUT ?flags=%s body = %q, want it to name the flags", bad, r.body)
			}
		}
		c.get(t, "/v1/kv/flags/k?raw").want(t, "value after refused PUTs", 200, "v")
	})

	t.Run("bad query parameters", func(t *testing.T) {
		t.Parallel()
		c.mustPut(t, "/v1/kv/badq/k", "v")
		for _, path := range []string{
			"/v1/kv/badq/k?index=abc",
			"/v1/kv/badq/k?index=-1",
			"/v1/kv/badq/k?index=1&wait=xyz",
			"/v1/kv/badq/k?wait=xyz",
			"/v1/kv/badq/k?wait=-1s",
			"/v1/kv/badq/k?wait=10",
			"/v1/kv/badq/k?stale&consistent",
			"/v1/kv/badq/?recurse&stale&consistent",
			"/v1/kv/badq/?keys&index=x",
		} {
			c.get(t, path).want(t, "GET "+path, 400, "*")
		}
		c.get(t, "/v1/kv/badq/k?stale&consistent").want(t, "GET ?stale&consistent", 400,
			"Cannot specify ?stale with ?consistent, conflicting semantics.\n")
	})

	t.Run("consistency modes", func(t *testing.T) {
		t.Parallel()
		c.mustPut(t, "/v1/kv/modes/k", "v")
		for q, want := range map[string]string{"": "leader", "?stale": "stale", "?consistent": "consistent"} {
			r := c.get(t, "/v1/kv/modes/k"+q)
			r.want(t, "GET "+q, 200, "*")
			r.wantReadHeaders(t, "GET "+q)
			if got := r.header.Get("X-Consul-Effective-Consistency"); got != want {
				t.Errorf("GET %s X-Consul-Effective-Consistency = %q, want %q", q, got, want)
			}
		}
	})

	t.Run("value size limit", func(t *testing.T) {
		t.Parallel()
		limit := structs.MaxKVSize
		c.put(t, "/v1/kv/big/fits", strings.Repeat("x", limit)).want(t, "PUT 512 KiB", 200, "true")
		if r := c.get(t, "/v1/kv/big/fits?raw"); r.status != 200 || len(r.body) != limit {
			t.Errorf("GET ?raw = %d with %d bytes, want 200 with %d", r.status, len(r.body), limit)
		}

		over := bytes.Repeat([]byte("y"), limit+1)
		c.do(t, "PUT", "/v1/kv/big/over", bytes.NewReader(over)).want(t, "PUT 512 KiB + 1 (with Content-Length)", 413, "*")
		// io.MultiReader hides the length, so the body goes out chunked and
		// the handler must count what it reads.
		chunked := io.MultiReader(bytes.NewReader(over))
		c.do(t, "PUT", "/v1/kv/big/over", chunked).want(t, "PUT 512 KiB + 1 (chunked)", 413, "*")
		c.get(t, "/v1/kv/big/over").want(t, "GET after refused PUTs", 404, "")
	})

	t.Run("methods and missing keys", func(t *testing.T) {
		t.Parallel()
		r := c.do(t, "POST", "/v1/kv/meth/x", strings.NewReader("v"))
		r.want(t, "POST /v1/kv/x", 405, "*")
		if got := r.header.Get("Allow"); got != "GET, PUT, DELETE" {
			t.Errorf("POST Allow = %q, want \"GET, PUT, DELETE\"", got)
		}
		c.do(t, "PATCH", "/v1/kv/meth/x", nil).want(t, "PATCH", 405, "*")
		c.put(t, "/v1/kv/", "v").want(t, "PUT /v1/kv/", 400, "Missing key name\n")
		c.get(t, "/v1/kv/").want(t, "GET /v1/kv/", 400, "Missing key name\n")
		c.del(t, "/v1/kv/").want(t, "DELETE /v1/kv/", 400, "Missing key name\n")
		c.get(t, "/v1/kv").want(t, "GET /v1/kv", 404, "*")
		c.get(t, "/v1/nope").want(t, "GET /v1/nope", 404, "*")
	})

	t.Run("unknown sessions", func(t *testing.T) {
		t.Parallel()
		// Consul's answers, which Patroni tells apart by status and text.
		c.put(t, "/v1/kv/sess/k?acquire=abc", "v").want(t, "PUT ?acquire", 500, "invalid session \"abc\"\n")
		c.put(t, "/v1/kv/sess/k?release=abc", "v").want(t, "PUT ?release", 200, "false")
		c.put(t, "/v1/kv/sess/k?acquire=", "v").want(t, "PUT ?acquire=", 400, "Missing session\n")
		c.get(t, "/v1/kv/sess/k").want(t, "GET after refused lock", 404, "")
	})

	t.Run("delete", func(t *testing.T) {
		t.Parallel()
		c.mustPut(t, "/v1/kv/del/one", "1")
		c.del(t, "/v1/kv/del/one").want(t, "DELETE", 200, "true")
		c.get(t, "/v1/kv/del/one").want(t, "GET after DELETE", 404, "")
		c.del(t, "/v1/kv/del/never").want(t, "DELETE missing key", 200, "true")
	})

	t.Run("delete recurse", func(t *testing.T) {
		t.Parallel()
		for _, k := range []string{"tree/a", "tree/b/c", "treehouse"} {
			c.mustPut(t, "/v1/kv/delr/"+k, "v")
		}
		before := c.get(t, "/v1/kv/delr/?recurse").index(t)
		c.del(t, "/v1/kv/delr/tree/?recurse").want(t, "DELETE ?recurse", 200, "true")
		r := c.get(t, "/v1/kv/delr/tree/?recurse")
		r.want(t, "GET ?recurse after delete", 404, "")
		if got := r.index(t); got <= before {
			t.Errorf("X-Consul-Index on the emptied prefix = %d, want > %d", got, before)
		}
		c.get(t, "/v1/kv/delr/?keys").want(t, "GET ?keys after delete", 200, `["delr/treehouse"]`)
		c.del(t, "/v1/kv/delr/x?recurse&cas=1").want(t, "DELETE ?recurse&cas", 400, "*")
	})

	t.Run("delete cas", func(t *testing.T) {
		t.Parallel()
		c.mustPut(t, "/v1/kv/delc/k", "v")
		idx := c.get(t, "/v1/kv/delc/k").index(t)
		c.del(t, fmt.Sprintf("/v1/kv/delc/k?cas=%d", idx+1000)).want(t, "DELETE ?cas=wrong", 200, "false")
		c.get(t, "/v1/kv/delc/k?raw").want(t, "GET after failed delete-cas", 200, "v")
		c.del(t, fmt.Sprintf("/v1/kv/delc/k?cas=%d", idx)).want(t, "DELETE ?cas=current", 200, "true")
		c.get(t, "/v1/kv/delc/k").want(t, "GET after delete-cas", 404, "")
		// A missing key counts as deleted, so a retried delete-cas agrees.
		c.del(t, fmt.Sprintf("/v1/kv/delc/k?cas=%d", idx)).want(t, "DELETE ?cas on a missing key", 200, "true")
		c.del(t, "/v1/kv/delc/k?cas=x").want(t, "DELETE ?cas=x", 400, "*")
	})

	t.Run("keys round trip", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			wire string // the path after /v1/kv/rt/, as sent
			key  string // the key it names
		}{
			{"with%20space", "rt/with space"},
			{"%D0%BA%D0%BB%D1%8E%D1%87/%E6%97%A5%E6%9C%AC", "rt/ключ/日本"},
			{"a%2Fb", "rt/a/b"}, // decoded like any other escape, as Consul does
			// ("a//b" and "dots/../up" are redirected to their clean
			// paths, as Consul does: TestCleanPathRedirect.)
			{"pct%2541", "rt/pct%41"},
			{"q%3Fx%23y", "rt/q?x#y"},
			{"plus+sign", "rt/plus+sign"},
			{"trailing/", "rt/trailing/"},
		} {
			path := "/v1/kv/rt/" + tc.wire
			c.mustPut(t, path, tc.key)
			r := c.get(t, path)
			idx := r.index(t)
			r.want(t, "GET "+path, 200, entriesJSON(t, kvJSON{Key: tc.key, Value: []byte(tc.key), CreateIndex: idx, ModifyIndex: idx}))
			// The same key reached through the client's own escaping.
			u := (&url.URL{Path: "/v1/kv/" + tc.key}).EscapedPath()
			c.get(t, u+"?raw").want(t, "GET "+u, 200, tc.key)
		}
	})

	t.Run("unknown datacenter", func(t *testing.T) {
		t.Parallel()
		// Consul answers 500 here too; clients match on the text.
		r := c.get(t, "/v1/kv/dc/k?dc=elsewhere")
		r.want(t, "GET ?dc=elsewhere", 500, "No path to datacenter \"elsewhere\"\n")
		c.mustPut(t, "/v1/kv/dc/k?dc=dc1", "v")
	})

	t.Run("blocking get", func(t *testing.T) {
		t.Parallel()
		c.mustPut(t, "/v1/kv/blk/k", "v1")
		idx := c.get(t, "/v1/kv/blk/k").index(t)

		// Nothing changes: the wait ends with the same index.
		r := c.get(t, fmt.Sprintf("/v1/kv/blk/k?index=%d&wait=50ms", idx))
		r.want(t, "GET ?index&wait (quiet)", 200, "*")
		if got := r.index(t); got != idx {
			t.Errorf("quiet blocking GET X-Consul-Index = %d, want %d", got, idx)
		}

		// The 30s wait only bounds a broken test: the woken read must
		// carry the new value and index.
		done := c.goGet(fmt.Sprintf("/v1/kv/blk/k?index=%d&wait=30s&raw", idx))
		c.mustPut(t, "/v1/kv/blk/k", "v2")
		res := <-done
		if res.err != nil {
			t.Fatal(res.err)
		}
		r = res.reply
		r.want(t, "GET ?index&wait (woken)", 200, "v2")
		if got := r.index(t); got <= idx {
			t.Errorf("woken blocking GET X-Consul-Index = %d, want > %d", got, idx)
		}
	})
}

// TestStatusAndSelf covers the small agent endpoints.
func TestStatusAndSelf(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "status-node"})
	c := newClient(a)
	addr := a.ServerAddr()
	c.get(t, "/v1/status/leader").want(t, "GET /v1/status/leader", 200, `"`+addr+`"`)
	c.get(t, "/v1/status/peers").want(t, "GET /v1/status/peers", 200, `["`+addr+`"]`)
	c.get(t, "/v1/status/leader?dc=dc1").want(t, "GET /v1/status/leader?dc=dc1", 200, `"`+addr+`"`)
	if r := c.get(t, "/v1/status/peers?dc=nowhere"); r.status != 500 || !strings.HasPrefix(r.body, "No path to datacenter") {
		t.Errorf("GET /v1/status/peers?dc=nowhere = %d %q, want 500 No path to datacenter", r.status, r.body)
	}
	c.put(t, "/v1/status/leader", "").want(t, "PUT /v1/status/leader", 405, "*")

	r := c.get(t, "/v1/agent/self")
	r.want(t, "GET /v1/agent/self", 200, "*")
	for _, want := range []string{`"NodeName":"status-node"`, `"Datacenter":"dc1"`, `"Server":true`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("GET /v1/agent/self body = %s, want it to contain %s", r.body, want)
		}
	}
	if p := c.get(t, "/v1/agent/self?pretty"); !strings.Contains(p.body, "\n    \"") {
		t.Errorf("GET /v1/agent/self?pretty is not indented: %.80q", p.body)
	}
}

// TestKVBlockingList checks that a blocking ?recurse read sleeps through
// writes elsewhere and wakes with the write under its prefix.
func TestKVBlockingList(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := newClient(a)
	c.mustPut(t, "/v1/kv/watched/k", "v")
	idx := c.get(t, "/v1/kv/watched/?recurse").index(t)
	done := c.goGet(fmt.Sprintf("/v1/kv/watched/?recurse&index=%d&wait=30s", idx))
	for i := 0; i < 5; i++ {
		c.mustPut(t, fmt.Sprintf("/v1/kv/other/%d", i), "x")
	}
	c.mustPut(t, "/v1/kv/watched/k2", "w")
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	idx2 := c.get(t, "/v1/kv/watched/k2").index(t)
	res.want(t, "woken ?recurse", 200, "*")
	// Whether it blocked before the write or started after it, it must
	// answer with k2 at k2's index, never early with the old index.
	if got := res.index(t); got != idx2 || !strings.Contains(res.body, `"Key":"watched/k2"`) {
		t.Errorf("woken ?recurse = index %d, body %s; want index %d with watched/k2", got, res.body, idx2)
	}
}
