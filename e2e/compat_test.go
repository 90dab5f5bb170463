//go:build unix

package e2e

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"conclave/internal/testutil"
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
	got := testutil.RunCLI(t, conclaveBin, nil, "", "agent", "-dev", "-ui")
	if got.Code != 1 || !strings.Contains(got.Stderr, "flag -ui: the web UI is not supported yet") {
		t.Errorf("agent -dev -ui = %+v, want exit 1 saying the UI is not supported", got)
	}
}
