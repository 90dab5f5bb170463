package commands

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"conclave/internal/testutil"
)

// catalogFake answers catalog reads with canned JSON in Consul's shapes
// and records each request, so the tests check both what the commands ask
// and what they print.
type catalogFake struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []string
	replies map[string]string // path → body (200)
}

func newCatalogFake(t *testing.T, replies map[string]string) *catalogFake {
	t.Helper()
	f := &catalogFake{replies: replies}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, r.URL.RequestURI())
		f.mu.Unlock()
		body, ok := f.replies[r.URL.Path]
		if !ok {
			http.Error(w, "Bad request: no such thing", http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Consul-Index", "7")
		w.Write([]byte(body))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *catalogFake) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reqs...)
}

const (
	fakeNodes = `[
	 {"ID":"1b662d97-8b5c-3cc2-0ac0-96f55ad423b5","Node":"worker-01","Address":"10.4.5.31","Datacenter":"dc1",
	  "TaggedAddresses":{"wan":"10.4.5.31","lan":"10.4.5.31"},"Meta":{}},
	 {"ID":"","Node":"google","Address":"www.google.com","Datacenter":"dc1","TaggedAddresses":null,"Meta":{"ext":"yes","a":"1"}}]`
	fakeServiceWeb = `[{"ID":"1b662d97-8b5c-3cc2-0ac0-96f55ad423b5","Node":"worker-01","Address":"10.4.5.31","Datacenter":"dc1",
	  "TaggedAddresses":{"lan":"10.4.5.31"},"NodeMeta":{"rack":"a"},"ServiceID":"web","ServiceName":"web","ServicePort":80}]`
	fakeServices = `{"consul":[],"postgresql":["leader"],"redis":["v1","primary"]}`
	fakeNode     = `{"Node":{"Node":"worker-01"},"Services":{
	  "redis1":{"ID":"redis1","Service":"redis","Tags":["v1"]},
	  "redis2":{"ID":"redis2","Service":"redis","Tags":["primary","v1"]},
	  "consul":{"ID":"consul","Service":"consul","Tags":null}}}`
)

func TestNewCmdCatalogNodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	filterFile := filepath.Join(dir, "filter")
	if err := os.WriteFile(filterFile, []byte(`Meta.rack == "a"`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args    []string
		stdin   string
		want    CatalogNodesOptions // compared without IO, HTTPClient, HTTP
		wantErr string
	}{
		{args: nil, want: CatalogNodesOptions{Format: "text"}},
		{args: []string{"-detailed", "-service=web", "-near", "_agent"},
			want: CatalogNodesOptions{Detailed: true, Service: "web", Near: "_agent", Format: "text"}},
		{args: []string{"-node-meta", "a=1", "--node-meta=b=x=y"},
			want: CatalogNodesOptions{NodeMeta: map[string]string{"a": "1", "b": "x=y"}, Format: "text"}},
		{args: []string{"-filter", "Node == x", "-format=json"}, want: CatalogNodesOptions{Filter: "Node == x", Format: "json"}},
		{args: []string{"-filter=@" + filterFile}, want: CatalogNodesOptions{Filter: `Meta.rack == "a"`, Format: "text"}},
		{args: []string{"-filter=-"}, stdin: "Node != y", want: CatalogNodesOptions{Filter: "Node != y", Format: "text"}},
		{args: []string{"-filter=@" + filepath.Join(dir, "missing")}, wantErr: "Could not process filter argument"},
		{args: []string{"-node-meta", "novalue"}, wantErr: `missing "=" in "novalue"`},
		{args: []string{"extra"}, wantErr: "Too many arguments (expected 0, got 1)"},
		{args: []string{"-format=yaml"}, wantErr: `Invalid -format "yaml"`},
	}
	for _, tt := range tests {
		f, _, _ := testFactory()
		f.IOStreams.In = strings.NewReader(tt.stdin)
		var got *CatalogNodesOptions
		err := parseCmd(t, NewCmdCatalogNodes(f, func(o *CatalogNodesOptions) error { got = o; return nil }), tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("catalog nodes %q: error = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("catalog nodes %q: error = %v", tt.args, err)
			continue
		}
		got.IO, got.HTTPClient, got.HTTP = nil, nil, nil
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("catalog nodes %q: options = %+v, want %+v", tt.args, *got, tt.want)
		}
	}
}

