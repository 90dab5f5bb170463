//go:build unix

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"conclave/agent/config"
	"conclave/internal/testutil"
	"conclave/version"
)

// Issue 16, "drop-in means drop-in": what a Consul user hits first,
// through the official client and the built binary.

// TestCompatCLIErrors checks the CLI's refusals as Consul's CLI words them
// (Go's flag package: "flag provided but not defined: -recurs"), the
// unknown command's usage and status 127 (mitchellh/cli, which Consul's
// CLI is built on, see developer.hashicorp.com/consul/commands), an empty
// key refused without asking the agent, a misspelt key in a service file
// refused with its name ("services register" command page), and help
// texts naming the binary as it was invoked.
func TestCompatCLIErrors(t *testing.T) {
	t.Parallel()
	agent := cliDevAgent(t)
	env := []string{"CONSUL_HTTP_ADDR=" + agent.HTTPAddr()}
	svc := filepath.Join(t.TempDir(), "web.json")
	if err := os.WriteFile(svc, []byte(`{"service": {"name": "web", "prot": 80}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"conclave", "consul"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			bin := cliLink(t, name)
			cliRunSteps(t, bin, env, []cliStep{
				{args: []string{"kv", "get", "-recurs"}, want: testutil.CLIResult{
					Stderr: "Error! flag provided but not defined: -recurs\nRun '" + name + " kv get -help' for usage.\n", Code: 1}},
				{args: []string{"kv", "put", "-flags=abc", "k", "v"}, want: testutil.CLIResult{
					Stderr: "Error! invalid value \"abc\" for flag -flags: parse error\nRun '" + name + " kv put -help' for usage.\n", Code: 1}},
				{args: []string{"kv", "put", "", "v"}, want: testutil.CLIResult{Stderr: "Error! Missing KEY argument\n", Code: 1}},
				{args: []string{"services", "register", svc}, want: testutil.CLIResult{
					Stderr: "Error registering service \"web\": Unexpected response code: 400 (Request decode failed: prot: unknown key)\n", Code: 1}},
				{args: []string{"catalog", "services"}, want: cliOK("consul\n")},
			})
			got := testutil.RunCLI(t, bin, env, "", "frobnicate")
			if got.Code != 127 || got.Stdout != "" || !strings.HasPrefix(got.Stderr, "Usage: "+name+" ") {
				t.Errorf("%s frobnicate = %+v, want exit 127, no stdout, the usage on stderr", name, got)
			}
			// (lock's help also shows its session name's default value,
			// "conclave lock", which is not a command line.)
			for _, args := range [][]string{{"kv", "put", "-h"}, {"kv", "-h"}, {"services", "-h"}} {
				got := testutil.RunCLI(t, bin, env, "", args...)
				if got.Code != 0 || !strings.Contains(got.Stdout, name+" "+args[0]) {
					t.Errorf("%s %s = %+v, want the help naming %q", name, strings.Join(args, " "), got, name+" "+args[0])
				}
				if name == "consul" && strings.Contains(got.Stdout, "conclave "+args[0]) {
					t.Errorf("consul %s help says %q, want %q everywhere", strings.Join(args, " "), "conclave "+args[0], "consul "+args[0])
				}
			}
		})
	}
}

// TestCompatBodyLimits sends bodies over the limit: 413 with a reason
// before the body is read, on every endpoint that takes one, whether the
// request says its length or not (Consul's "KV store" API page documents
// the 413 for values over 512 KiB).
func TestCompatBodyLimits(t *testing.T) {
	t.Parallel()
	c, a := newClient(t)

	_, err := c.KV().Put(&api.KVPair{Key: "big", Value: bytes.Repeat([]byte("x"), 600<<10)}, nil)
	if err == nil || !strings.Contains(err.Error(), "413") || !strings.Contains(err.Error(), "too large") {
		t.Errorf("KV().Put(600 KiB) = %v, want a 413 saying it is too large", err)
	}

	base := "http://" + a.HTTPAddr()
	for _, tc := range []struct {
		path    string
		size    int
		chunked bool
	}{
		{"/v1/catalog/register", 2 << 20, false}, // under the limit: 400, not JSON
		{"/v1/catalog/register", 60 << 20, false},
		{"/v1/catalog/register", 60 << 20, true},
		{"/v1/agent/service/register", 2 << 20, false},
		{"/v1/session/create", 5 << 20, true},
		{"/v1/txn", 60 << 20, false},
		{"/v1/kv/big", 1 << 20, true},
	} {
		body := io.Reader(bytes.NewReader(bytes.Repeat([]byte("{"), tc.size)))
		if tc.chunked {
			body = io.MultiReader(body) // hides the length: sent chunked
		}
		req, err := http.NewRequest("PUT", base+tc.path, body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("PUT %s (%d bytes, chunked %t) = %v, want an answer", tc.path, tc.size, tc.chunked, err)
			continue
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := http.StatusRequestEntityTooLarge
		if tc.size == 2<<20 && tc.path == "/v1/catalog/register" {
			want = http.StatusBadRequest
		}
		if resp.StatusCode != want || !strings.Contains(string(msg), map[int]string{413: "too large", 400: "Request decode failed"}[want]) {
			t.Errorf("PUT %s (%d bytes, chunked %t) = %d %q, want %d with a reason", tc.path, tc.size, tc.chunked, resp.StatusCode, msg, want)
		}
	}
}

// TestCompatErrorTexts checks messages clients match on: a bad duration
// says "invalid duration", as Consul's API errors do (Go's own text,
// "time: invalid duration"), and a value of the wrong type names the field
// as JSON spells it, not Go's struct and type names.
func TestCompatErrorTexts(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web",
		Check: &api.AgentServiceCheck{HTTP: "http://127.0.0.1:1/", Interval: "soon"}})
	if err == nil || !strings.Contains(err.Error(), `invalid duration "soon"`) {
		t.Errorf("ServiceRegister(Interval soon) = %v, want it to say invalid duration", err)
	}
	_, err = c.Raw().Write("/v1/catalog/register", map[string]any{
		"Node": "n1", "Address": "10.0.0.1", "Service": map[string]any{"Service": "s", "Port": "eighty"},
	}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "Service.Port: got a JSON string, want a number") || strings.Contains(err.Error(), "Go struct") {
		t.Errorf("catalog register (Port as a string) = %v, want the field and types as JSON names them", err)
	}
}

// TestCompatAgentFlags starts the built binary with an empty config file
// and the `consul agent` flags operators reach for first (agent command
// page, "Command-line options"), and checks that `agent -h` lists them.
func TestCompatAgentFlags(t *testing.T) {
	t.Parallel()
	empty := filepath.Join(t.TempDir(), "empty.json")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p := testutil.StartProcess(t, testutil.ProcessOptions{Bin: conclaveBin, Args: []string{
		"-dev", "-config-file", empty, "-data-dir", t.TempDir(),
		"-node-meta", "rack:r1", "-hcl", `node_name = "flagged"`,
		"-enable-script-checks", "-enable-local-script-checks", "-disable-host-node-id",
		"-serf-lan-bind", "127.0.0.1", "-serf-wan-bind", "127.0.0.1", "-grpc-port", "-1",
		"-domain", "consul", "-alt-domain", "alt.example", "-recursor", "127.0.0.1:1",
		"-raft-protocol", "3", "-config-format", "json", "-retry-interval-wan", "5s",
	}})
	cfg := api.DefaultConfig()
	cfg.Address = p.HTTPAddr()
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	self, err := c.Agent().Self()
	if err != nil {
		t.Fatalf("Agent().Self() = %v", err)
	}
	if name := self["Config"]["NodeName"]; name != "flagged" {
		t.Errorf("Self() NodeName = %v, want the -hcl fragment's %q", name, "flagged")
	}

	help := testutil.RunCLI(t, conclaveBin, nil, "", "agent", "-h")
	for _, f := range []string{"-node-meta", "-hcl", "-enable-script-checks", "-enable-local-script-checks",
		"-disable-host-node-id", "-serf-lan-bind", "-serf-wan-bind", "-grpc-port", "-domain", "-alt-domain",
		"-recursor", "-raft-protocol", "-config-format", "-retry-join-wan", "-retry-interval-wan", "-data-dir",
		"-encrypt", "-ui", "-pid-file"} {
		if !strings.Contains(help.Stdout, "\n  "+f+"\n") && !strings.Contains(help.Stdout, "\n  "+f+"=") {
			t.Errorf("agent -h does not list %s", f)
		}
	}
	got := testutil.RunCLI(t, conclaveBin, nil, "", "agent", "-dev", "-rejoin")
	if got.Code != 1 || !strings.Contains(got.Stderr, "flag -rejoin: rejoining from a snapshot of the member list is not supported yet") {
		t.Errorf("agent -dev -rejoin = %+v, want exit 1 saying rejoining is not supported", got)
	}
}

// TestCompatNodeMeta runs the binary with node_meta in a file and
// -node-meta on the command line: the node's Meta holds both and
// "consul-version", the version `version -format=json` reports, and
// ?node-meta= narrows catalog and health reads to it, as in Consul (agent
// configuration page, "node_meta"; catalog API page, "node-meta"). Meta
// over Consul's limits is refused.
func TestCompatNodeMeta(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "meta.hcl")
	if err := os.WriteFile(file, []byte("node_meta {\n  env = \"prod\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := testutil.StartProcess(t, testutil.ProcessOptions{Bin: conclaveBin, Args: []string{
		"-dev", "-node", "meta-node", "-config-file", file, "-node-meta", "rack:r1"}})
	cfg := api.DefaultConfig()
	cfg.Address = p.HTTPAddr()
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Version string }
	out := testutil.RunCLI(t, conclaveBin, nil, "", "version", "-format=json")
	if err := json.Unmarshal([]byte(out.Stdout), &v); err != nil || v.Version == "" {
		t.Fatalf("version -format=json = %q (%v), want a Version", out.Stdout, err)
	}
	want := map[string]string{"env": "prod", "rack": "r1", "consul-version": v.Version, "consul-network-segment": ""}
	testutil.Retry(t, 10*time.Second, func() error {
		n, _, err := c.Catalog().Node("meta-node", nil)
		if err != nil || n == nil {
			return fmt.Errorf("Catalog().Node(meta-node) = %v, %v", n, err)
		}
		if !reflect.DeepEqual(n.Node.Meta, want) {
			return fmt.Errorf("Catalog().Node(meta-node).Meta = %v, want %v", n.Node.Meta, want)
		}
		return nil
	})
	self, err := c.Agent().Self()
	if err != nil {
		t.Fatal(err)
	}
	if got := self["Config"]["Version"]; got != v.Version {
		t.Errorf("Self() Config.Version = %v, want %q", got, v.Version)
	}

	// A second node without the meta, so the filter has something to drop.
	if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: "other", Address: "10.0.0.2",
		Service: &api.AgentService{Service: "web", Port: 80}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: "meta-node", Address: "127.0.0.1", SkipNodeUpdate: true,
		Service: &api.AgentService{Service: "web", Port: 81}}, nil); err != nil {
		t.Fatal(err)
	}
	q := &api.QueryOptions{NodeMeta: map[string]string{"rack": "r1"}}
	nodes, _, err := c.Catalog().Nodes(q)
	if err != nil || len(nodes) != 1 || nodes[0].Node != "meta-node" {
		t.Errorf("Catalog().Nodes(rack:r1) = %v, %v; want meta-node alone", nodes, err)
	}
	svcs, _, err := c.Catalog().Service("web", "", q)
	if err != nil || len(svcs) != 1 || svcs[0].Node != "meta-node" {
		t.Errorf("Catalog().Service(web, rack:r1) = %v, %v; want meta-node alone", svcs, err)
	}
	entries, _, err := c.Health().Service("web", "", false, q)
	if err != nil || len(entries) != 1 || entries[0].Node.Node != "meta-node" {
		t.Errorf("Health().Service(web, rack:r1) = %v, %v; want meta-node alone", entries, err)
	}

	for name, meta := range map[string]map[string]string{
		"a 2 MB value":   {"big": strings.Repeat("x", 2<<20)},
		"a bad key":      {"no spaces": "x"},
		"a long key":     {strings.Repeat("k", 129): "x"},
		"65 pairs":       manyPairs(65),
		"a 513 B value ": {"v": strings.Repeat("x", 513)},
	} {
		_, err := c.Catalog().Register(&api.CatalogRegistration{Node: "n-" + strings.ReplaceAll(name, " ", "-"), Address: "10.0.0.3", NodeMeta: meta}, nil)
		if err == nil || !strings.Contains(err.Error(), "400") && !strings.Contains(err.Error(), "413") {
			t.Errorf("Catalog().Register(NodeMeta with %s) = %v, want it refused", name, err)
		}
	}
}

func manyPairs(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m["k"+strconv.Itoa(i)] = "v"
	}
	return m
}

// TestCompatServiceFieldsRoundTrip registers services with every field a
// client may send, through the agent and through the catalog, and reads
// each back from every read (agent services API page, "Register Service";
// catalog API page, "Register Entity"). Mesh fields are kept and returned,
// not acted on.
func TestCompatServiceFieldsRoundTrip(t *testing.T) {
	t.Parallel()
	c, a := newClient(t)
	node := a.Config.NodeName
	ports := api.ServicePorts{{Name: "http", Port: 8080, Default: true}, {Name: "admin", Port: 9090}}
	loc := &api.Locality{Region: "eu-west-1", Zone: "eu-west-1a"}
	tagged := map[string]api.ServiceAddress{"lan": {Address: "10.0.0.5", Port: 8080}}
	meta := map[string]string{"version": "2"}
	weights := api.AgentWeights{Passing: 3, Warning: 1}
	proxy := &api.AgentServiceConnectProxyConfig{DestinationServiceName: "web", LocalServicePort: 8080,
		Upstreams: []api.Upstream{{DestinationName: "db", LocalBindPort: 9191}}}

	regs := []*api.AgentServiceRegistration{
		{ID: "web-1", Name: "web", Port: 8080, Ports: ports, Address: "10.0.0.5", TaggedAddresses: tagged,
			Meta: meta, Weights: &weights, EnableTagOverride: true, Locality: loc,
			Connect: &api.AgentServiceConnect{Native: true}},
		{Kind: api.ServiceKindConnectProxy, ID: "web-proxy", Name: "web-sidecar-proxy", Port: 21000, Proxy: proxy, Locality: loc},
	}
	for _, r := range regs {
		if err := c.Agent().ServiceRegister(r); err != nil {
			t.Fatalf("ServiceRegister(%s) = %v", r.ID, err)
		}
	}
	check := func(where string, kind api.ServiceKind, gotPorts api.ServicePorts, gotLoc *api.Locality, gotProxy *api.AgentServiceConnectProxyConfig) {
		t.Helper()
		if kind == api.ServiceKindConnectProxy {
			if gotProxy == nil || gotProxy.DestinationServiceName != "web" || len(gotProxy.Upstreams) != 1 || gotProxy.Upstreams[0].LocalBindPort != 9191 {
				t.Errorf("%s: Proxy = %+v, want %+v", where, gotProxy, proxy)
			}
		} else if gotPorts != nil && !reflect.DeepEqual(gotPorts, ports) {
			t.Errorf("%s: Ports = %+v, want %+v", where, gotPorts, ports)
		}
		if !reflect.DeepEqual(gotLoc, loc) {
			t.Errorf("%s: Locality = %+v, want %+v", where, gotLoc, loc)
		}
	}

	svcs, err := c.Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	web, px := svcs["web-1"], svcs["web-proxy"]
	if web == nil || px == nil {
		t.Fatalf("Agent().Services() = %v, want web-1 and web-proxy", svcs)
	}
	check("agent/services web-1", web.Kind, web.Ports, web.Locality, web.Proxy)
	check("agent/services web-proxy", px.Kind, px.Ports, px.Locality, px.Proxy)
	if px.Kind != api.ServiceKindConnectProxy || web.Connect == nil || !web.Connect.Native ||
		!reflect.DeepEqual(web.TaggedAddresses, tagged) || web.Weights != weights || !web.EnableTagOverride || web.Meta["version"] != "2" {
		t.Errorf("Agent().Services() web-1 = %+v, proxy kind %q; want every registered field", web, px.Kind)
	}
	one, _, err := c.Agent().Service("web-proxy", nil)
	if err != nil {
		t.Fatal(err)
	}
	check("agent/service/web-proxy", one.Kind, one.Ports, one.Locality, one.Proxy)

	testutil.Retry(t, 10*time.Second, func() error {
		cs, _, err := c.Catalog().Service("web-sidecar-proxy", "", nil)
		if err != nil || len(cs) != 1 {
			return fmt.Errorf("Catalog().Service(web-sidecar-proxy) = %v, %v", cs, err)
		}
		return nil
	})
	cs, _, err := c.Catalog().Service("web", "", nil)
	if err != nil || len(cs) != 1 {
		t.Fatalf("Catalog().Service(web) = %v, %v", cs, err)
	}
	// (The client's CatalogService has no field for the ports.)
	check("catalog/service/web", "", nil, cs[0].ServiceLocality, nil)
	cp, _, err := c.Catalog().Service("web-sidecar-proxy", "", nil)
	if err != nil || len(cp) != 1 {
		t.Fatal(err)
	}
	check("catalog/service/web-sidecar-proxy", api.ServiceKindConnectProxy, nil, cp[0].ServiceLocality, cp[0].ServiceProxy)
	if !reflect.DeepEqual(cs[0].ServiceTaggedAddresses, tagged) || cs[0].ServiceWeights != api.Weights(weights) {
		t.Errorf("catalog rows = %+v / %+v, want kind, tagged addresses and weights kept", cs[0], cp[0])
	}
	ns, _, err := c.Catalog().NodeServiceList(node, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ns.Services {
		if s.ID == "consul" {
			continue // the server's own
		}
		check("catalog/node-services "+s.ID, s.Kind, s.Ports, s.Locality, s.Proxy)
	}
	hs, _, err := c.Health().Service("web", "", false, nil)
	if err != nil || len(hs) != 1 {
		t.Fatalf("Health().Service(web) = %v, %v", hs, err)
	}
	check("health/service/web", hs[0].Service.Kind, hs[0].Service.Ports, hs[0].Service.Locality, hs[0].Service.Proxy)
	if hs[0].Service.Connect == nil || !hs[0].Service.Connect.Native {
		t.Errorf("health/service/web Connect = %+v, want Native", hs[0].Service.Connect)
	}

	// Through the catalog directly.
	if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: "ext", Address: "10.1.0.1",
		Service: &api.AgentService{Kind: api.ServiceKindConnectProxy, ID: "ext-proxy", Service: "ext-proxy", Port: 21001,
			Proxy: proxy, Locality: loc}}, nil); err != nil {
		t.Fatalf("Catalog().Register(ext-proxy) = %v", err)
	}
	ep, _, err := c.Catalog().Service("ext-proxy", "", nil)
	if err != nil || len(ep) != 1 {
		t.Fatalf("Catalog().Service(ext-proxy) = %v, %v", ep, err)
	}
	check("catalog register ext-proxy", api.ServiceKindConnectProxy, nil, ep[0].ServiceLocality, ep[0].ServiceProxy)

	// A sidecar is refused: storing it would promise a proxy nobody runs.
	err = c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "api", Port: 1,
		Connect: &api.AgentServiceConnect{SidecarService: &api.AgentServiceRegistration{}}})
	if err == nil || !strings.Contains(err.Error(), "sidecar") {
		t.Errorf("ServiceRegister(sidecar) = %v, want it refused", err)
	}
}

// TestCompatCleanPathRedirect: a path that is not clean is answered with
// a 301 to the clean one, as Consul's HTTP server (Go's ServeMux) does;
// the official client, asked for "/app/config", builds
// "/v1/kv//app/config" and gets the key through the redirect, which Go
// clients such as crypt rely on.
func TestCompatCleanPathRedirect(t *testing.T) {
	t.Parallel()
	c, a := newClient(t)
	apiPut(t, c.KV(), "app/config", "v1")
	if p, _, err := c.KV().Get("/app/config", nil); err != nil || p == nil || string(p.Value) != "v1" {
		t.Errorf("KV().Get(/app/config) = %+v, %v; want app/config through the redirect", p, err)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]string{
		"/v1/kv//app/config":         "/v1/kv/app/config",
		"/v1/kv/a/../app/config?raw": "/v1/kv/app/config?raw",
		"/v1/kv/app/./x/":            "/v1/kv/app/x/",
	} {
		resp, err := noFollow.Get("http://" + a.HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
			t.Errorf("GET %s = %d Location %q, want 301 to %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
}

// TestCompatUnixSocket serves the HTTP API on a unix socket with
// unix_sockets' mode (agent configuration page, "addresses" and
// "unix_sockets"), reached by the CLI through -http-addr=unix://... and
// CONSUL_HTTP_ADDR, and by the official client.
func TestCompatUnixSocket(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "conclave.sock")
	testutil.NewAgent(t, testutil.AgentOptions{Tweak: func(c *config.Config) {
		c.HTTPAddr = "unix://" + sock
		c.UnixSockets.Mode = "0600"
	}})
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("Stat(%s) = %v, %v; want a socket with mode 0600", sock, fi, err)
	}
	addr := "unix://" + sock
	cliRunSteps(t, conclaveBin, nil, []cliStep{
		{args: []string{"kv", "put", "-http-addr=" + addr, "sock/a", "1"}, want: cliOK("Success! Data written to: sock/a\n")},
	})
	cliRunSteps(t, conclaveBin, []string{"CONSUL_HTTP_ADDR=" + addr}, []cliStep{
		{args: []string{"kv", "get", "sock/a"}, want: cliOK("1\n")},
	})
	cfg := api.DefaultConfig()
	cfg.Address = addr
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p, _, err := c.KV().Get("sock/a", nil); err != nil || p == nil || string(p.Value) != "1" {
		t.Errorf("KV().Get(sock/a) over %s = %+v, %v; want 1", addr, p, err)
	}
}

// TestCompatTxnCatalog runs Node, Service and Check steps beside KV ones
// through the official client's Txn, with Consul's result and error
// shapes (transaction API page, "Create Transaction").
func TestCompatTxnCatalog(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	txn := c.Txn()
	ok, resp, _, err := txn.Txn(api.TxnOps{
		{Node: &api.NodeTxnOp{Verb: api.NodeSet, Node: api.Node{Node: "tx-node", Address: "10.2.0.1", Meta: map[string]string{"rack": "r2"}}}},
		{Service: &api.ServiceTxnOp{Verb: api.ServiceSet, Node: "tx-node", Service: api.AgentService{ID: "tx-web", Service: "web", Port: 80, Tags: []string{"v1"}}}},
		{Check: &api.CheckTxnOp{Verb: api.CheckSet, Check: api.HealthCheck{Node: "tx-node", CheckID: "tx-web-alive", Name: "alive", Status: api.HealthPassing, ServiceID: "tx-web"}}},
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "tx/k", Value: []byte("v")}},
	}, nil)
	if err != nil || !ok || len(resp.Results) != 4 {
		t.Fatalf("Txn(node, service, check, kv set) = %v, %+v, %v; want 4 results", ok, resp, err)
	}
	node, svc, chk := resp.Results[0].Node, resp.Results[1].Service, resp.Results[2].Check
	if node == nil || node.Node != "tx-node" || node.Meta["rack"] != "r2" || svc == nil || svc.ID != "tx-web" || svc.Port != 80 ||
		chk == nil || chk.CheckID != "tx-web-alive" || chk.ServiceName != "web" || resp.Results[3].KV == nil {
		t.Fatalf("Txn results = %+v %+v %+v %+v, want the node, service, check and key as stored", node, svc, chk, resp.Results[3].KV)
	}
	entries, _, err := c.Health().Service("web", "", true, nil)
	if err != nil || len(entries) != 1 || entries[0].Node.Node != "tx-node" {
		t.Errorf("Health().Service(web, passing) = %v, %v; want tx-node's instance", entries, err)
	}

	// cas with a stale index fails the whole transaction: Consul's 409
	// with the failing step's index and reason, and nothing changed.
	ok, resp, _, err = txn.Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "tx/k2", Value: []byte("v")}},
		{Service: &api.ServiceTxnOp{Verb: api.ServiceCAS, Node: "tx-node", Service: api.AgentService{ID: "tx-web", Service: "web", Port: 81, ModifyIndex: svc.ModifyIndex - 1}}},
	}, nil)
	if err != nil || ok || len(resp.Errors) != 1 || resp.Errors[0].OpIndex != 1 || !strings.Contains(resp.Errors[0].What, "index is stale") {
		t.Fatalf("Txn(stale service cas) = %v, %+v, %v; want a rollback naming op 1", ok, resp, err)
	}
	if p, _, _ := c.KV().Get("tx/k2", nil); p != nil {
		t.Errorf("KV().Get(tx/k2) after a rolled-back txn = %+v, want nothing", p)
	}

	ok, resp, _, err = txn.Txn(api.TxnOps{
		{Service: &api.ServiceTxnOp{Verb: api.ServiceCAS, Node: "tx-node", Service: api.AgentService{ID: "tx-web", Service: "web", Port: 81, Tags: []string{"v1"}, ModifyIndex: svc.ModifyIndex}}},
		{Check: &api.CheckTxnOp{Verb: api.CheckCAS, Check: api.HealthCheck{Node: "tx-node", CheckID: "tx-web-alive", Name: "alive", Status: api.HealthCritical, ServiceID: "tx-web", ModifyIndex: chk.ModifyIndex}}},
		{Node: &api.NodeTxnOp{Verb: api.NodeGet, Node: api.Node{Node: "tx-node"}}},
		{Service: &api.ServiceTxnOp{Verb: api.ServiceGet, Node: "tx-node", Service: api.AgentService{ID: "tx-web"}}},
	}, nil)
	if err != nil || !ok || len(resp.Results) != 4 || resp.Results[3].Service.Port != 81 || resp.Results[1].Check.Status != api.HealthCritical {
		t.Fatalf("Txn(cas, cas, get, get) = %v, %+v, %v; want the new port and status", ok, resp, err)
	}

	// A read-only transaction of gets, and the deletes.
	ok, resp, _, err = txn.Txn(api.TxnOps{{Node: &api.NodeTxnOp{Verb: api.NodeGet, Node: api.Node{Node: "missing"}}}}, nil)
	if err != nil || ok || len(resp.Errors) != 1 || !strings.Contains(resp.Errors[0].What, `node "missing" doesn't exist`) {
		t.Errorf("Txn(get missing node) = %v, %+v, %v; want the error", ok, resp, err)
	}
	ok, resp, _, err = txn.Txn(api.TxnOps{
		{Check: &api.CheckTxnOp{Verb: api.CheckDelete, Check: api.HealthCheck{Node: "tx-node", CheckID: "tx-web-alive"}}},
		{Service: &api.ServiceTxnOp{Verb: api.ServiceDelete, Node: "tx-node", Service: api.AgentService{ID: "tx-web"}}},
		{Node: &api.NodeTxnOp{Verb: api.NodeDeleteCAS, Node: api.Node{Node: "tx-node", ModifyIndex: node.ModifyIndex}}},
	}, nil)
	if err != nil || !ok {
		t.Fatalf("Txn(deletes) = %v, %+v, %v", ok, resp, err)
	}
	if n, _, err := c.Catalog().Node("tx-node", nil); err != nil || n != nil {
		t.Errorf("Catalog().Node(tx-node) after delete = %+v, %v; want none", n, err)
	}
}

// TestCompatAgentEndpoints reads what tools read of the agent: Self's
// DebugConfig under Consul's names and its Stats "agent" section, the
// Consul version in Config.Version and the members' build tag, and
// /v1/agent/host in Consul's shape (agent API page, "Read Configuration"
// and "Retrieve host information"); `info` shows the agent section and the
// acl line as Consul's does.
func TestCompatAgentEndpoints(t *testing.T) {
	t.Parallel()
	c, a := newClient(t)
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web", Port: 80,
		Check: &api.AgentServiceCheck{TTL: "30s"}}); err != nil {
		t.Fatal(err)
	}
	self, err := c.Agent().Self()
	if err != nil {
		t.Fatalf("Agent().Self() = %v", err)
	}
	dc := self["DebugConfig"]
	wantSerf := fmt.Sprintf("tcp://%s", testutil.LANAddr(t, a))
	if dc["NodeName"] != a.Config.NodeName || dc["Datacenter"] != "dc1" || dc["SerfAdvertiseAddrLAN"] != wantSerf || dc["ServerMode"] != true {
		t.Errorf("Self() DebugConfig = NodeName %v, Datacenter %v, SerfAdvertiseAddrLAN %v, ServerMode %v; want %s, dc1, %s, true",
			dc["NodeName"], dc["Datacenter"], dc["SerfAdvertiseAddrLAN"], dc["ServerMode"], a.Config.NodeName, wantSerf)
	}
	stats, ok := self["Stats"]["agent"].(map[string]any)
	if !ok || stats["services"] != "1" || stats["checks"] != "1" || stats["check_ttls"] != "1" || stats["check_monitors"] != "0" {
		t.Errorf("Self() Stats.agent = %v, want 1 service, 1 check, 1 TTL check, 0 monitors", self["Stats"]["agent"])
	}
	if v := self["Config"]["Version"]; v != version.ConsulVersion {
		t.Errorf("Self() Config.Version = %v, want %s", v, version.ConsulVersion)
	}
	members, err := c.Agent().Members(false)
	if err != nil || len(members) != 1 || !strings.HasPrefix(members[0].Tags["build"], version.ConsulVersion+":") {
		t.Errorf("Agent().Members() = %+v, %v; want a build tag of %s", members, err, version.ConsulVersion)
	}

	h, err := c.Agent().Host()
	if err != nil {
		t.Fatalf("Agent().Host() = %v", err)
	}
	for _, k := range []string{"Memory", "CPU", "Host", "Disk", "CollectionTime"} {
		if h[k] == nil {
			t.Errorf("Agent().Host()[%q] missing; got keys of %v", k, h)
		}
	}
	if m, _ := h["Memory"].(map[string]any); m == nil || m["total"] == nil {
		t.Errorf("Agent().Host() Memory = %v, want gopsutil's shape with total", h["Memory"])
	}

	out := testutil.RunCLI(t, conclaveBin, []string{"CONSUL_HTTP_ADDR=" + a.HTTPAddr()}, "", "info")
	for _, want := range []string{"agent:\n\tcheck_monitors = 0\n\tcheck_ttls = 1\n\tchecks = 1\n\tservices = 1\n", "\tacl = disabled\n"} {
		if out.Code != 0 || !strings.Contains(out.Stdout, want) {
			t.Errorf("info = %+v, want it to contain %q", out, want)
		}
	}
}

