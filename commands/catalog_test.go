package commands

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"conclave/agent/config"
	"conclave/internal/testutil"
	"conclave/version"
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

// selfID is the node ID of the agent the catalog tests start, fixed so
// that the tables can show it.
const selfID = "5a1b2c3d-0000-4000-8000-00000000a9e1"

// newCatalogAgent starts an agent, waits until it has registered itself
// (the leader adds the node and its consul service, anti-entropy the
// tagged addresses and metadata), so that its own entry no longer moves,
// then registers regs through the official client.
func newCatalogAgent(t *testing.T, regs ...*api.CatalogRegistration) *testutil.TestAgent {
	t.Helper()
	a := testutil.NewAgent(t, testutil.AgentOptions{Tweak: func(c *config.Config) { c.NodeID = selfID }})
	testutil.WaitForNodeSynced(t, a)
	cat := testutil.APIClient(t, a).Catalog()
	for _, r := range regs {
		if _, err := cat.Register(r, nil); err != nil {
			t.Fatalf("Catalog().Register(%s/%v) = %v", r.Node, r.Service, err)
		}
	}
	return a
}

// catalogFixture is the catalog the run tests read, beside the agent's own
// node (test-node at 127.0.0.1 with the consul service): an agent's node
// with three services, one of them twice, and an external node without an
// ID.
func catalogFixture() []*api.CatalogRegistration {
	worker := func(svc *api.AgentService) *api.CatalogRegistration {
		return &api.CatalogRegistration{
			ID: "1b662d97-8b5c-3cc2-0ac0-96f55ad423b5", Node: "worker-01", Address: "10.4.5.31",
			TaggedAddresses: map[string]string{"lan": "10.4.5.31", "wan": "198.51.100.7"},
			NodeMeta:        map[string]string{"rack": "a", "os": "linux"},
			Service:         svc,
		}
	}
	return []*api.CatalogRegistration{
		worker(&api.AgentService{ID: "web", Service: "web", Port: 80}),
		worker(&api.AgentService{ID: "redis1", Service: "redis", Tags: []string{"v1"}, Port: 6379}),
		worker(&api.AgentService{ID: "redis2", Service: "redis", Tags: []string{"primary", "v1"}, Port: 6380}),
		{Node: "google", Address: "www.google.com", NodeMeta: map[string]string{"ext": "yes", "a": "1"},
			Service: &api.AgentService{ID: "search", Service: "search", Tags: []string{"b", "a"}, Port: 443}},
	}
}

