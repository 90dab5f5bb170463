package commands

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"conclave/client"
	"conclave/internal/testutil"
)

func TestNewCmdServicesRegister(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		want    ServicesRegisterOptions
		wantErr string
	}{
		{args: []string{"-name=web"}, want: ServicesRegisterOptions{Name: "web", Files: []string{}}},
		{args: []string{"-name", "web", "-id", "web1", "-address", "10.0.0.1", "-port", "80", "-tag", "a", "-tag=b", "-meta", "k=v=w"},
			want: ServicesRegisterOptions{Name: "web", ID: "web1", Address: "10.0.0.1", Port: 80, Tags: []string{"a", "b"},
				Meta: map[string]string{"k": "v=w"}, Files: []string{}}},
		{args: []string{"web.json", "db.hcl"}, want: ServicesRegisterOptions{Files: []string{"web.json", "db.hcl"}}},
		{args: []string{"-port=81", "web.json"}, want: ServicesRegisterOptions{Port: 81, Files: []string{"web.json"}}},
		{args: []string{}, wantErr: "Service registration requires at least one argument or flags."},
		{args: []string{"-name=web", "web.json"}, wantErr: "Service registration requires arguments or -id, not both."},
		{args: []string{"-name=web", "-meta=novalue"}, wantErr: `missing "=" in "novalue"`},
		{args: []string{"-name=web", "-port=http"}, wantErr: `invalid argument "http" for "--port"`},
	}
	for _, tt := range tests {
		f, _, _ := testFactory()
		var got *ServicesRegisterOptions
		cmd := NewCmdServicesRegister(f, func(o *ServicesRegisterOptions) error { got = o; return nil })
		err := parseCmd(t, cmd, tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("services register %q: error = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("services register %q: error = %v", tt.args, err)
			continue
		}
		got.IO, got.HTTPClient, got.HTTP = nil, nil, nil
		if len(got.Meta) == 0 {
			got.Meta = nil
		}
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("services register %q: options = %+v, want %+v", tt.args, *got, tt.want)
		}
	}
}

func TestNewCmdServicesDeregisterAndMaint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cmd     string
		args    []string
		wantErr string
	}{
		{"deregister", []string{"-id=web"}, ""},
		{"deregister", []string{"web.json"}, ""},
		{"deregister", []string{}, "Service deregistration requires at least one argument or -id."},
		{"deregister", []string{"-id=web", "web.json"}, "Service deregistration requires arguments or -id, not both."},
		{"maint", []string{}, ""},
		{"maint", []string{"-enable", "-reason=x", "-service=web"}, ""},
		{"maint", []string{"-enable", "-disable"}, "Only one of -enable or -disable may be provided"},
		{"maint", []string{"-disable", "-reason=x"}, "Reason may only be provided with -enable"},
		{"maint", []string{"-service=web"}, "Service requires either -enable or -disable"},
		{"maint", []string{"-format=xml"}, `Invalid -format "xml"`},
		{"maint", []string{"extra"}, "Too many arguments"},
		{"reload", []string{}, ""},
		{"reload", []string{"extra"}, "Too many arguments"},
	}
	for _, tt := range tests {
		f, _, _ := testFactory()
		var err error
		switch tt.cmd {
		case "deregister":
			err = parseCmd(t, NewCmdServicesDeregister(f, func(*ServicesDeregisterOptions) error { return nil }), tt.args)
		case "maint":
			err = parseCmd(t, NewCmdMaint(f, func(*MaintOptions) error { return nil }), tt.args)
		case "reload":
			err = parseCmd(t, NewCmdReload(f, func(*ReloadOptions) error { return nil }), tt.args)
		}
		if got := errText(err); tt.wantErr == "" && got != "" || tt.wantErr != "" && !strings.Contains(got, tt.wantErr) {
			t.Errorf("%s %q: error = %q, want %q", tt.cmd, tt.args, got, tt.wantErr)
		}
	}
}

func TestReadServiceFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, body string
		wantNames  []string
		wantErr    string
	}{
		{"a.json", `{"Service": {"Name": "web"}}`, []string{"web"}, ""},
		{"b.json", `{"services": [{"name": "a"}, {"name": "b"}]}`, []string{"a", "b"}, ""},
		{"c.hcl", "service {\n  name = \"web\"\n  port = 80\n}\n", []string{"web"}, ""},
		{"d.conf", `{"service": {"name": "noext"}}`, []string{"noext"}, ""},
		{"e.json", `{"node_name": "x"}`, nil, "no service definition"},
		{"f.json", `{"service": `, nil, "invalid JSON or HCL"},
		{"g.json", `{"service": "web"}`, nil, "not an object"},
		// hashicorp/hcl#194: the parser panics on these bytes.
		{"h.hcl", `{"\0`, nil, "invalid JSON or HCL: the HCL parser failed on this input: "},
		{"i.conf", `{"\0`, nil, "invalid JSON or HCL: the HCL parser failed on this input: "},
	}
	for _, tt := range tests {
		p := write(tt.name, tt.body)
		defs, err := readServiceFiles([]string{p})
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), p) {
				t.Errorf("readServiceFiles(%s) error = %v, want one naming the file and %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("readServiceFiles(%s) error = %v", tt.name, err)
			continue
		}
		var names []string
		for _, d := range defs {
			names = append(names, d.str("name"))
		}
		if !reflect.DeepEqual(names, tt.wantNames) {
			t.Errorf("readServiceFiles(%s) names = %v, want %v", tt.name, names, tt.wantNames)
		}
	}
	if _, err := readServiceFiles([]string{filepath.Join(dir, "missing.json")}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("readServiceFiles(missing) = %v, want no such file", err)
	}
}