// TestCompatLogs checks what the agent's log tells an operator: the
// banner lists every port it listens on, gossip included; a check that
// changes state is logged with its service, the change and the first
// line of its output, as Consul's agent logs it; and nothing is logged
// after "shutdown complete".
func TestCompatLogs(t *testing.T) {
	t.Parallel()
	p := testutil.StartProcess(t, testutil.ProcessOptions{Bin: conclaveBin, Args: []string{"-dev"}})
	ports := p.Ports()
	banner := p.Log()
	wantClient := fmt.Sprintf("(HTTP: %d, HTTPS: -1, gRPC: -1, DNS: %d)", ports.HTTP, ports.DNS)
	wantCluster := fmt.Sprintf("(LAN: %d, WAN: %d)", ports.SerfLAN, ports.SerfWAN)
	if !strings.Contains(banner, wantClient) || !strings.Contains(banner, wantCluster) {
		t.Errorf("banner = %q, want it to list %s and %s", banner, wantClient, wantCluster)
	}

	cfg := api.DefaultConfig()
	cfg.Address = p.HTTPAddr()
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "web", Port: 80,
		Check: &api.AgentServiceCheck{CheckID: "web-ttl", TTL: "1m", Status: api.HealthPassing}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Agent().UpdateTTL("web-ttl", "disk full\nmore detail", api.HealthCritical); err != nil {
		t.Fatal(err)
	}
	want := `check is now critical: check=web-ttl service=web from=passing to=critical output="disk full"`
	testutil.Retry(t, 10*time.Second, func() error {
		if !strings.Contains(p.Log(), want) {
			return fmt.Errorf("agent log has no %q", want)
		}
		return nil
	})

	if code := p.Signal(syscall.SIGTERM, 30*time.Second); code != 0 {
		t.Fatalf("SIGTERM: exit %d", code)
	}
	log := strings.TrimRight(p.Log(), "\n")
	if last := log[strings.LastIndex(log, "\n")+1:]; !strings.Contains(last, "shutdown complete") {
		t.Errorf("last log line = %q, want shutdown complete to be the last", last)
	}
}

