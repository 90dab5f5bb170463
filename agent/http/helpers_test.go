package http_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"conclave/internal/testutil"
)

// client talks to one test agent over real HTTP.
type client struct {
	base string
}

func newClient(a *testutil.TestAgent) *client {
	return &client{base: a.HTTPURL()}
}

// reply is a response read in full.
type reply struct {
	status int
	header http.Header
	body   string
}

// index is the X-Consul-Index header as a number; it fails the test when
// the header is missing or not a number.
func (r reply) index(t *testing.T) uint64 {
	t.Helper()
	v := r.header.Get("X-Consul-Index")
	idx, err := strconv.ParseUint(v, 10, 64)
	if err != nil || idx == 0 {
		t.Fatalf("X-Consul-Index = %q, want a positive number", v)
	}
	return idx
}

// do sends one request; path is everything after the host, already
// escaped as it should go on the wire.
func (c *client) do(t *testing.T, method, path string, body io.Reader) reply {
	t.Helper()
	r, err := c.try(method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// try is do for goroutines other than the test's, which must not call
// t.Fatal.
func (c *client) try(method, path string, body io.Reader) (reply, error) {
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return reply{}, fmt.Errorf("NewRequest(%s %s) = %w", method, path, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	buf, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: reading body: %w", method, path, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(buf)}, nil
}

// goGet starts a GET on another goroutine; the channel yields its reply.
func (c *client) goGet(path string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		r, err := c.try("GET", path, nil)
		ch <- result{r, err}
	}()
	return ch
}

type result struct {
	reply
	err error
}

func (c *client) get(t *testing.T, path string) reply {
	t.Helper()
	return c.do(t, "GET", path, nil)
}

func (c *client) put(t *testing.T, path, body string) reply {
	t.Helper()
	return c.do(t, "PUT", path, strings.NewReader(body))
}

func (c *client) del(t *testing.T, path string) reply {
	t.Helper()
	return c.do(t, "DELETE", path, nil)
}

// mustPut writes a key and fails unless the agent answered 200 true.
func (c *client) mustPut(t *testing.T, path, body string) {
	t.Helper()
	if r := c.put(t, path, body); r.status != 200 || r.body != "true" {
		t.Fatalf("PUT %s = %d %q, want 200 \"true\"", path, r.status, r.body)
	}
}

// want checks status and, unless body is "*", the exact body.
func (r reply) want(t *testing.T, what string, status int, body string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s status = %d (body %q), want %d", what, r.status, r.body, status)
	}
	if body != "*" && r.body != body {
		t.Errorf("%s body = %q, want %q", what, r.body, body)
	}
}

// wantReadHeaders checks the X-Consul-* headers every read carries.
func (r reply) wantReadHeaders(t *testing.T, what string) {
	t.Helper()
	if got := r.header.Get("X-Consul-KnownLeader"); got != "true" {
		t.Errorf("%s X-Consul-KnownLeader = %q, want \"true\"", what, got)
	}
	if got := r.header.Get("X-Consul-LastContact"); got != "0" {
		t.Errorf("%s X-Consul-LastContact = %q, want \"0\" on the leader", what, got)
	}
	if _, ok := r.header["X-Consul-Index"]; !ok {
		t.Errorf("%s has no X-Consul-Index header", what)
	}
}

// kvJSON is one entry as Consul encodes it, field order included.
type kvJSON struct {
	LockIndex   uint64
	Key         string
	Flags       uint64
	Value       []byte
	CreateIndex uint64
	ModifyIndex uint64
}

// entriesJSON is the exact body of a GET or ?recurse answer.
func entriesJSON(t *testing.T, es ...kvJSON) string {
	t.Helper()
	buf, err := json.Marshal(es)
	if err != nil {
		t.Fatalf("json.Marshal() = %v", err)
	}
	return string(buf)
}
