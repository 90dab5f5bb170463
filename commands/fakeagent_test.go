package commands

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"conclave/client"
)

// fakeAgent is an in-memory stand-in for an agent's HTTP API that speaks
// Consul's wire format for /v1/kv, /v1/txn and /v1/status/leader. Its
// behaviour follows Consul's documentation, so the command tests check the
// CLI against the contract, not against our own server.
type fakeAgent struct {
	t   *testing.T
	srv *httptest.Server

	mu    sync.Mutex
	index uint64
	kv    map[string]*client.KVPair
	log   []string // "METHOD RequestURI" of every request
	// noTxn makes /v1/txn answer 404, like an agent without it.
	noTxn bool
	// fail maps a key to a status code for writes of that key (by PUT or in
	// a transaction), to test error paths.
	fail map[string]int
	// tokens seen, in order.
	tokens []string
}

func newFakeAgent(t *testing.T) *fakeAgent {
	t.Helper()
	a := &fakeAgent{t: t, kv: map[string]*client.KVPair{}, fail: map[string]int{}}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

// addr is the agent address for -http-addr.
func (a *fakeAgent) addr() string { return a.srv.URL }

// set stores a key directly, as if written earlier.
func (a *fakeAgent) set(key, value string, flags uint64) *client.KVPair {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.setLocked(key, []byte(value), flags)
}

func (a *fakeAgent) setLocked(key string, value []byte, flags uint64) *client.KVPair {
	a.index++
	p := &client.KVPair{Key: key, Value: value, Flags: flags, CreateIndex: a.index, ModifyIndex: a.index}
	if old, ok := a.kv[key]; ok {
		p.CreateIndex = old.CreateIndex
	}
	a.kv[key] = p
	return p
}

// get returns a stored key, or nil.
func (a *fakeAgent) get(key string) *client.KVPair {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.kv[key]
}

// tokensSeen returns the X-Consul-Token values received, in order.
func (a *fakeAgent) tokensSeen() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.tokens...)
}

// requests returns the request log.
func (a *fakeAgent) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.log...)
}

func (a *fakeAgent) sortedKeys(prefix string) []string {
	var keys []string
	for k := range a.kv {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func (a *fakeAgent) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.log = append(a.log, r.Method+" "+r.RequestURI)
	if tok := r.Header.Get("X-Consul-Token"); tok != "" {
		a.tokens = append(a.tokens, tok)
	}
	w.Header().Set("X-Consul-KnownLeader", "true")
	w.Header().Set("X-Consul-LastContact", "0")
	switch {
	case strings.HasPrefix(r.URL.Path, "/v1/kv/"):
		a.serveKV(w, r, strings.TrimPrefix(r.URL.Path, "/v1/kv/"))
	case r.URL.Path == "/v1/txn" && r.Method == "PUT":
		a.serveTxn(w, r)
	case r.URL.Path == "/v1/status/leader":
		fmt.Fprint(w, `"127.0.0.1:8300"`)
	default:
		http.NotFound(w, r)
	}
}

func (a *fakeAgent) serveKV(w http.ResponseWriter, r *http.Request, key string) {
	q := r.URL.Query()
	w.Header().Set("X-Consul-Index", strconv.FormatUint(a.index, 10))
	switch r.Method {
	case "GET":
		var out any
		switch {
		case q.Has("keys"):
			sep := q.Get("separator")
			seen := map[string]bool{}
			var keys []string
			for _, k := range a.sortedKeys(key) {
				if sep != "" {
					if i := strings.Index(k[len(key):], sep); i >= 0 {
						k = k[:len(key)+i+len(sep)]
					}
				}
				if !seen[k] {
					seen[k] = true
					keys = append(keys, k)
				}
			}
			if len(keys) == 0 {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			out = keys
		case q.Has("recurse"):
			var pairs []*client.KVPair
			for _, k := range a.sortedKeys(key) {
				pairs = append(pairs, a.kv[k])
			}
			if len(pairs) == 0 {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			out = pairs
		default:
			p, ok := a.kv[key]
			if !ok {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			out = []*client.KVPair{p}
		}
		json.NewEncoder(w).Encode(out)

	case "PUT":
		if code := a.fail[key]; code != 0 {
			http.Error(w, "refused by test", code)
			return
		}
		body, _ := io.ReadAll(r.Body)
		flags, _ := strconv.ParseUint(q.Get("flags"), 10, 64)
		if q.Has("cas") {
			idx, _ := strconv.ParseUint(q.Get("cas"), 10, 64)
			cur, ok := a.kv[key]
			if (idx == 0 && ok) || (idx != 0 && (!ok || cur.ModifyIndex != idx)) {
				fmt.Fprint(w, "false")
				return
			}
		}
		a.setLocked(key, body, flags)
		fmt.Fprint(w, "true")

	case "DELETE":
		switch {
		case q.Has("recurse"):
			for _, k := range a.sortedKeys(key) {
				delete(a.kv, k)
			}
		case q.Has("cas"):
			idx, _ := strconv.ParseUint(q.Get("cas"), 10, 64)
			cur, ok := a.kv[key]
			if !ok || cur.ModifyIndex != idx {
				fmt.Fprint(w, "false")
				return
			}
			delete(a.kv, key)
		default:
			delete(a.kv, key)
		}
		a.index++
		fmt.Fprint(w, "true")
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (a *fakeAgent) serveTxn(w http.ResponseWriter, r *http.Request) {
	if a.noTxn {
		http.NotFound(w, r)
		return
	}
	var ops client.TxnOps
	if err := json.NewDecoder(r.Body).Decode(&ops); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if len(ops) > client.MaxTxnOps {
		http.Error(w, "too many operations", http.StatusRequestEntityTooLarge)
		return
	}
	var errs []*client.TxnError
	for i, op := range ops {
		if op.KV == nil || op.KV.Verb != client.KVSet {
			errs = append(errs, &client.TxnError{OpIndex: i, What: "unsupported op in fake"})
		} else if a.fail[op.KV.Key] != 0 {
			errs = append(errs, &client.TxnError{OpIndex: i, What: "refused by test"})
		}
	}
	if len(errs) > 0 {
		w.WriteHeader(http.StatusConflict)
		json.NewEncoder(w).Encode(client.TxnResponse{Errors: errs})
		return
	}
	var res client.TxnResponse
	for _, op := range ops {
		p := a.setLocked(op.KV.Key, op.KV.Value, op.KV.Flags)
		res.Results = append(res.Results, &client.TxnResult{KV: &client.KVPair{Key: p.Key, Flags: p.Flags, CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex}})
	}
	json.NewEncoder(w).Encode(res)
}
