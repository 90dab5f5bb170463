package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// newTestClient starts h behind an httptest server and returns a client for it.
func newTestClient(t *testing.T, h http.HandlerFunc, mod ...func(*Config)) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := &Config{Address: srv.URL}
	for _, m := range mod {
		m(cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v) = %v", cfg, err)
	}
	return c
}

func TestNewAddressForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg     Config
		want    string // scheme://host of requests
		wantErr string
	}{
		{Config{}, "http://127.0.0.1:8500", ""},
		{Config{Address: "10.0.0.1:8500"}, "http://10.0.0.1:8500", ""},
		{Config{Address: "10.0.0.1:8501", Scheme: "https"}, "https://10.0.0.1:8501", ""},
		{Config{Address: "http://node1:8500"}, "http://node1:8500", ""},
		{Config{Address: "https://node1:8501"}, "https://node1:8501", ""},
		{Config{Address: "https://node1:8501", Scheme: "http"}, "https://node1:8501", ""},
		// CONSUL_HTTP_SSL=true is never downgraded by an explicit http://.
		{Config{Address: "http://node1:8500", Scheme: "https"}, "https://node1:8500", ""},
		{Config{Address: "unix:///run/conclave.sock"}, "http://unix", ""},
		{Config{Address: "[::1]:8500"}, "http://[::1]:8500", ""},
		{Config{Address: "ftp://node1"}, "", "Unknown protocol scheme: ftp"},
		{Config{Address: "unix://"}, "", "no socket path"},
		{Config{Address: "node1:8500/v1"}, "", "want host:port"},
		{Config{Address: "node1:8500", Scheme: "gopher"}, "", "invalid scheme"},
	}
	for _, tt := range tests {
		c, err := New(&tt.cfg)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New(%+v) error = %v, want containing %q", tt.cfg, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("New(%+v) = %v, want no error", tt.cfg, err)
			continue
		}
		if got := c.base.Scheme + "://" + c.base.Host; got != tt.want {
			t.Errorf("New(%+v) base = %q, want %q", tt.cfg, got, tt.want)
		}
	}
}

func TestQueryMetaFromHeaders(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Consul-Index", "1234")
		w.Header().Set("X-Consul-LastContact", "250")
		w.Header().Set("X-Consul-KnownLeader", "true")
		fmt.Fprint(w, `"127.0.0.1:8300"`)
	})
	leader, meta, err := c.Status().Leader(context.Background(), nil)
	if err != nil {
		t.Fatalf("Leader() = %v", err)
	}
	if leader != "127.0.0.1:8300" {
		t.Errorf("Leader() = %q, want %q", leader, "127.0.0.1:8300")
	}
	want := QueryMeta{LastIndex: 1234, LastContact: 250 * time.Millisecond, KnownLeader: true}
	meta.RequestTime = 0
	if *meta != want {
		t.Errorf("Leader() meta = %+v, want %+v", *meta, want)
	}
}

// TestQueryMaxStale: a stale answer from a server that last heard from its
// leader longer ago than MaxStale is dropped and the read asked again at
// default consistency, without blocking; a fresh enough one is kept.
func TestQueryMaxStale(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var queries []string
	var contact string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		w.Header().Set("X-Consul-KnownLeader", "true")
		if _, stale := r.URL.Query()["stale"]; stale {
			w.Header().Set("X-Consul-Index", "5")
			mu.Lock()
			w.Header().Set("X-Consul-LastContact", contact)
			mu.Unlock()
			fmt.Fprint(w, `[{"Key":"k","Value":"b2xk","ModifyIndex":5}]`) // "old"
			return
		}
		w.Header().Set("X-Consul-Index", "9")
		fmt.Fprint(w, `[{"Key":"k","Value":"bmV3","ModifyIndex":9}]`) // "new"
	})
	for _, tt := range []struct {
		contact   string
		want      string
		wantQuery []string
	}{
		{"5000", "new", []string{"index=3&stale", ""}},
		{"500", "old", []string{"index=3&stale"}},
	} {
		mu.Lock()
		queries, contact = nil, tt.contact
		mu.Unlock()
		ctx := context.Background()
		q := &QueryOptions{AllowStale: true, MaxStale: time.Second, WaitIndex: 3}
		p, meta, err := c.KV().Get(ctx, "k", q)
		if err != nil || p == nil {
			t.Fatalf("Get with last contact %sms = %v, %v", tt.contact, p, err)
		}
		if string(p.Value) != tt.want {
			t.Errorf("Get with last contact %sms = %q, want %q", tt.contact, p.Value, tt.want)
		}
		if tt.want == "new" && meta.LastIndex != 9 {
			t.Errorf("Get with last contact %sms: index %d, want the leader's 9", tt.contact, meta.LastIndex)
		}
		mu.Lock()
		got := slices.Clone(queries)
		mu.Unlock()
		if !slices.Equal(got, tt.wantQuery) {
			t.Errorf("Get with last contact %sms asked %q, want %q", tt.contact, got, tt.wantQuery)
		}
	}
}

