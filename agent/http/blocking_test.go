package http_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	httpapi "conclave/agent/http"
	"conclave/internal/testutil"
)

// goBlock starts a GET whose client can hang up: hangUp cancels the
// request's context; done yields the client's error. The client hangs up
// when the test ends, if not before, so a failed test does not wait out
// the read.
func (c *client) goBlock(t *testing.T, path string) (hangUp func(), done <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch := make(chan error, 1)
	go func() {
		req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
		if err == nil {
			var resp *http.Response
			if resp, err = http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
		ch <- err
	}()
	return cancel, ch
}

// waitCount retries until count() is want. The bound is a few seconds:
// far below any blocking query's wait, so a query that outlives its
// client fails the test instead of passing late.
func waitCount(t *testing.T, what string, count func() int, want int) {
	t.Helper()
	testutil.Retry(t, 5*time.Second, func() error {
		if got := count(); got != want {
			return fmt.Errorf("%s = %d, want %d", what, got, want)
		}
		return nil
	})
}

// blockingPaths are reads that block at the index they are given: a KV key,
// a missing KV key (ErrNotFound on the server), a prefix, and a health
// read, each on its own shared-read path.
func blockingPaths(t *testing.T, c *client) []string {
	t.Helper()
	c.mustPut(t, "/v1/kv/hang/k", "v")
	c.mustPut(t, "/v1/catalog/register", `{"Node":"n1","Address":"10.0.0.1","Service":{"ID":"web1","Service":"web","Port":80}}`)
	var paths []string
	for _, p := range []string{"/v1/kv/hang/k", "/v1/kv/hang/missing", "/v1/kv/hang/?recurse", "/v1/health/service/web"} {
		sep := "?"
		if strings.Contains(p, "?") {
			sep = "&"
		}
		idx := c.get(t, p).index(t)
		// No ?wait: the default is 5 minutes, far beyond the test's bound.
		paths = append(paths, fmt.Sprintf("%s%sindex=%d", p, sep, idx))
	}
	return paths
}

// TestHangUpEndsBlockingQuery: a client that hangs up on a blocking read
// ends its query on the server at once, instead of at the end of its wait.
func TestHangUpEndsBlockingQuery(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := newClient(a)
	srv := a.Server()
	for _, path := range blockingPaths(t, c) {
		before := srv.WaitingQueries()
		hangUp, done := c.goBlock(t, path)
		waitCount(t, "waiting queries after GET "+path, srv.WaitingQueries, before+1)
		hangUp()
		waitCount(t, "waiting queries after hanging up on GET "+path, srv.WaitingQueries, before)
		if err := <-done; err == nil {
			t.Errorf("GET %s answered although its client hung up", path)
		}
	}
}

// TestHangUpLeavesSharedRead: two clients of the same blocking read share
// one query on the server; the first to hang up leaves it to the other,
// and the query ends when the last one hangs up.
func TestHangUpLeavesSharedRead(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	// A handler of our own over the same agent, to see who waits on it.
	h := httpapi.New(a.Agent.HTTPBackend(), nil)
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	c := &client{base: ts.URL}
	srv := a.Server()
	for _, path := range blockingPaths(t, c) {
		before := srv.WaitingQueries()
		hangUpFirst, doneFirst := c.goBlock(t, path)
		hangUpSecond, doneSecond := c.goBlock(t, path)
		testutil.Retry(t, 5*time.Second, func() error {
			if got := h.SharedReadWaiters(); got != 2 {
				return fmt.Errorf("GET %s: clients waiting = %d, want 2", path, got)
			}
			if got := srv.WaitingQueries(); got != before+1 {
				return fmt.Errorf("GET %s twice: waiting queries = %d, want %d (one for both)", path, got, before+1)
			}
			return nil
		})
		hangUpFirst()
		waitCount(t, "clients waiting on "+path+" after the first hung up", h.SharedReadWaiters, 1)
		if got := srv.WaitingQueries(); got != before+1 {
			t.Errorf("GET %s: waiting queries after the first client hung up = %d, want %d", path, got, before+1)
		}
		select {
		case err := <-doneSecond:
			t.Errorf("GET %s: the second client's read ended (%v) when the first hung up", path, err)
		default:
		}
		hangUpSecond()
		waitCount(t, "waiting queries after both hung up on "+path, srv.WaitingQueries, before)
		waitCount(t, "clients waiting on "+path+" after both hung up", h.SharedReadWaiters, 0)
		<-doneFirst
		<-doneSecond
	}
}

// TestKVBlockingMissingKey: a blocking read of a missing key answers 404
// with the index when its wait runs out, sleeps through writes to other
// keys, and answers with the value once the key is created.
func TestKVBlockingMissingKey(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := newClient(a)
	srv := a.Server()
	idx := c.get(t, "/v1/kv/absent/key").index(t)

	quiet := c.get(t, fmt.Sprintf("/v1/kv/absent/key?index=%d&wait=20ms", idx))
	quiet.want(t, "GET missing ?index&wait (quiet)", 404, "")
	quiet.wantReadHeaders(t, "GET missing ?index&wait (quiet)")

	// The 30s wait only bounds a broken test.
	done := c.goGet(fmt.Sprintf("/v1/kv/absent/key?index=%d&wait=30s&raw", idx))
	waitCount(t, "waiting queries", srv.WaitingQueries, 1)
	for i := range 5 {
		c.mustPut(t, fmt.Sprintf("/v1/kv/unrelated/%d", i), "x")
	}
	select {
	case res := <-done:
		t.Fatalf("GET missing key answered %d (index %s) after writes to other keys, want it waiting", res.status, res.header.Get("X-Consul-Index"))
	default:
	}
	c.mustPut(t, "/v1/kv/absent/key", "here")
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	res.want(t, "GET missing key ?index (created)", 200, "here")
	if got := res.index(t); got <= idx {
		t.Errorf("GET missing key ?index (created) X-Consul-Index = %d, want > %d", got, idx)
	}
}

// TestCatalogBlockingMissingNode: a blocking read of a missing node
// answers null as before, sleeps through registrations of other nodes,
// and answers with the node once it is registered.
func TestCatalogBlockingMissingNode(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := newClient(a)
	srv := a.Server()
	register := func(node string) {
		t.Helper()
		c.mustPut(t, "/v1/catalog/register", fmt.Sprintf(`{"Node":%q,"Address":"10.0.0.9"}`, node))
	}
	const path = "/v1/catalog/node/wanted"
	c.get(t, path).want(t, "GET "+path, 200, "null")

	// The agent registers its own node meanwhile, and a read whose first
	// run sees such a write answers at once (the index rule): start over
	// until one is waiting.
	var done <-chan result
	testutil.Retry(t, 10*time.Second, func() error {
		if done != nil {
			select {
			case <-done:
			default:
				if got := srv.WaitingQueries(); got != 1 {
					return fmt.Errorf("waiting queries = %d, want 1", got)
				}
				return nil
			}
		}
		done = c.goGet(fmt.Sprintf("%s?index=%d&wait=30s", path, c.get(t, path).index(t)))
		return fmt.Errorf("GET %s started", path)
	})
	for i := range 3 {
		register(fmt.Sprintf("other-%d", i))
	}
	select {
	case res := <-done:
		t.Fatalf("GET %s answered %d %s after other nodes registered, want it waiting", path, res.status, res.body)
	default:
	}
	register("wanted")
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	res.want(t, "GET "+path+" ?index (registered)", 200, "*")
	if !strings.Contains(res.body, `"Node":"wanted"`) {
		t.Errorf("GET %s ?index (registered) = %s, want the node", path, res.body)
	}
}