func TestNewCmdCatalogServices(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		want    CatalogServicesOptions
		wantErr string
	}{
		{args: nil, want: CatalogServicesOptions{Format: "text"}},
		{args: []string{"-tags", "-node", "worker-01", "-node-meta=rack=a"},
			want: CatalogServicesOptions{Tags: true, Node: "worker-01", NodeMeta: map[string]string{"rack": "a"}, Format: "text"}},
		{args: []string{"-format", "json"}, want: CatalogServicesOptions{Format: "json"}},
		{args: []string{"a", "b"}, wantErr: "Too many arguments (expected 0, got 2)"},
		{args: []string{"-tags=maybe"}, wantErr: `invalid argument "maybe"`},
	}
	for _, tt := range tests {
		f, _, _ := testFactory()
		var got *CatalogServicesOptions
		err := parseCmd(t, NewCmdCatalogServices(f, func(o *CatalogServicesOptions) error { got = o; return nil }), tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("catalog services %q: error = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("catalog services %q: error = %v", tt.args, err)
			continue
		}
		got.IO, got.HTTPClient, got.HTTP = nil, nil, nil
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("catalog services %q: options = %+v, want %+v", tt.args, *got, tt.want)
		}
	}
}

func TestCatalogRun(t *testing.T) {
	t.Parallel()
	replies := map[string]string{
		"/v1/catalog/nodes":          fakeNodes,
		"/v1/catalog/service/web":    fakeServiceWeb,
		"/v1/catalog/service/none":   `[]`,
		"/v1/catalog/services":       fakeServices,
		"/v1/catalog/node/worker-01": fakeNode,
		"/v1/catalog/node/nope":      `null`,
		"/v1/catalog/service//odd?":  `[]`,
	}
	tests := []struct {
		name    string
		args    []string
		want    result
		wantReq string
	}{
		{"nodes", []string{"catalog", "nodes"}, result{
			"Node       ID        Address         DC\n" +
				"worker-01  1b662d97  10.4.5.31       dc1\n" +
				"google               www.google.com  dc1\n", "", 0}, "/v1/catalog/nodes"},
		{"nodes detailed", []string{"catalog", "nodes", "-detailed"}, result{
			"Node       ID                                    Address         DC   TaggedAddresses               Meta\n" +
				"worker-01  1b662d97-8b5c-3cc2-0ac0-96f55ad423b5  10.4.5.31       dc1  lan=10.4.5.31, wan=10.4.5.31\n" +
				"google                                           www.google.com  dc1                                a=1, ext=yes\n", "", 0}, "/v1/catalog/nodes"},
		{"nodes query parameters", []string{"catalog", "nodes", "-node-meta=rack=a", "-node-meta=os=linux", "-near=_agent", "-filter", `Node == "x"`, "-stale"},
			result{"Node       ID        Address         DC\nworker-01  1b662d97  10.4.5.31       dc1\ngoogle               www.google.com  dc1\n", "", 0},
			"/v1/catalog/nodes?filter=Node+%3D%3D+%22x%22&near=_agent&node-meta=os%3Alinux&node-meta=rack%3Aa&stale"},
		{"nodes of a service", []string{"catalog", "nodes", "-service=web"}, result{
			"Node       ID        Address    DC\nworker-01  1b662d97  10.4.5.31  dc1\n", "", 0}, "/v1/catalog/service/web"},
		{"nodes of a service, escaped", []string{"catalog", "nodes", "-service=/odd?"}, result{
			"", "No nodes match the given query - try expanding your search.\n", 0}, "/v1/catalog/service/%2Fodd%3F"},
		{"no nodes", []string{"catalog", "nodes", "-service=none"}, result{
			"", "No nodes match the given query - try expanding your search.\n", 0}, "/v1/catalog/service/none"},
		{"no nodes, json", []string{"catalog", "nodes", "-service=none", "-format=json"}, result{"[]\n", "", 0}, "/v1/catalog/service/none"},
		{"nodes json", []string{"catalog", "nodes", "-service=web", "-format=json"}, result{`[
  {
    "Node": "worker-01",
    "ID": "1b662d97-8b5c-3cc2-0ac0-96f55ad423b5",
    "Address": "10.4.5.31",
    "Datacenter": "dc1",
    "TaggedAddresses": {
      "lan": "10.4.5.31"
    },
    "Meta": {
      "rack": "a"
    }
  }
]
`, "", 0}, "/v1/catalog/service/web"},
		{"agent refuses", []string{"catalog", "nodes", "-service=bad"}, result{
			"", "Error listing nodes for service: Unexpected response code: 400 (Bad request: no such thing)\n", 1}, "/v1/catalog/service/bad"},
		{"services", []string{"catalog", "services"}, result{"consul\npostgresql\nredis\n", "", 0}, "/v1/catalog/services"},
		{"services with tags", []string{"catalog", "services", "-tags"}, result{
			"consul\npostgresql      leader\nredis           primary,v1\n", "", 0}, "/v1/catalog/services"},
		{"services of a node", []string{"catalog", "services", "-node=worker-01", "-tags"}, result{
			"consul\nredis       primary,v1\n", "", 0}, "/v1/catalog/node/worker-01"},
		{"services of a missing node", []string{"catalog", "services", "-node=nope"}, result{
			"", "No services match the given query - try expanding your search.\n", 0}, "/v1/catalog/node/nope"},
		{"services json", []string{"catalog", "services", "-format=json", "-node-meta=rack=a"}, result{`[
  {
    "Name": "consul",
    "Tags": []
  },
  {
    "Name": "postgresql",
    "Tags": [
      "leader"
    ]
  },
  {
    "Name": "redis",
    "Tags": [
      "primary",
      "v1"
    ]
  }
]
`, "", 0}, "/v1/catalog/services?node-meta=rack%3Aa"},
		{"unknown subcommand", []string{"catalog", "frobnicate"}, result{"", "Error! Unknown subcommand \"frobnicate\" for \"conclave catalog\"\n", 1}, ""},
	}
	for _, tt := range tests {
		f := newCatalogFake(t, replies)
		args := tt.args
		if tt.wantReq != "" {
			args = append(args, "-http-addr="+f.srv.URL)
		}
		got := runCLI(t, run{args: args})
		if got != tt.want {
			t.Errorf("%s: %q =\n%+v\nwant\n%+v", tt.name, tt.args, got, tt.want)
		}
		if reqs := f.requests(); tt.wantReq != "" && (len(reqs) != 1 || reqs[0] != tt.wantReq) {
			t.Errorf("%s: requests = %q, want [%s]", tt.name, reqs, tt.wantReq)
		}
	}
}