func TestKVGetMissingKeyIsNil(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Consul-Index", "77")
		w.WriteHeader(http.StatusNotFound)
	})
	ctx := context.Background()
	p, meta, err := c.KV().Get(ctx, "nope", nil)
	if p != nil || err != nil {
		t.Errorf("Get(%q) = %v, %v, want nil, nil", "nope", p, err)
	}
	if meta == nil || meta.LastIndex != 77 {
		t.Errorf("Get(%q) meta = %+v, want LastIndex 77", "nope", meta)
	}
	pairs, _, err := c.KV().List(ctx, "nope/", nil)
	if pairs != nil || err != nil {
		t.Errorf("List(%q) = %v, %v, want nil, nil", "nope/", pairs, err)
	}
	keys, _, err := c.KV().Keys(ctx, "nope/", "/", nil)
	if keys != nil || err != nil {
		t.Errorf("Keys(%q) = %v, %v, want nil, nil", "nope/", keys, err)
	}
}

func TestKVGetDecodesConsulShape(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `[{"LockIndex":1,"Key":"foo/bar","Flags":42,"Value":"MjM=","Session":"s1","CreateIndex":5,"ModifyIndex":9}]`)
	})
	p, _, err := c.KV().Get(context.Background(), "foo/bar", nil)
	if err != nil {
		t.Fatalf("Get() = %v", err)
	}
	want := KVPair{Key: "foo/bar", CreateIndex: 5, ModifyIndex: 9, LockIndex: 1, Flags: 42, Value: []byte("23"), Session: "s1"}
	if fmt.Sprint(*p) != fmt.Sprint(want) {
		t.Errorf("Get(%q) = %+v, want %+v", "foo/bar", *p, want)
	}
}

func TestKVKeyEscaping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key     string
		wantURI string // what goes on the wire
		wantKey string // what the server decodes
	}{
		{"plain/key", "/v1/kv/plain/key", "plain/key"},
		{"with space", "/v1/kv/with%20space", "with space"},
		{"100%", "/v1/kv/100%25", "100%"},
		{"what?now", "/v1/kv/what%3Fnow", "what?now"},
		{"anchor#1", "/v1/kv/anchor%231", "anchor#1"},
		{"ünïcødé/ключ", "/v1/kv/%C3%BCn%C3%AFc%C3%B8d%C3%A9/%D0%BA%D0%BB%D1%8E%D1%87", "ünïcødé/ключ"},
		{"a+b=c&d", "/v1/kv/a+b=c&d", "a+b=c&d"},
		{"dir/", "/v1/kv/dir/", "dir/"},
		{"/leading", "/v1/kv/leading", "leading"},
		{"semi;colon", "/v1/kv/semi%3Bcolon", "semi;colon"},
	}
	for _, tt := range tests {
		var gotURI, gotPath string
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			gotURI, gotPath = r.RequestURI, r.URL.Path
			w.WriteHeader(http.StatusNotFound)
		})
		if _, _, err := c.KV().Get(context.Background(), tt.key, nil); err != nil {
			t.Errorf("Get(%q) = %v", tt.key, err)
			continue
		}
		if gotURI != tt.wantURI {
			t.Errorf("Get(%q) sent %q, want %q", tt.key, gotURI, tt.wantURI)
		}
		if gotPath != "/v1/kv/"+tt.wantKey {
			t.Errorf("Get(%q) server saw path %q, want %q", tt.key, gotPath, "/v1/kv/"+tt.wantKey)
		}
	}
}

