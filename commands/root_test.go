package commands

import (
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"

	"conclave/internal/testutil"
)

// deadAddr is a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestUnreachableExits3(t *testing.T) {
	t.Parallel()
	addr := deadAddr(t)
	for _, args := range [][]string{
		{"kv", "get", "k"},
		{"kv", "get", "-recurse", "k/"},
		{"kv", "get", "-keys"},
		{"kv", "put", "k", "v"},
		{"kv", "put", "-cas", "-modify-index=1", "k", "v"},
		{"kv", "delete", "k"},
		{"kv", "delete", "-recurse", "k/"},
		{"kv", "delete", "-cas", "-modify-index=2", "k"},
		{"kv", "export"},
		{"kv", "import", `[{"key":"a","flags":0,"value":""}]`},
	} {
		got := runCLI(t, run{args: args, env: map[string]string{"CONSUL_HTTP_ADDR": addr}})
		wantPrefix := "Error! agent unreachable at " + addr + ": dial tcp " + addr + ": "
		if got.code != ExitUnreachable || got.stdout != "" || !strings.HasPrefix(got.stderr, wantPrefix) {
			t.Errorf("%q against a dead agent = %+v, want exit 3 and stderr starting %q", args, got, wantPrefix)
		}
	}

	sock := "unix://" + t.TempDir() + "/missing.sock"
	got := runCLI(t, run{args: []string{"kv", "get", "-http-addr=" + sock, "k"}})
	if got.code != ExitUnreachable || !strings.HasPrefix(got.stderr, "Error! agent unreachable at "+sock+": ") {
		t.Errorf("kv get via missing socket = %+v, want exit 3", got)
	}
}

func TestRootInvokedAsConsul(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{})
	seedKV(t, a, kvSeed{key: "k", value: "v"})
	for _, name := range []string{"conclave", "consul"} {
		got := runCLI(t, run{name: name, args: []string{"kv", "get", "-http-addr=" + a.HTTPAddr(), "k"}})
		if got != (result{"v\n", "", 0}) {
			t.Errorf("%s kv get = %+v, want v", name, got)
		}
		help := runCLI(t, run{name: name, args: []string{"kv", "put", "-help"}})
		if help.code != 0 || !strings.HasPrefix(help.stdout, "Usage: "+name+" kv put [options] KEY [DATA]\n") {
			t.Errorf("%s kv put -help = %+v, want usage naming %s", name, help, name)
		}
		if !strings.Contains(help.stdout, "$ "+name+" kv put redis/config/maxconns 5") {
			t.Errorf("%s kv put -help examples do not use %q:\n%s", name, name, help.stdout)
		}
	}
}

func TestRootHelpDocumentsExitCodes(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-help"}, {"kv", "-help"}, {"kv", "get", "--help"}, {"help", "kv"}} {
		got := runCLI(t, run{args: args})
		if got.code != 0 || got.stderr != "" {
			t.Errorf("%q = exit %d, stderr %q, want 0 and none", args, got.code, got.stderr)
		}
		for _, want := range []string{"Exit status:", "3  the agent could not be reached", "Error! agent unreachable at ADDRESS: REASON"} {
			if !strings.Contains(got.stdout, want) {
				t.Errorf("%q help lacks %q", args, want)
			}
		}
	}
}

func TestHelpShowsSingleDashFlags(t *testing.T) {
	t.Parallel()
	got := runCLI(t, run{args: []string{"kv", "get", "-h"}})
	for _, want := range []string{"\n  -recurse\n", "\n  -separator=<string>\n", "HTTP API Options:", "\n  -http-addr=<address>\n", "Examples:"} {
		if !strings.Contains(got.stdout, want) {
			t.Errorf("kv get -h lacks %q:\n%s", want, got.stdout)
		}
	}
	if strings.Contains(got.stdout, "--recurse") {
		t.Errorf("kv get -h shows --recurse; flags are shown with one dash")
	}
}

func TestRootErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want result
	}{
		{[]string{"kv", "nope"}, result{"", "Error! Unknown subcommand \"nope\" for \"conclave kv\"\n", 1}},
		// Go's flag package's words, which Consul's CLI speaks: the flag
		// with one dash, as typed, and no Go internals.
		{[]string{"kv", "get", "-bogus", "k"}, result{"", "Error! flag provided but not defined: -bogus\nRun 'conclave kv get -help' for usage.\n", 1}},
		{[]string{"kv", "get", "--bogus", "k"}, result{"", "Error! flag provided but not defined: -bogus\nRun 'conclave kv get -help' for usage.\n", 1}},
		{[]string{"kv", "put", "-flags=x", "k"}, result{"", "Error! invalid value \"x\" for flag -flags: parse error\nRun 'conclave kv put -help' for usage.\n", 1}},
		{[]string{"kv", "put", "-flags=99999999999999999999", "k"}, result{"", "Error! invalid value \"99999999999999999999\" for flag -flags: value out of range\nRun 'conclave kv put -help' for usage.\n", 1}},
		{[]string{"kv", "get", "-token"}, result{"", "Error! flag needs an argument: -token\nRun 'conclave kv get -help' for usage.\n", 1}},
		{[]string{"lock", "-timeout=5", "k", "true"}, result{"", "Error! invalid value \"5\" for flag -timeout: invalid duration\nRun 'conclave lock -help' for usage.\n", 1}},
	}
	for _, tt := range tests {
		if got := runCLI(t, run{args: tt.args}); got != tt.want {
			t.Errorf("%q = %+v, want %+v", tt.args, got, tt.want)
		}
	}
}