// TestCompatAutopilotPromotion adds a server to a one-server cluster
// whose server_stabilization_time is 1ms, with autopilot at its default
// intervals, and watches it become a voter; then reads autopilot's state
// and moves leadership with the official client and the CLI (operator
// API pages "Autopilot" and "Raft", "Transfer Raft Leadership"). The
// issue asks for the vote within 2s of the join: the elapsed time is
// logged; the wait's bound is generous, as timing claims live in
// benchmarks, not tests.
func TestCompatAutopilotPromotion(t *testing.T) {
	t.Parallel()
	fast := func(c *config.Config) {
		c.Cluster.Autopilot.ServerStabilizationTime = time.Millisecond
		c.Cluster.AutopilotInterval = 0 // autopilot's intervals as shipped
	}
	cl := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 1, NamePrefix: "ap-", Tweak: fast})
	first := cl.Servers[0]
	cfg := testutil.ClusterConfig("ap-s2", "dc1", true)
	fast(cfg)
	cfg.RetryJoin = []string{testutil.LANAddr(t, first)}
	joined := time.Now()
	second := testutil.StartAgent(t, cfg)

	acfg := api.DefaultConfig()
	acfg.Address = first.HTTPAddr()
	c, err := api.NewClient(acfg)
	if err != nil {
		t.Fatal(err)
	}
	secondID, _ := second.Self().Config["NodeID"].(string)
	testutil.Retry(t, 20*time.Second, func() error {
		rc, err := c.Operator().RaftGetConfiguration(nil)
		if err != nil {
			return err
		}
		for _, s := range rc.Servers {
			if s.ID == secondID && s.Voter {
				return nil
			}
		}
		return fmt.Errorf("ap-s2 is not a voter yet: %+v", rc.Servers)
	})
	t.Logf("ap-s2 became a voter %v after it started", time.Since(joined).Round(time.Millisecond))

	var st *api.AutopilotState
	testutil.Retry(t, 20*time.Second, func() error {
		st, err = c.Operator().AutopilotState(nil)
		if err != nil {
			return err
		}
		if len(st.Voters) != 2 || st.Servers[secondID].Status != api.AutopilotServerVoter {
			return fmt.Errorf("AutopilotState() = %+v, want two voters, ap-s2 a voter", st)
		}
		return nil
	})
	if s := st.Servers[secondID]; s.Name != "ap-s2" || s.NodeStatus != "alive" || s.Version != version.ConsulVersion {
		t.Errorf("AutopilotState() ap-s2 = %+v, want name, alive and version %s", s, version.ConsulVersion)
	}

	if _, err := c.Operator().RaftLeaderTransfer(secondID, nil); err != nil {
		t.Fatalf("RaftLeaderTransfer(ap-s2) = %v", err)
	}
	testutil.Retry(t, 20*time.Second, func() error {
		if !second.Server().IsLeader() {
			return fmt.Errorf("ap-s2 does not lead yet")
		}
		return nil
	})
	firstID, _ := first.Self().Config["NodeID"].(string)
	cliRunSteps(t, conclaveBin, []string{"CONSUL_HTTP_ADDR=" + second.HTTPAddr()}, []cliStep{
		{args: []string{"operator", "raft", "transfer-leader", "-id=" + firstID}, want: cliOK("Success\n")},
	})
	testutil.Retry(t, 20*time.Second, func() error {
		if !first.Server().IsLeader() {
			return fmt.Errorf("ap-s1 does not lead yet")
		}
		return nil
	})
	out := testutil.RunCLI(t, conclaveBin, []string{"CONSUL_HTTP_ADDR=" + first.HTTPAddr()}, "", "operator", "autopilot", "state")
	if out.Code != 0 || !strings.Contains(out.Stdout, "Healthy:") || !strings.Contains(out.Stdout, "Name:            ap-s2") {
		t.Errorf("operator autopilot state = %+v, want the state with ap-s2", out)
	}
}