func TestQueryParams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func(c *Client) error
		want string // RequestURI
	}{
		{"blocking", func(c *Client) error {
			_, _, err := c.KV().Get(context.Background(), "k", &QueryOptions{WaitIndex: 42, WaitTime: 30 * time.Second})
			return err
		}, "/v1/kv/k?index=42&wait=30s"},
		{"blocking ms", func(c *Client) error {
			_, _, err := c.KV().Get(context.Background(), "k", &QueryOptions{WaitIndex: 7, WaitTime: 1500 * time.Millisecond})
			return err
		}, "/v1/kv/k?index=7&wait=1500ms"},
		{"stale consistent dc filter", func(c *Client) error {
			_, _, err := c.KV().Get(context.Background(), "k", &QueryOptions{AllowStale: true, RequireConsistent: true, Datacenter: "dc2", Filter: `Key == "a b"`})
			return err
		}, "/v1/kv/k?consistent&dc=dc2&filter=Key+%3D%3D+%22a+b%22&stale"},
		{"recurse", func(c *Client) error {
			_, _, err := c.KV().List(context.Background(), "web/", nil)
			return err
		}, "/v1/kv/web/?recurse"},
		{"keys separator", func(c *Client) error {
			_, _, err := c.KV().Keys(context.Background(), "web/", "/", nil)
			return err
		}, "/v1/kv/web/?keys&separator=%2F"},
		{"keys no separator", func(c *Client) error {
			_, _, err := c.KV().Keys(context.Background(), "", "", nil)
			return err
		}, "/v1/kv/?keys"},
		{"client datacenter", func(c *Client) error {
			c.datacenter = "east"
			_, _, err := c.KV().Get(context.Background(), "k", nil)
			return err
		}, "/v1/kv/k?dc=east"},
	}
	for _, tt := range tests {
		var got string
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			got = r.RequestURI
			w.WriteHeader(http.StatusNotFound)
		})
		if err := tt.call(c); err != nil {
			t.Errorf("%s: call = %v", tt.name, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: sent %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("  from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		q    *QueryOptions
		want string
	}{
		{"none", Config{}, nil, ""},
		{"config", Config{Token: "abc"}, nil, "abc"},
		{"per call wins", Config{Token: "abc"}, &QueryOptions{Token: "xyz"}, "xyz"},
		{"file wins over token", Config{Token: "abc", TokenFile: tokenFile}, nil, "from-file"},
	}
	for _, tt := range tests {
		var got string
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			got = r.Header.Get("X-Consul-Token")
			w.WriteHeader(http.StatusNotFound)
		}, func(cfg *Config) { cfg.Token, cfg.TokenFile = tt.cfg.Token, tt.cfg.TokenFile })
		if _, _, err := c.KV().Get(context.Background(), "k", tt.q); err != nil {
			t.Fatalf("%s: Get = %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: X-Consul-Token = %q, want %q", tt.name, got, tt.want)
		}
	}
	if _, err := New(&Config{TokenFile: filepath.Join(dir, "missing")}); err == nil {
		t.Errorf("New(missing token file) = nil error, want one")
	}
}

func TestBasicAuth(t *testing.T) {
	t.Parallel()
	var user, pass string
	var ok bool
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok = r.BasicAuth()
		w.WriteHeader(http.StatusNotFound)
	}, func(cfg *Config) { cfg.HTTPAuth = &HTTPBasicAuth{Username: "ops", Password: "pw"} })
	if _, _, err := c.KV().Get(context.Background(), "k", nil); err != nil {
		t.Fatal(err)
	}
	if !ok || user != "ops" || pass != "pw" {
		t.Errorf("BasicAuth() = %q, %q, %v, want ops, pw, true", user, pass, ok)
	}
}

// kvRecorder answers writes with reply and records what it saw.
type kvRecorder struct {
	method, uri, body, contentType string
}

func TestKVWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name   string
		reply  string
		call   func(kv *KV) (bool, error)
		want   kvRecorder
		wantOK bool
	}{
		{"put", "true", func(kv *KV) (bool, error) {
			_, err := kv.Put(ctx, &KVPair{Key: "a b", Value: []byte("raw\x00bytes")}, nil)
			return true, err
		}, kvRecorder{"PUT", "/v1/kv/a%20b", "raw\x00bytes", "application/octet-stream"}, true},
		{"put flags", "true", func(kv *KV) (bool, error) {
			_, err := kv.Put(ctx, &KVPair{Key: "k", Flags: 42, Value: []byte("v")}, &WriteOptions{Datacenter: "dc2"})
			return true, err
		}, kvRecorder{"PUT", "/v1/kv/k?dc=dc2&flags=42", "v", "application/octet-stream"}, true},
		{"cas ok", "true", func(kv *KV) (bool, error) {
			ok, _, err := kv.CAS(ctx, &KVPair{Key: "k", ModifyIndex: 9, Value: []byte("v")}, nil)
			return ok, err
		}, kvRecorder{"PUT", "/v1/kv/k?cas=9", "v", "application/octet-stream"}, true},
		{"cas create-only", "false\n", func(kv *KV) (bool, error) {
			ok, _, err := kv.CAS(ctx, &KVPair{Key: "k", Value: []byte("v")}, nil)
			return ok, err
		}, kvRecorder{"PUT", "/v1/kv/k?cas=0", "v", "application/octet-stream"}, false},
		{"delete", "true", func(kv *KV) (bool, error) {
			_, err := kv.Delete(ctx, "/k", nil)
			return true, err
		}, kvRecorder{"DELETE", "/v1/kv/k", "", ""}, true},
		{"delete cas", "false", func(kv *KV) (bool, error) {
			ok, _, err := kv.DeleteCAS(ctx, &KVPair{Key: "k", ModifyIndex: 3}, nil)
			return ok, err
		}, kvRecorder{"DELETE", "/v1/kv/k?cas=3", "", ""}, false},
		{"delete tree", "true", func(kv *KV) (bool, error) {
			_, err := kv.DeleteTree(ctx, "web/", nil)
			return true, err
		}, kvRecorder{"DELETE", "/v1/kv/web/?recurse", "", ""}, true},
	}
	for _, tt := range tests {
		var got kvRecorder
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got = kvRecorder{r.Method, r.RequestURI, string(b), r.Header.Get("Content-Type")}
			fmt.Fprint(w, tt.reply)
		})
		ok, err := tt.call(c.KV())
		if err != nil {
			t.Errorf("%s: err = %v", tt.name, err)
			continue
		}
		if ok != tt.wantOK {
			t.Errorf("%s: ok = %v, want %v", tt.name, ok, tt.wantOK)
		}
		if got != tt.want {
			t.Errorf("%s: request = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestKVPutRefusesLeadingSlash(t *testing.T) {
	t.Parallel()
	called := false
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { called = true })
	_, err := c.KV().Put(context.Background(), &KVPair{Key: "/abs"}, nil)
	if err == nil || !strings.Contains(err.Error(), "must not begin with a '/'") {
		t.Errorf("Put(%q) = %v, want leading-slash error", "/abs", err)
	}
	if called {
		t.Errorf("Put(%q) reached the agent", "/abs")
	}
}

func TestStatusError(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Permission denied", http.StatusForbidden)
	})
	_, _, err := c.KV().Get(context.Background(), "secret", nil)
	var se *StatusError
	if !errors.As(err, &se) {
		t.Fatalf("Get() = %v, want a *StatusError", err)
	}
	if se.Code != 403 || se.Body != "Permission denied" {
		t.Errorf("Get() StatusError = %+v, want {403 Permission denied}", *se)
	}
	if got, want := se.Error(), "Unexpected response code: 403 (Permission denied)"; got != want {
		t.Errorf("StatusError.Error() = %q, want %q", got, want)
	}
	if _, err := c.KV().Put(context.Background(), &KVPair{Key: "k"}, nil); !errors.As(err, &se) {
		t.Errorf("Put() = %v, want a *StatusError", err)
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	// A port that was just free: nothing listens there now.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, a := range []string{addr, "http://" + addr, "unix://" + sock} {
		c, err := New(&Config{Address: a})
		if err != nil {
			t.Fatalf("New(%q) = %v", a, err)
		}
		_, _, err = c.KV().Get(context.Background(), "k", nil)
		var u *UnreachableError
		if !errors.As(err, &u) {
			t.Errorf("Get() via %q = %v, want *UnreachableError", a, err)
			continue
		}
		if u.Addr != a {
			t.Errorf("UnreachableError.Addr = %q, want %q", u.Addr, a)
		}
		if !strings.HasPrefix(u.Error(), "agent unreachable at "+a+": ") {
			t.Errorf("UnreachableError.Error() = %q, want prefix %q", u.Error(), "agent unreachable at "+a+": ")
		}
	}
}

func TestUnixSocket(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "cc") // short: socket paths are limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/status/leader" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `"10.0.0.1:8300"`)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	c, err := New(&Config{Address: "unix://" + sock})
	if err != nil {
		t.Fatal(err)
	}
	leader, _, err := c.Status().Leader(context.Background(), nil)
	if err != nil || leader != "10.0.0.1:8300" {
		t.Errorf("Leader() via unix socket = %q, %v, want %q, nil", leader, err, "10.0.0.1:8300")
	}
}