func TestCatalogUnreachable(t *testing.T) {
	t.Parallel()
	got := runCLI(t, run{args: []string{"catalog", "services", "-http-addr=127.0.0.1:1"}})
	if got.code != ExitUnreachable || !strings.HasPrefix(got.stderr, "Error! agent unreachable at 127.0.0.1:1") || got.stdout != "" {
		t.Errorf("catalog services against a closed port = %+v, want exit 3 and the unreachable message", got)
	}
}

// TestCatalogAgainstAgent runs the commands against a real agent.
func TestCatalogAgainstAgent(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	c := newCatalogClient(t, a.HTTPAddr())
	c.register(t, `{"Node":"google","Address":"www.google.com","NodeMeta":{"cli":"yes"},"Service":{"Service":"search","Port":80,"Tags":["b","a"]}}`)
	c.register(t, `{"Node":"n1","ID":"0d6c0b3a-5c1e-4bb8-9c57-1f2a3b4c5d6e","Address":"10.0.0.1","NodeMeta":{"cli":"yes"},"Service":{"Service":"web","Port":80}}`)
	addr := "-http-addr=" + a.HTTPAddr()
	tests := []struct {
		args []string
		want result
	}{
		{[]string{"catalog", "services", "-tags", "-node-meta=cli=yes"}, result{"search      a,b\nweb\n", "", 0}},
		{[]string{"catalog", "nodes", "-node-meta=cli=yes"}, result{
			"Node    ID        Address         DC\ngoogle            www.google.com  dc1\nn1      0d6c0b3a  10.0.0.1        dc1\n", "", 0}},
		{[]string{"catalog", "nodes", "-service=web"}, result{"Node  ID        Address   DC\nn1    0d6c0b3a  10.0.0.1  dc1\n", "", 0}},
		{[]string{"catalog", "nodes", "-filter", `Meta.cli == "yes" and Node == "google"`}, result{
			"Node    ID  Address         DC\ngoogle      www.google.com  dc1\n", "", 0}},
		{[]string{"catalog", "services", "-node=google"}, result{"search\n", "", 0}},
		{[]string{"catalog", "nodes", "-filter", `Node ==`}, result{"", "", 1}},
	}
	for _, tt := range tests {
		got := runCLI(t, run{args: append(tt.args, addr)})
		if tt.want.code != 0 {
			if got.code != tt.want.code || !strings.Contains(got.stderr, "Error listing nodes: Unexpected response code: 400") {
				t.Errorf("%q = %+v, want exit %d with the agent's 400", tt.args, got, tt.want.code)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("%q =\n%+v\nwant\n%+v", tt.args, got, tt.want)
		}
	}
}

// catalogClient registers fixtures over plain HTTP, independent of the
// code under test.
type catalogClient struct{ base string }

func newCatalogClient(t *testing.T, addr string) *catalogClient {
	t.Helper()
	return &catalogClient{base: "http://" + addr}
}

func (c *catalogClient) register(t *testing.T, body string) {
	t.Helper()
	req, err := http.NewRequest("PUT", c.base+"/v1/catalog/register", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT /v1/catalog/register: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT /v1/catalog/register %s = %d, want 200", body, resp.StatusCode)
	}
}