// TestServicesAgainstAgent drives services register/deregister, maint and
// reload against a real agent, checking what they print and what the agent
// then holds.
func TestServicesAgainstAgent(t *testing.T) {
	t.Parallel()
	a := testutil.NewAgent(t, testutil.AgentOptions{NodeName: "node1"})
	addr := "-http-addr=" + a.HTTPAddr()
	cl, err := client.New(&client.Config{Address: a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	webFile := filepath.Join(dir, "web.json")
	if err := os.WriteFile(webFile, []byte(`{"service": {"name": "web", "port": 8080, "tags": ["v1"],
		"check": {"ttl": "1m", "deregister_critical_service_after": "90m"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	badFile := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badFile, []byte(`{"service": {"name": "bad", "check": {"http": "http://x/"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		args []string
		want result
		// services is the set of service IDs the agent must hold after.
		services []string
	}{
		{[]string{"services", "register", "-name=db", "-port=5432", "-tag=primary", "-meta=team=data", addr},
			result{"Registered service: db\n", "", 0}, []string{"db"}},
		{[]string{"services", "register", "-tag=extra", webFile, addr},
			result{"Registered service: web\n", "", 0}, []string{"db", "web"}},
		{[]string{"services", "register", badFile, addr},
			result{"", `Error registering service "bad": Unexpected response code: 400 (check.interval: Invalid check: Interval must be > 0 for script, HTTP, TCP and gRPC checks)` + "\n", 1},
			[]string{"db", "web"}},
		{[]string{"maint", addr}, result{"", "", 0}, []string{"db", "web"}},
		{[]string{"maint", "-enable", "-reason=kernel upgrade", addr}, result{"Node entered maintenance mode\n", "", 0}, []string{"db", "web"}},
		{[]string{"maint", "-enable", "-service=db", addr}, result{"Service entered maintenance mode: db\n", "", 0}, []string{"db", "web"}},
		{[]string{"maint", addr}, result{"Node:\n  Name:   node1\n  Reason: kernel upgrade\n\n" +
			"Service:\n  ID:     db\n  Reason: Maintenance mode is enabled for this service, but no reason was provided. This is a default message.\n\n", "", 0},
			[]string{"db", "web"}},
		{[]string{"maint", "-format=json", addr}, result{`[
    {
        "Kind": "node",
        "Name": "node1",
        "Reason": "kernel upgrade"
    },
    {
        "Kind": "service",
        "ID": "db",
        "Reason": "Maintenance mode is enabled for this service, but no reason was provided. This is a default message."
    }
]
`, "", 0}, []string{"db", "web"}},
		{[]string{"maint", "-enable", "-service=nope", addr},
			result{"", `Error enabling service maintenance: Unexpected response code: 404 (Unknown service ID "nope". Ensure that the service ID is passed, not the service name.)` + "\n", 1},
			[]string{"db", "web"}},
		{[]string{"maint", "-disable", addr}, result{"Node left maintenance mode\n", "", 0}, []string{"db", "web"}},
		{[]string{"maint", "-disable", "-service=db", addr}, result{"Service left maintenance mode: db\n", "", 0}, []string{"db", "web"}},
		{[]string{"maint", addr}, result{"", "", 0}, []string{"db", "web"}},
		{[]string{"services", "deregister", webFile, addr}, result{"Deregistered service: web\n", "", 0}, []string{"db"}},
		{[]string{"services", "deregister", "-id=db", addr}, result{"Deregistered service: db\n", "", 0}, nil},
		{[]string{"services", "deregister", "-id=db", addr},
			result{"", `Error deregistering service "db": Unexpected response code: 404 (Unknown service ID "db". Ensure that the service ID is passed, not the service name.)` + "\n", 1}, nil},
		{[]string{"reload", addr},
			result{"", "Error reloading: Unexpected response code: 500 (this agent was not started from the command line, so it has no configuration to re-read)\n", 1}, nil},
	}
	for _, st := range steps {
		got := runCLI(t, run{args: st.args})
		if got != st.want {
			t.Errorf("%q = %+v, want %+v", st.args, got, st.want)
		}
		svcs, _, err := cl.Agent().Services(context.Background(), nil)
		if err != nil {
			t.Fatalf("Agent().Services() = %v", err)
		}
		var ids []string
		for _, id := range []string{"db", "web"} {
			if svcs[id] != nil {
				ids = append(ids, id)
			}
		}
		if !reflect.DeepEqual(ids, st.services) {
			t.Errorf("after %q the agent holds %v, want %v", st.args, ids, st.services)
		}
	}

	// Flags filled in and added to the file's definition.
	if err := os.WriteFile(webFile, []byte(`{"service": {"name": "web", "tags": ["v1"], "meta": {"a": "1"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := runCLI(t, run{args: []string{"services", "register", "-port=9", "-tag=v2", "-meta=b=2", webFile, addr}}); got.code != 0 {
		t.Fatalf("services register with flags and file = %+v", got)
	}
	svc, _, err := cl.Agent().Service(context.Background(), "web", nil)
	if err != nil || svc == nil {
		t.Fatalf("Agent().Service(web) = %v, %v", svc, err)
	}
	if svc.Port != 9 || !reflect.DeepEqual(svc.Tags, []string{"v1", "v2"}) || !reflect.DeepEqual(svc.Meta, map[string]string{"a": "1", "b": "2"}) {
		t.Errorf("web = port %d tags %v meta %v, want 9, [v1 v2], {a:1 b:2}", svc.Port, svc.Tags, svc.Meta)
	}
}

// TestServicesHCLParserPanic: a file on which hashicorp/hcl panics
// (hashicorp/hcl#194) is reported like any broken file, before the agent
// is contacted, instead of crashing the command.
func TestServicesHCLParserPanic(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "bad.hcl")
	if err := os.WriteFile(bad, []byte(`{"\0`), 0o644); err != nil {
		t.Fatal(err)
	}
	dead := "-http-addr=" + testutil.DeadAddr(t)
	const reason = "invalid JSON or HCL: the HCL parser failed on this input: bytes.Buffer: UnreadRune: previous operation was not a successful ReadRune\n"
	for _, cmd := range []string{"register", "deregister"} {
		args := []string{"services", cmd, bad, dead}
		want := result{"", "Error: " + bad + ": " + reason, 1}
		if got := runCLI(t, run{args: args}); got != want {
			t.Errorf("%q = %+v, want %+v", args, got, want)
		}
	}
}

func TestServicesUnreachable(t *testing.T) {
	t.Parallel()
	dead := "-http-addr=" + testutil.DeadAddr(t)
	for _, args := range [][]string{
		{"services", "register", "-name=web", dead},
		{"services", "deregister", "-id=web", dead},
		{"maint", dead},
		{"reload", dead},
	} {
		got := runCLI(t, run{args: args})
		if got.code != ExitUnreachable || got.stdout != "" || !strings.HasPrefix(got.stderr, "Error! agent unreachable at") {
			t.Errorf("%q = %+v, want exit %d with \"Error! agent unreachable at ...\" on stderr", args, got, ExitUnreachable)
		}
	}
}