// TestCompatAgentCache reads through the agent cache with the official
// client's UseCache (agent caching page, "Agent Caching", and the
// "X-Cache" and "Age" headers of the API overview): the first read is a
// MISS, later ones HIT, a background blocking query keeps the entry
// fresh, and a cached blocking read waits for the next change.
func TestCompatAgentCache(t *testing.T) {
	t.Parallel()
	c, a := newClient(t)
	reg := func(id string) {
		t.Helper()
		if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: "cache-" + id, Address: "10.3.0.1",
			Service: &api.AgentService{ID: id, Service: "db", Port: 5432}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	reg("db1")
	cached := &api.QueryOptions{UseCache: true}
	entries, meta, err := c.Health().Service("db", "", false, cached)
	if err != nil || len(entries) != 1 || meta.CacheHit {
		t.Fatalf("Health().Service(db, cached) = %d entries, hit %v, %v; want 1, a MISS", len(entries), meta != nil && meta.CacheHit, err)
	}
	entries, meta, err = c.Health().Service("db", "", false, cached)
	if err != nil || len(entries) != 1 || !meta.CacheHit || meta.CacheAge != 0 {
		t.Fatalf("Health().Service(db, cached) again = %d entries, %+v, %v; want a HIT of age 0", len(entries), meta, err)
	}

	// A cached blocking read at the index just read waits for the change
	// the background query brings in.
	got := make(chan int, 1)
	go func() {
		es, _, err := c.Health().Service("db", "", false, &api.QueryOptions{UseCache: true, WaitIndex: meta.LastIndex, WaitTime: time.Minute})
		if err != nil {
			got <- -1
			return
		}
		got <- len(es)
	}()
	reg("db2")
	if n := <-got; n != 2 {
		t.Errorf("cached blocking Health().Service(db) = %d entries, want the 2 after the change", n)
	}
	testutil.Retry(t, 10*time.Second, func() error {
		es, meta, err := c.Health().Service("db", "", false, cached)
		if err != nil || len(es) != 2 || !meta.CacheHit {
			return fmt.Errorf("Health().Service(db, cached) = %d entries, %+v, %v; want 2 from a HIT", len(es), meta, err)
		}
		return nil
	})

	for _, read := range []func() (*api.QueryMeta, error){
		func() (*api.QueryMeta, error) { _, m, err := c.Catalog().Services(cached); return m, err },
		func() (*api.QueryMeta, error) { _, m, err := c.Catalog().Service("db", "", cached); return m, err },
	} {
		if m, err := read(); err != nil || m.CacheHit {
			t.Errorf("first cached catalog read = %+v, %v; want a MISS", m, err)
		}
		if m, err := read(); err != nil || !m.CacheHit {
			t.Errorf("second cached catalog read = %+v, %v; want a HIT", m, err)
		}
	}
	for i, want := range []string{"MISS", "HIT"} {
		resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/catalog/datacenters?cached")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Header.Get("X-Cache") != want || resp.Header.Get("Age") == "" || !strings.Contains(string(body), "dc1") {
			t.Errorf("GET /v1/catalog/datacenters?cached #%d = X-Cache %q Age %q %s, want %s with an Age", i+1,
				resp.Header.Get("X-Cache"), resp.Header.Get("Age"), body, want)
		}
	}
	// Without ?cached, nothing is cached.
	resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/health/service/db")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := resp.Header.Get("X-Cache"); h != "" {
		t.Errorf("GET /v1/health/service/db X-Cache = %q, want none", h)
	}
}