// TestCatalogRun runs the catalog commands against a real agent and checks
// what they print and the one request each sends (seen through a tap in
// front of the agent).
func TestCatalogRun(t *testing.T) {
	t.Parallel()
	a := newCatalogAgent(t, catalogFixture()...)
	const (
		nodesTable = "Node       ID        Address         DC\n" +
			"google               www.google.com  dc1\n" +
			"test-node  5a1b2c3d  127.0.0.1       dc1\n" +
			"worker-01  1b662d97  10.4.5.31       dc1\n"
		noNodes    = "No nodes match the given query - try expanding your search.\n"
		noServices = "No services match the given query - try expanding your search.\n"
		// The agent's answer to -filter "Node ==", go-bexpr's parse error.
		badFilter = `Unexpected response code: 400 (Bad request: invalid filter "Node ==": failed to create boolean expression evaluator: ` +
			"1:8 (7): no match found, expected: \"-\", \"0\", \"\\\"\", \"`\", [ \\t\\r\\n], [1-9] or [a-zA-Z])\n"
	)
	tests := []struct {
		name    string
		args    []string
		want    result
		wantReq string // "" when the command must not reach the agent
	}{
		{"nodes", []string{"catalog", "nodes"}, result{nodesTable, "", 0}, "/v1/catalog/nodes"},
		{"nodes detailed", []string{"catalog", "nodes", "-detailed"}, result{
			"Node       ID                                    Address         DC   TaggedAddresses                                                       Meta\n" +
				"google                                           www.google.com  dc1                                                                        a=1, ext=yes\n" +
				"test-node  " + selfID + "  127.0.0.1       dc1  lan=127.0.0.1, lan_ipv4=127.0.0.1, wan=127.0.0.1, wan_ipv4=127.0.0.1  consul-network-segment=, consul-version=" + version.ConsulVersion + "\n" +
				"worker-01  1b662d97-8b5c-3cc2-0ac0-96f55ad423b5  10.4.5.31       dc1  lan=10.4.5.31, wan=198.51.100.7                                       os=linux, rack=a\n", "", 0},
			"/v1/catalog/nodes"},
		{"nodes query parameters", []string{"catalog", "nodes", "-node-meta=rack=a", "-node-meta=os=linux", "-near=_agent", "-filter", `Address == "10.4.5.31"`, "-stale"},
			result{"Node       ID        Address    DC\nworker-01  1b662d97  10.4.5.31  dc1\n", "", 0},
			"/v1/catalog/nodes?filter=Address+%3D%3D+%2210.4.5.31%22&near=_agent&node-meta=os%3Alinux&node-meta=rack%3Aa&stale"},
		{"nodes by metadata", []string{"catalog", "nodes", "-node-meta=ext=yes"},
			result{"Node    ID  Address         DC\ngoogle      www.google.com  dc1\n", "", 0}, "/v1/catalog/nodes?node-meta=ext%3Ayes"},
		{"nodes filtered", []string{"catalog", "nodes", "-filter", `Meta.ext == "yes" and Node == "google"`},
			result{"Node    ID  Address         DC\ngoogle      www.google.com  dc1\n", "", 0},
			"/v1/catalog/nodes?filter=Meta.ext+%3D%3D+%22yes%22+and+Node+%3D%3D+%22google%22"},
		{"nodes of a service", []string{"catalog", "nodes", "-service=web"}, result{
			"Node       ID        Address    DC\nworker-01  1b662d97  10.4.5.31  dc1\n", "", 0}, "/v1/catalog/service/web"},
		{"nodes of a service: a row per instance, as Consul prints", []string{"catalog", "nodes", "-service=redis"}, result{
			"Node       ID        Address    DC\nworker-01  1b662d97  10.4.5.31  dc1\nworker-01  1b662d97  10.4.5.31  dc1\n", "", 0},
			"/v1/catalog/service/redis"},
		// (A leading "/" would make the path unclean, which the agent
		// redirects, as Consul's does.)
		{"nodes of a service, escaped", []string{"catalog", "nodes", "-service=odd?"}, result{"", noNodes, 0},
			"/v1/catalog/service/odd%3F"},
		{"no nodes", []string{"catalog", "nodes", "-service=none"}, result{"", noNodes, 0}, "/v1/catalog/service/none"},
		{"no nodes, json", []string{"catalog", "nodes", "-service=none", "-format=json"}, result{"[]\n", "", 0}, "/v1/catalog/service/none"},
		{"nodes json", []string{"catalog", "nodes", "-service=web", "-format=json"}, result{`[
  {
    "Node": "worker-01",
    "ID": "1b662d97-8b5c-3cc2-0ac0-96f55ad423b5",
    "Address": "10.4.5.31",
    "Datacenter": "dc1",
    "TaggedAddresses": {
      "lan": "10.4.5.31",
      "wan": "198.51.100.7"
    },
    "Meta": {
      "os": "linux",
      "rack": "a"
    }
  }
]
`, "", 0}, "/v1/catalog/service/web"},
		{"agent refuses a filter", []string{"catalog", "nodes", "-filter", "Node =="}, result{
			"", "Error listing nodes: " + badFilter, 1}, "/v1/catalog/nodes?filter=Node+%3D%3D"},
		{"agent refuses a filter on a service", []string{"catalog", "nodes", "-service=web", "-filter", "Node =="}, result{
			"", "Error listing nodes for service: " + badFilter, 1}, "/v1/catalog/service/web?filter=Node+%3D%3D"},
		{"services", []string{"catalog", "services"}, result{"consul\nredis\nsearch\nweb\n", "", 0}, "/v1/catalog/services"},
		{"services with tags", []string{"catalog", "services", "-tags"}, result{
			"consul\nredis       primary,v1\nsearch      a,b\nweb\n", "", 0}, "/v1/catalog/services"},
		{"services by metadata", []string{"catalog", "services", "-tags", "-node-meta=ext=yes"}, result{
			"search      a,b\n", "", 0}, "/v1/catalog/services?node-meta=ext%3Ayes"},
		{"services of a node", []string{"catalog", "services", "-node=worker-01", "-tags"}, result{
			"redis      primary,v1\nweb\n", "", 0}, "/v1/catalog/node/worker-01"},
		{"services of a missing node", []string{"catalog", "services", "-node=nope"}, result{"", noServices, 0}, "/v1/catalog/node/nope"},
		{"services json", []string{"catalog", "services", "-format=json", "-node-meta=rack=a"}, result{`[
  {
    "Name": "redis",
    "Tags": [
      "primary",
      "v1"
    ]
  },
  {
    "Name": "web",
    "Tags": []
  }
]
`, "", 0}, "/v1/catalog/services?node-meta=rack%3Aa"},
		{"datacenters", []string{"catalog", "datacenters"}, result{"dc1\n", "", 0}, "/v1/catalog/datacenters"},
		{"unknown subcommand", []string{"catalog", "frobnicate"}, result{"", "Error! Unknown subcommand \"frobnicate\" for \"conclave catalog\"\n", 1}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tap := newWireTap(t, a, false)
			got := runCLI(t, run{args: append(tt.args, "-http-addr="+tap.addr())})
			if got != tt.want {
				t.Errorf("%q =\n%+v\nwant\n%+v", tt.args, got, tt.want)
			}
			var want []string
			if tt.wantReq != "" {
				want = []string{"GET " + tt.wantReq}
			}
			if reqs := tap.requests(); !reflect.DeepEqual(reqs, want) {
				t.Errorf("%q sent %q, want %q", tt.args, reqs, want)
			}
		})
	}
}

func TestCatalogUnreachable(t *testing.T) {
	t.Parallel()
	got := runCLI(t, run{args: []string{"catalog", "services", "-http-addr=127.0.0.1:1"}})
	if got.code != ExitUnreachable || !strings.HasPrefix(got.stderr, "Error! agent unreachable at 127.0.0.1:1") || got.stdout != "" {
		t.Errorf("catalog services against a closed port = %+v, want exit 3 and the unreachable message", got)
	}
}
