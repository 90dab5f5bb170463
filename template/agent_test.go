package template

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"conclave/agent/config"
	"conclave/client"
	"conclave/internal/testutil"
)

// The fixture agent's node, as goldens.sh starts it.
const (
	fixtureNode   = "agent-one"
	fixtureNodeID = "11111111-2222-3333-4444-555555555555"
)

// kvFixture reads Value as text (client.KVPair's is base64 on the wire).
type kvFixture struct {
	Key   string
	Value string
	Flags uint64
}

func loadFixture(t *testing.T, c *client.Client) {
	t.Helper()
	data, err := os.ReadFile("testdata/fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Catalog []*client.CatalogRegistration `json:"catalog"`
		KV      []kvFixture                   `json:"kv"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("decoding fixture.json: %v", err)
	}
	ctx := context.Background()
	for _, reg := range f.Catalog {
		if _, err := c.Catalog().Register(ctx, reg, nil); err != nil {
			t.Fatalf("Register(%s) = %v", reg.Node, err)
		}
	}
	for _, kv := range f.KV {
		if _, err := c.KV().Put(ctx, &client.KVPair{Key: kv.Key, Value: []byte(kv.Value), Flags: kv.Flags}, nil); err != nil {
			t.Fatalf("Put(%s) = %v", kv.Key, err)
		}
	}
}

// urlRecorder is an HTTP transport that notes every request URL, so a
// test can see that a Fetch really sent a blocking query (?index=).
type urlRecorder struct {
	next *http.Transport
	mu   sync.Mutex
	urls []string
}

func (r *urlRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.urls = append(r.urls, req.URL.String())
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *urlRecorder) sawBlocking(path string, index uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	want := "index=" + jsonUint(index)
	for _, u := range r.urls {
		if strings.Contains(u, path) && strings.Contains(u, want) {
			return true
		}
	}
	return false
}

func jsonUint(n uint64) string { b, _ := json.Marshal(n); return string(b) }

func fixtureAgent(t *testing.T) (*client.Client, *urlRecorder) {
	t.Helper()
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: fixtureNode, Tweak: func(cfg *config.Config) {
		cfg.NodeID = fixtureNodeID
	}})
	testutil.WaitForNodeSynced(t, a)
	rec := &urlRecorder{next: &http.Transport{}}
	t.Cleanup(rec.next.CloseIdleConnections)
	c, err := client.New(&client.Config{Address: a.HTTPAddr(), HTTPClient: &http.Client{Transport: rec}})
	if err != nil {
		t.Fatalf("client.New() = %v", err)
	}
	loadFixture(t, c)
	return c, rec
}

// renderLive renders as consul-template -once does: render, fetch what is
// missing, render again, until complete. It returns the output and every
// value fetched.
func renderLive(ctx context.Context, c *client.Client, in *RenderInput) (string, mapRecaller, error) {
	rec := mapRecaller{}
	in.Recaller = rec
	for range 10 {
		res, err := Render(in)
		if err != nil {
			return "", nil, err
		}
		if res.Complete {
			return string(res.Output), rec, nil
		}
		for _, d := range res.Missing {
			if _, ok := rec[d.String()]; ok {
				return "", nil, errors.New(d.String() + " is still missing after it was fetched")
			}
			v, _, err := d.Fetch(ctx, c, nil)
			if err != nil {
				return "", nil, err
			}
			rec[d.String()] = v
		}
	}
	return "", nil, errors.New("render did not complete in 10 passes")
}

// TestCorpusAgainstAgent renders the golden corpus from a real agent
// loaded with fixture.json, fetching through the dependencies, as
// consul-template does: the output must match the goldens, and what was
// fetched must be what recall.json (TestGoldens' data) holds.
func TestCorpusAgainstAgent(t *testing.T) {
	t.Parallel()
	c, _ := fixtureAgent(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fetched := map[string]any{}
	for _, tc := range loadCorpus(t) {
		out, rec, err := renderLive(ctx, c, &RenderInput{Name: tc.name, Contents: tc.contents, Env: corpusEnv(t.TempDir())})
		if err != nil {
			t.Errorf("render %s against the agent: %v", tc.name, err)
			continue
		}
		if out != tc.golden {
			t.Errorf("render %s against the agent =\n%s\nwant (testdata/%s.golden)\n%s", tc.name, out, tc.name, tc.golden)
		}
		for k, v := range rec {
			fetched[k] = pinAgentService(v)
		}
	}
	if *update {
		if err := writeRecall(fetched); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile("testdata/recall.json")
	if err != nil {
		t.Fatal(err)
	}
	var recorded map[string]any
	if err := json.Unmarshal(data, &recorded); err != nil {
		t.Fatal(err)
	}
	for k, v := range fetched {
		live, err := withoutIndexes(v)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(live, recorded[k]) {
			t.Errorf("Fetch(%s) = %v, recall.json has %v (rewrite it with -update if the fixture changed)", k, live, recorded[k])
		}
	}
	for k := range recorded {
		if _, ok := fetched[k]; !ok {
			t.Errorf("recall.json holds %s, which no template uses", k)
		}
	}
}

// pinAgentService blanks the port and meta of the agent's own "consul"
// service in a `node` value: they are the agent's server port and build
// version, which differ between agents and builds; no golden prints them.
func pinAgentService(v any) any {
	n, ok := v.(*CatalogNode)
	if !ok {
		return v
	}
	cp := *n
	cp.Services = nil
	for _, s := range n.Services {
		if s.Service == "consul" {
			pinned := *s
			pinned.Port, pinned.Meta = 0, nil
			s = &pinned
		}
		cp.Services = append(cp.Services, s)
	}
	return &cp
}

// TestFetchBlocks checks each dependency type against a real agent: a
// Fetch with the index of the last one waits (a blocking query for the
// agent's data, polling for a file) and returns the new value once the
// data changes.
func TestFetchBlocks(t *testing.T) {
	t.Parallel()
	c, urls := fixtureAgent(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	file := filepath.Join(t.TempDir(), "f.txt")
	if err := os.WriteFile(file, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	put := func(k, v string) func() error {
		return func() error {
			_, err := c.KV().Put(ctx, &client.KVPair{Key: k, Value: []byte(v)}, nil)
			return err
		}
	}
	register := func(node, id, service, status string) func() error {
		return func() error {
			_, err := c.Catalog().Register(ctx, &client.CatalogRegistration{
				Node: node, Address: "10.9.9.9",
				Service: &client.NodeService{ID: id, Service: service, Port: 1},
				Check:   &client.HealthCheck{CheckID: "service:" + id, Name: id, Status: status, ServiceID: id},
			}, nil)
			return err
		}
	}
	mustParse := func(d Dependency, err error) Dependency {
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	kvget, _ := parseKVGet("app/name", false)
	services, _ := parseCatalogServices("")
	nodes, _ := parseCatalogNodes("")
	node, _ := parseCatalogNode("node9")

	for _, tc := range []struct {
		dep    Dependency
		path   string // request path of the blocking query; "" for a polled dependency
		change func() error
		want   func(v any) bool
	}{
		{mustParse(ParseHealthService("web")), "/v1/health/service/web", register("node9", "web9", "web", "passing"),
			func(v any) bool { return len(v.([]*HealthService)) == 2 }},
		{kvget, "/v1/kv/app/name", put("app/name", "changed"),
			func(v any) bool { return v == "changed" }},
		{mustParse(ParseKVList("app/config")), "/v1/kv/app/config", put("app/config/new", "n"),
			func(v any) bool { return len(v.([]*KeyPair)) == 7 }},
		{services, "/v1/catalog/services", register("node9", "cache9", "cache", "passing"),
			func(v any) bool { return len(v.([]*CatalogSnippet)) == 5 }},
		{nodes, "/v1/catalog/nodes", register("node8", "cache8", "cache", "passing"),
			func(v any) bool { return len(v.([]*Node)) == 6 }},
		{node, "/v1/catalog/node/node9", register("node9", "db9", "db", "passing"),
			func(v any) bool { return len(v.(*CatalogNode).Services) == 3 }},
		{&localFile{path: file, interval: 10 * time.Millisecond}, "",
			// Written beside and renamed, as config tools write: a write in
			// place can be read half done (empty, truncated), which the
			// file dependency then reports, as consul-template's does.
			func() error { return writeAtomic(file, "two") },
			func(v any) bool { return v == "two" }},
	} {
		_, idx, err := tc.dep.Fetch(ctx, c, nil)
		if err != nil {
			t.Fatalf("Fetch(%s) = %v", tc.dep, err)
		}
		done := make(chan error, 1)
		var got any
		var next uint64
		go func() {
			var err error
			got, next, err = tc.dep.Fetch(ctx, c, &client.QueryOptions{WaitIndex: idx, WaitTime: 30 * time.Second})
			done <- err
		}()
		if tc.path != "" {
			// The change is made once the blocking query is on its way,
			// so the Fetch can only return it by having waited.
			testutil.Retry(t, 10*time.Second, func() error {
				if !urls.sawBlocking(tc.path, idx) {
					return errors.New("no blocking query for " + tc.path + " yet")
				}
				return nil
			})
		}
		if err := tc.change(); err != nil {
			t.Fatalf("changing %s: %v", tc.dep, err)
		}
		if err := <-done; err != nil {
			t.Fatalf("blocking Fetch(%s) = %v", tc.dep, err)
		}
		if next == idx || !tc.want(got) {
			t.Errorf("blocking Fetch(%s) = %v at index %d, want the changed data at an index past %d", tc.dep, got, next, idx)
		}
	}
}

// TestKeyBlocksUntilWritten: `key` on a missing key holds its Fetch until
// the key is written, where keyExists's dependency returns nil at once.
func TestKeyBlocksUntilWritten(t *testing.T) {
	t.Parallel()
	c, urls := fixtureAgent(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exists, _ := parseKVGet("later", false)
	if v, _, err := exists.Fetch(ctx, c, nil); err != nil || v != nil {
		t.Fatalf("Fetch(%s) = %v, %v; want nil, nil", exists, v, err)
	}
	block, _ := parseKVGet("later", true)
	type result struct {
		v   any
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, _, err := block.Fetch(ctx, c, nil)
		done <- result{v, err}
	}()
	testutil.Retry(t, 10*time.Second, func() error {
		urls.mu.Lock()
		defer urls.mu.Unlock()
		for _, u := range urls.urls {
			if strings.Contains(u, "/v1/kv/later") && strings.Contains(u, "index=") {
				return nil
			}
		}
		return errors.New("no blocking query for the missing key yet")
	})
	if _, err := c.KV().Put(ctx, &client.KVPair{Key: "later", Value: []byte("here")}, nil); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || r.v != "here" {
		t.Errorf("Fetch(%s) = %v, %v; want here", block, r.v, r.err)
	}
}

// writeAtomic replaces path's content in one step.
func writeAtomic(path, content string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
