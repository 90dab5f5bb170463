package commands

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/consul/api"

	"conclave/internal/testutil"
)

// The command tests run the CLI against a real in-process agent, so they
// check the commands against the store the agent really has. Each test
// function starts its own agent (about 0.2 s); table cases that write keep
// to a key prefix of their own ({p} in the table), so they run in parallel
// on that one agent.

// kvSeed is one key written before a test runs.
type kvSeed struct {
	key, value string
	flags      uint64
}

// seedKV writes seeds in one transaction through the official client and
// returns the raft index they were written at: every seed has it as its
// CreateIndex and ModifyIndex.
func seedKV(t *testing.T, a *testutil.TestAgent, seeds ...kvSeed) uint64 {
	t.Helper()
	ops := make(api.TxnOps, 0, len(seeds))
	for _, s := range seeds {
		ops = append(ops, &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVSet, Key: s.key, Value: []byte(s.value), Flags: s.flags}})
	}
	ok, resp, _, err := testutil.APIClient(t, a).Txn().Txn(ops, nil)
	if err != nil || !ok || len(resp.Results) == 0 {
		t.Fatalf("seeding %d keys: ok %v, resp %+v, err %v", len(seeds), ok, resp, err)
	}
	return resp.Results[0].KV.ModifyIndex
}

// storedKV returns the keys under prefix and their values, read through the
// official client.
func storedKV(t *testing.T, a *testutil.TestAgent, prefix string) map[string]*api.KVPair {
	t.Helper()
	pairs, _, err := testutil.APIClient(t, a).KV().List(prefix, nil)
	if err != nil {
		t.Fatalf("KV().List(%q) = %v", prefix, err)
	}
	out := make(map[string]*api.KVPair, len(pairs))
	for _, p := range pairs {
		out[p.Key] = p
	}
	return out
}

// storedValues is storedKV reduced to key → value.
func storedValues(t *testing.T, a *testutil.TestAgent, prefix string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, p := range storedKV(t, a, prefix) {
		out[k] = string(p.Value)
	}
	return out
}

// placeholders fills in a table case: {p} is the case's own key prefix,
// {idx} the index its seed keys were written at, and any others a test
// adds.
type placeholders struct{ r *strings.Replacer }

func newPlaceholders(p string, idx uint64, more ...string) placeholders {
	return placeholders{strings.NewReplacer(append([]string{"{p}", p, "{idx}", strconv.FormatUint(idx, 10)}, more...)...)}
}

func (ph placeholders) s(s string) string { return ph.r.Replace(s) }

func (ph placeholders) all(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = ph.r.Replace(s)
	}
	return out
}

func (ph placeholders) result(r result) result {
	return result{stdout: ph.s(r.stdout), stderr: ph.s(r.stderr), code: r.code}
}

// casePrefix is the key prefix of table case i.
func casePrefix(i int) string { return "case" + strconv.Itoa(i) + "/" }

// wireTap is a reverse proxy in front of a real agent that records what
// the CLI sent. It forwards every request unchanged, except that it can
// answer /v1/txn with 404, as an agent without transactions does.
type wireTap struct {
	srv *httptest.Server

	mu     sync.Mutex
	reqs   []string // "METHOD RequestURI" of every request
	tokens []string // X-Consul-Token values, in order
}

func newWireTap(t *testing.T, a *testutil.TestAgent, hideTxn bool) *wireTap {
	t.Helper()
	target, err := url.Parse(a.HTTPURL())
	if err != nil {
		t.Fatalf("url.Parse(%q) = %v", a.HTTPURL(), err)
	}
	tr := &http.Transport{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = tr
	w := &wireTap{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.reqs = append(w.reqs, r.Method+" "+r.RequestURI)
		if tok := r.Header.Get("X-Consul-Token"); tok != "" {
			w.tokens = append(w.tokens, tok)
		}
		w.mu.Unlock()
		if hideTxn && r.URL.Path == "/v1/txn" {
			http.NotFound(rw, r)
			return
		}
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(func() {
		w.srv.Close()
		tr.CloseIdleConnections()
	})
	return w
}

// addr is the tap's address for -http-addr.
func (w *wireTap) addr() string { return w.srv.URL }

func (w *wireTap) requests() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.reqs...)
}

func (w *wireTap) tokensSeen() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.tokens...)
}