// An unknown command prints the usage on stderr and exits 127, as
// Consul's CLI (mitchellh/cli) does.
func TestRootUnknownCommand(t *testing.T) {
	t.Parallel()
	got := runCLI(t, run{args: []string{"nope"}})
	if got.code != ExitUnknownCommand || got.stdout != "" || !strings.HasPrefix(got.stderr, "Usage: conclave <command>") {
		t.Errorf("nope = %+v, want exit 127, no stdout and the usage on stderr", got)
	}
}

func TestAgentCommand(t *testing.T) {
	t.Parallel()
	r := &fakeRunner{}
	got := runCLI(t, run{agent: r, args: []string{"agent", "-dev", "-retry-join=10.0.0.1", "-retry-join", "10.0.0.2"}})
	if got != (result{"", "==> agent running\n", 0}) {
		t.Errorf("agent = %+v", got)
	}
	if !r.ran || !r.devFlag || !reflect.DeepEqual(r.joins, []string{"10.0.0.1", "10.0.0.2"}) {
		t.Errorf("runner saw ran=%v dev=%v joins=%q, want true true [10.0.0.1 10.0.0.2]", r.ran, r.devFlag, r.joins)
	}

	help := runCLI(t, run{agent: &fakeRunner{}, args: []string{"agent", "-help"}})
	if !strings.Contains(help.stdout, "\n  -data-dir=<directory>\n") {
		t.Errorf("agent -help lacks the runner's flags:\n%s", help.stdout)
	}

	failing := &fakeRunner{err: errors.New("data_dir: cannot create /root/x: permission denied")}
	got = runCLI(t, run{agent: failing, args: []string{"agent"}})
	if got.code != 1 || !strings.HasSuffix(got.stderr, "Error! data_dir: cannot create /root/x: permission denied\n") {
		t.Errorf("failing agent = %+v, want exit 1 with its message", got)
	}

	coded := &fakeRunner{err: &ExitError{Code: 7, Msg: "stopped"}}
	if got := runCLI(t, run{agent: coded, args: []string{"agent"}}); got.code != 7 {
		t.Errorf("agent with exit code 7 = %+v", got)
	}

	if got := runCLI(t, run{args: []string{"agent"}}); got.code != 1 || got.stderr != "Error! This build has no agent\n" {
		t.Errorf("agent without runner = %+v", got)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	pretty := "Conclave v0.1.0\nConsul v1.21.0 compatible\nProtocol 2 spoken by default, understands 2 to 3 (agent will automatically use protocol >2 when speaking to compatible agents)\n"
	tests := []struct {
		args []string
		want result
	}{
		{[]string{"version"}, result{pretty, "", 0}},
		{[]string{"-version"}, result{pretty, "", 0}},
		{[]string{"--version"}, result{pretty, "", 0}},
		{[]string{"-v"}, result{pretty, "", 0}},
		{[]string{"version", "-format=json"}, result{`{
  "Name": "conclave",
  "Version": "1.21.0",
  "Revision": "",
  "Prerelease": "",
  "BuildDate": "",
  "RPC": {
    "Default": 2,
    "Min": 2,
    "Max": 3
  },
  "Conclave": {
    "Version": "0.1.0",
    "Prerelease": ""
  }
}
`, "", 0}},
		{[]string{"version", "-format=xml"}, result{"", "Unknown format: xml\n", 1}},
		{[]string{"version", "extra"}, result{"", "Too many arguments (expected 0, got 1)\n", 1}},
	}
	for _, tt := range tests {
		if got := runCLI(t, run{args: tt.args}); got != tt.want {
			t.Errorf("%q = %+v, want %+v", tt.args, got, tt.want)
		}
	}
}

func TestNewCmdVersion(t *testing.T) {
	t.Parallel()
	f, _, _ := testFactory()
	var got *VersionOptions
	cmd := NewCmdVersion(f, func(o *VersionOptions) error { got = o; return nil })
	if err := parseCmd(t, cmd, []string{"-format", "json"}); err != nil || got.Format != "json" {
		t.Errorf("version -format json: err %v, Format %q, want json", err, got.Format)
	}
}