func TestTxn(t *testing.T) {
	t.Parallel()
	var body string
	status := http.StatusOK
	reply := `{"Results":[{"KV":{"LockIndex":0,"Key":"k","Flags":3,"Value":null,"CreateIndex":10,"ModifyIndex":10}}],"Errors":null}`
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "PUT" || r.URL.Path != "/v1/txn" {
			t.Errorf("Txn sent %s %s, want PUT /v1/txn", r.Method, r.URL.Path)
		}
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.WriteHeader(status)
		fmt.Fprint(w, reply)
	})
	ops := TxnOps{{KV: &KVTxnOp{Verb: KVSet, Key: "k", Value: []byte("hi"), Flags: 3}}}
	resp, _, err := c.Txn().Do(context.Background(), ops, nil)
	if err != nil {
		t.Fatalf("Txn() = %v", err)
	}
	if want := `[{"KV":{"Verb":"set","Key":"k","Value":"aGk=","Flags":3}}]` + "\n"; body != want {
		t.Errorf("Txn() body = %s, want %s", body, want)
	}
	if !resp.Committed() || len(resp.Results) != 1 || resp.Results[0].KV.ModifyIndex != 10 {
		t.Errorf("Txn() = %+v, want one committed result at index 10", resp)
	}

	status = http.StatusConflict
	reply = `{"Results":null,"Errors":[{"OpIndex":0,"What":"failed to set key \"k\""}]}`
	resp, _, err = c.Txn().Do(context.Background(), ops, nil)
	if err != nil {
		t.Fatalf("Txn() rolled back = %v, want nil error", err)
	}
	if resp.Committed() || len(resp.Errors) != 1 || resp.Errors[0].What != `failed to set key "k"` {
		t.Errorf("Txn() rolled back = %+v, want one error", resp)
	}

	var many TxnOps
	for range MaxTxnOps + 1 {
		many = append(many, ops[0])
	}
	if _, _, err := c.Txn().Do(context.Background(), many, nil); err == nil {
		t.Errorf("Txn(%d ops) = nil error, want too many", len(many))
	}
}

func TestAgentSelf(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"Config":{"Datacenter":"dc1","NodeName":"n1","Server":true,"Version":"0.1.0"},"Member":{"Name":"n1"}}`)
	})
	self, _, err := c.Agent().Self(context.Background(), nil)
	if err != nil {
		t.Fatalf("Self() = %v", err)
	}
	want := AgentSelfConfig{Datacenter: "dc1", NodeName: "n1", Server: true, Version: "0.1.0"}
	if self.Config != want {
		t.Errorf("Self().Config = %+v, want %+v", self.Config, want)
	}
	if _, ok := self.Raw["Member"]; !ok {
		t.Errorf("Self().Raw has no Member section: %v", self.Raw)
	}
}

func TestFormatWait(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		30 * time.Second:        "30s",
		5 * time.Minute:         "300s",
		1500 * time.Millisecond: "1500ms",
		time.Microsecond:        "1ms",
	} {
		if got := formatWait(d); got != want {
			t.Errorf("formatWait(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestTransportConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		in      TransportConfig
		idle    int
		shake   time.Duration
		noReuse bool
	}{
		{name: "defaults", idle: 16, shake: 10 * time.Second},
		{name: "set", in: TransportConfig{MaxIdleConnsPerHost: 2, TLSHandshakeTimeout: time.Second, DisableKeepAlives: true},
			idle: 2, shake: time.Second, noReuse: true},
	} {
		c, err := New(&Config{Transport: tt.in})
		if err != nil {
			t.Fatalf("%s: New() = %v", tt.name, err)
		}
		tr := c.http.Transport.(*http.Transport)
		if tr.MaxIdleConnsPerHost != tt.idle || tr.TLSHandshakeTimeout != tt.shake || tr.DisableKeepAlives != tt.noReuse {
			t.Errorf("%s: transport = idle %d, handshake %s, no keep-alives %v; want %d, %s, %v", tt.name,
				tr.MaxIdleConnsPerHost, tr.TLSHandshakeTimeout, tr.DisableKeepAlives, tt.idle, tt.shake, tt.noReuse)
		}
	}
}
