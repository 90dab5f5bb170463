package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// load parses args as `conclave agent` flags and runs Load.
func load(t *testing.T, args ...string) (*Config, []string, error) {
	t.Helper()
	fs := pflag.NewFlagSet("agent", pflag.ContinueOnError)
	AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("Parse(%q) = %v", args, err)
	}
	return Load(fs)
}

// mustLoad is load for arguments that must be accepted without warnings.
func mustLoad(t *testing.T, args ...string) *Config {
	t.Helper()
	c, warnings, err := load(t, args...)
	if err != nil {
		t.Fatalf("Load(%q) = %v, want no error", args, err)
	}
	if len(warnings) > 0 {
		t.Fatalf("Load(%q) warnings = %q, want none", args, warnings)
	}
	return c
}

// writeFile writes body to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// loaded is one Load of a test case: a fresh data dir, an optional file,
// then more flags.
type loaded struct {
	args     []string
	path     string // the file's path; "" when the case has none
	cfg      *Config
	warnings []string
	err      error
}

// loadCase writes body to a file called name (none when name is empty)
// in a fresh directory and loads it.
func loadCase(t *testing.T, name, body string, more []string) loaded {
	t.Helper()
	dir := t.TempDir()
	l := loaded{args: []string{"--data-dir", filepath.Join(dir, "data")}}
	if name != "" {
		l.path = writeFile(t, dir, name, body)
		l.args = append(l.args, "--config-file", l.path)
	}
	l.args = append(l.args, more...)
	l.cfg, l.warnings, l.err = load(t, l.args...)
	return l
}

// expand puts the case's file path where s says %[1]s.
func (l loaded) expand(s string) string { return strings.ReplaceAll(s, "%[1]s", l.path) }

// wantError checks that the load failed with exactly want (after expand),
// as a *Error and without a config.
func (l loaded) wantError(t *testing.T, want string) {
	t.Helper()
	want = l.expand(want)
	if l.err == nil || l.err.Error() != want {
		t.Errorf("Load(%q) = %v, want %s", l.args, l.err, want)
	}
	if l.cfg != nil {
		t.Errorf("Load(%q) config = %+v, want nil with an error", l.args, l.cfg)
	}
	var cerr *Error
	if l.err != nil && !errors.As(l.err, &cerr) {
		t.Errorf("Load(%q) error %T, want *Error", l.args, l.err)
	}
}

// hostName is the node name Load derives from this host.
func hostName(t *testing.T) string {
	t.Helper()
	name, err := hostNodeName()
	if err != nil {
		t.Skipf("no usable host name: %v", err)
	}
	return name
}

// diff names the Config fields that differ, with both values.
func diff(got, want *Config) string {
	var out []string
	g, w := reflect.ValueOf(*got), reflect.ValueOf(*want)
	for i := range g.NumField() {
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			out = append(out, fmt.Sprintf("%s: got %#v, want %#v", g.Type().Field(i).Name, g.Field(i).Interface(), w.Field(i).Interface()))
		}
	}
	return strings.Join(out, "\n")
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	args := []string{"--data-dir", dir}
	got := mustLoad(t, args...)

	want := Default()
	want.NodeName = hostName(t)
	want.DataDir = dir
	if d := diff(got, want); d != "" {
		t.Errorf("Load(%q) differs from the defaults:\n%s", args, d)
	}
	// The defaults Consul documents, spelled out so a change to Default()
	// is a conscious one.
	if got.Ports != (Ports{HTTP: 8500, HTTPS: -1, DNS: 8600, Server: 8300, SerfLAN: 8301, SerfWAN: 8302, GRPC: -1}) {
		t.Errorf("Load(%q).Ports = %+v, want Consul's defaults", args, got.Ports)
	}
	if got.Datacenter != "dc1" || got.BindAddr != "0.0.0.0" || got.ClientAddr != "127.0.0.1" ||
		got.LogLevel != "info" || got.RaftMultiplier != 5 || got.RetryInterval != 30*time.Second {
		t.Errorf("Load(%q) = %+v, want Consul's defaults", args, got)
	}
}

func TestLoadDev(t *testing.T) {
	t.Parallel()
	args := []string{"--dev"}
	got := mustLoad(t, args...)

	want := Default()
	want.DevMode = true
	want.Server = true
	want.Bootstrap = true
	want.BindAddr = "127.0.0.1"
	want.ClientAddr = "127.0.0.1"
	want.RaftMultiplier = 1
	want.LogLevel = "debug"
	want.EnableDebug = true
	want.UI.Enabled = true
	want.NodeName = hostName(t)
	if d := diff(got, want); d != "" {
		t.Errorf("Load(%q) differs from dev defaults:\n%s", args, d)
	}
}

const fullJSON = `{
  "node_name": "web-1",
  "node_id": "6A2F1B4E-0C3D-4E5F-8A9B-1C2D3E4F5A6B",
  "datacenter": "EU-West_1",
  "data_dir": %q,
  "server": true,
  "bootstrap_expect": 3,
  "bind_addr": "10.0.0.5",
  "client_addr": "127.0.0.1 10.0.0.5",
  "advertise_addr": "192.0.2.10",
  "addresses": {"http": "0.0.0.0", "dns": "127.0.0.1"},
  "ports": {"http": 8501, "https": 8443, "dns": 53, "server": 9300, "serf_lan": 9301, "serf_wan": -1, "grpc": 8502},
  "log_level": "WARN",
  "performance": {"raft_multiplier": 2},
  "raft_snapshot_threshold": 1000,
  "raft_snapshot_interval": "1m",
  "raft_trailing_logs": 500,
  "disable_update_check": true,
  "leave_on_terminate": true,
  "skip_leave_on_interrupt": true,
  "start_join": ["10.0.0.1"],
  "retry_join": ["10.0.0.2", "10.0.0.3"],
  "retry_interval": "15s",
  "retry_max": 7,
  "start_join_wan": ["198.51.100.1"],
  "retry_join_wan": ["198.51.100.2"],
  "services": [{"name": "web", "port": 80, "meta": {"Team": "a"}}]
}`

const fullHCL = `
node_name = "web-1"
node_id = "6A2F1B4E-0C3D-4E5F-8A9B-1C2D3E4F5A6B"
datacenter = "EU-West_1"
data_dir = %q
server = true
bootstrap_expect = 3
bind_addr = "10.0.0.5"
client_addr = "127.0.0.1 10.0.0.5"
advertise_addr = "192.0.2.10"
addresses {
  http = "0.0.0.0"
  dns = "127.0.0.1"
}
ports {
  http = 8501
  https = 8443
  dns = 53
  server = 9300
  serf_lan = 9301
  serf_wan = -1
  grpc = 8502
}
log_level = "WARN"
performance {
  raft_multiplier = 2
}
raft_snapshot_threshold = 1000
raft_snapshot_interval = "1m"
raft_trailing_logs = 500
disable_update_check = true
leave_on_terminate = true
skip_leave_on_interrupt = true
start_join = ["10.0.0.1"]
retry_join = ["10.0.0.2", "10.0.0.3"]
retry_interval = "15s"
retry_max = 7
start_join_wan = ["198.51.100.1"]
retry_join_wan = ["198.51.100.2"]
service {
  name = "web"
  port = 80
  meta { Team = "a" }
}
`

func TestLoadJSONAndHCLAgree(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	want := Default()
	want.NodeName = "web-1"
	want.NodeID = "6a2f1b4e-0c3d-4e5f-8a9b-1c2d3e4f5a6b"
	want.Datacenter = "eu-west_1"
	want.DataDir = dataDir
	want.Server = true
	want.BootstrapExpect = 3
	want.BindAddr = "10.0.0.5"
	want.ClientAddr = "127.0.0.1 10.0.0.5"
	want.AdvertiseAddr = "192.0.2.10"
	want.HTTPAddr = "0.0.0.0"
	want.DNSAddr = "127.0.0.1"
	want.Ports = Ports{HTTP: 8501, HTTPS: 8443, DNS: 53, Server: 9300, SerfLAN: 9301, SerfWAN: -1, GRPC: 8502}
	want.LogLevel = "warn"
	want.RaftMultiplier = 2
	want.RaftSnapshotThreshold = 1000
	want.RaftSnapshotInterval = time.Minute
	want.RaftTrailingLogs = 500
	want.DisableUpdateCheck = true
	want.LeaveOnTerminate = true
	want.SkipLeaveOnInterrupt = true
	want.Cluster.LeaveOnTerminateSet, want.Cluster.SkipLeaveOnInterruptSet = true, true
	want.StartJoin = []string{"10.0.0.1"}
	want.RetryJoin = []string{"10.0.0.2", "10.0.0.3"}
	want.RetryInterval = 15 * time.Second
	want.RetryMaxAttempts = 7
	want.StartJoinWAN = []string{"198.51.100.1"}
	want.RetryJoinWAN = []string{"198.51.100.2"}

	for _, tc := range []struct{ name, body string }{
		{"agent.json", fullJSON},
		{"agent.hcl", fullHCL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, t.TempDir(), tc.name, fmt.Sprintf(tc.body, dataDir))
			args := []string{"--config-file", path}
			got := mustLoad(t, args...)

			if !slices.Equal(got.Sources, []string{path}) {
				t.Errorf("Load(%q).Sources = %q, want [%q]", args, got.Sources, path)
			}
			// Sources necessarily differ between formats.
			got.Sources = nil
			// Definitions carry their file and key; services_test.go
			// compares their content across formats.
			got.Local.Services = nil
			if d := diff(got, want); d != "" {
				t.Errorf("Load(%q) differs:\n%s", args, d)
			}
		})
	}
}

func TestLoadKeepsCaseOfUserKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := writeFile(t, dir, "svc.json", `{"services": [{"name": "web", "meta": {"Team.Name": "A"}}],
		"dns_config": {"service_ttl": {"Web.v2": "5s"}}}`)
	args := []string{"--dev", "--config-file", path}
	c := mustLoad(t, args...)

	if len(c.Local.Services) != 1 {
		t.Fatalf("Load(%q).Local.Services = %+v, want one", args, c.Local.Services)
	}
	if got := c.Local.Services[0].Meta["Team.Name"]; got != "A" {
		t.Errorf("Load(%q) meta[%q] = %q, want %q (case and dots kept)", args, "Team.Name", got, "A")
	}
	if got := c.DNS.ServiceTTL["Web.v2"]; got != 5*time.Second {
		t.Errorf("Load(%q) service_ttl[%q] = %v, want 5s (case and dots kept)", args, "Web.v2", got)
	}
}

func TestLoadPrecedence(t *testing.T) {
	t.Parallel()
	type file struct{ name, body string }
	for _, tc := range []struct {
		name  string
		files []file
		args  []string // after one --config-file per file, in order
		get   func(*Config) any
		want  any
	}{
		{
			name:  "file beats default",
			files: []file{{"a.json", `{"ports": {"http": 8501}}`}},
			get:   func(c *Config) any { return c.Ports.HTTP },
			want:  8501,
		},
		{
			name:  "flag beats file",
			files: []file{{"a.json", `{"node_name": "from-file"}`}},
			args:  []string{"--node", "from-flag"},
			get:   func(c *Config) any { return c.NodeName },
			want:  "from-flag",
		},
		{
			name:  "flag equal to its default still beats file",
			files: []file{{"a.json", `{"ports": {"http": 8501}}`}},
			args:  []string{"--http-port", "8500"},
			get:   func(c *Config) any { return c.Ports.HTTP },
			want:  8500,
		},
		{
			name:  "later file beats earlier file",
			files: []file{{"b.json", `{"node_name": "b"}`}, {"a.hcl", `node_name = "a"`}},
			get:   func(c *Config) any { return c.NodeName },
			want:  "a",
		},
		{
			name:  "file beats dev defaults",
			files: []file{{"a.json", `{"bind_addr": "10.1.2.3", "log_level": "info"}`}},
			args:  []string{"--dev"},
			get:   func(c *Config) any { return c.BindAddr + " " + c.LogLevel },
			want:  "10.1.2.3 info",
		},
		{
			name:  "lists append across files and flags",
			files: []file{{"a.json", `{"retry_join": ["a"]}`}, {"b.hcl", `retry_join = ["b"]`}},
			args:  []string{"--retry-join", "c", "--retry-join", "d"},
			get:   func(c *Config) any { return c.RetryJoin },
			want:  []string{"a", "b", "c", "d"},
		},
		{
			name: "repeatable flags keep commas",
			args: []string{"--join", "provider=aws tag_key=a,b", "--join-wan", "x,y"},
			get:  func(c *Config) any { return [][]string{c.StartJoin, c.StartJoinWAN} },
			want: [][]string{{"provider=aws tag_key=a,b"}, {"x,y"}},
		},
		{
			name:  "a single string is a one-element list",
			files: []file{{"a.json", `{"start_join": "10.0.0.1"}`}},
			get:   func(c *Config) any { return c.StartJoin },
			want:  []string{"10.0.0.1"},
		},
		{
			name:  "duration and int flags",
			files: []file{{"a.json", `{"retry_interval": "1m", "retry_max": 3}`}},
			args:  []string{"--retry-interval", "2s", "--retry-max", "9"},
			get:   func(c *Config) any { return fmt.Sprint(c.RetryInterval, " ", c.RetryMaxAttempts) },
			want:  "2s 9",
		},
		{
			name:  "session_ttl_min",
			files: []file{{"a.json", `{"session_ttl_min": "1s"}`}},
			get:   func(c *Config) any { return c.SessionTTLMin },
			want:  time.Second,
		},
		{
			name: "remote exec defaults: disabled, any command",
			get:  func(c *Config) any { return fmt.Sprint(c.DisableRemoteExec, " ", c.ExecAllowedCommands) },
			want: "true []",
		},
		{
			name:  "disable_remote_exec and exec_allowed_commands",
			files: []file{{"a.hcl", `disable_remote_exec = false` + "\n" + `exec_allowed_commands = ["uptime", "systemctl status"]`}},
			get:   func(c *Config) any { return fmt.Sprint(c.DisableRemoteExec, " ", c.ExecAllowedCommands) },
			want:  "false [uptime systemctl status]",
		},
		{
			name:  "-disable-remote-exec=false beats a file",
			files: []file{{"a.json", `{"disable_remote_exec": true}`}},
			args:  []string{"--disable-remote-exec=false"},
			get:   func(c *Config) any { return c.DisableRemoteExec },
			want:  false,
		},
		{
			name: "session_ttl_min default",
			get:  func(c *Config) any { return c.SessionTTLMin },
			want: 10 * time.Second,
		},
		{
			name:  "numbers and booleans written as strings",
			files: []file{{"a.json", `{"ports": {"dns": "5353"}, "leave_on_terminate": "true"}`}},
			get:   func(c *Config) any { return fmt.Sprint(c.Ports.DNS, " ", c.LeaveOnTerminate) },
			want:  "5353 true",
		},
		{
			name:  "JSON null leaves the value alone",
			files: []file{{"a.json", `{"datacenter": "east"}`}, {"b.json", `{"datacenter": null}`}},
			get:   func(c *Config) any { return c.Datacenter },
			want:  "east",
		},
		{
			name:  "key names are case-insensitive",
			files: []file{{"a.json", `{"Node_Name": "upper", "PORTS": {"HTTP": 1234}}`}},
			get:   func(c *Config) any { return c.NodeName + fmt.Sprint(c.Ports.HTTP) },
			want:  "upper1234",
		},
		{
			name:  "repeated HCL blocks merge",
			files: []file{{"a.hcl", "ports { http = 1 }\nports { dns = 2 }\n"}},
			get:   func(c *Config) any { return [2]int{c.Ports.HTTP, c.Ports.DNS} },
			want:  [2]int{1, 2},
		},
		{
			name:  "bracketed IPv6 bind address",
			files: []file{{"a.json", `{"bind_addr": "[::]"}`}},
			get:   func(c *Config) any { return c.BindAddr },
			want:  "::",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			args := []string{"--data-dir", filepath.Join(dir, "data")}
			for _, f := range tc.files {
				args = append(args, "--config-file", writeFile(t, dir, f.name, f.body))
			}
			args = append(args, tc.args...)
			c := mustLoad(t, args...)
			if got := tc.get(c); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Load(%q) = %#v, want %#v", args, got, tc.want)
			}
		})
	}
}

func TestLoadConfigDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "conf.d")
	b := writeFile(t, conf, "b.json", `{"node_name": "b"}`)
	a := writeFile(t, conf, "a.hcl", `node_name = "a"`)
	c := writeFile(t, conf, "c.json", `{"datacenter": "dc9"}`)
	readme := writeFile(t, conf, "README.md", "not config")
	writeFile(t, conf, "sub/z.json", `{"node_name": "z"}`)

	args := []string{"--data-dir", filepath.Join(dir, "data"), "--config-dir", conf}
	got, warnings, err := load(t, args...)
	if err != nil {
		t.Fatalf("Load(%q) = %v, want no error", args, err)
	}
	if want := []string{a, b, c}; !slices.Equal(got.Sources, want) {
		t.Errorf("Load(%q).Sources = %q, want %q", args, got.Sources, want)
	}
	if got.NodeName != "b" || got.Datacenter != "dc9" {
		t.Errorf("Load(%q) node %q dc %q, want %q %q", args, got.NodeName, got.Datacenter, "b", "dc9")
	}
	wantWarn := []string{fmt.Sprintf("config: %s: skipped: not a .json or .hcl file (set -config-format to read it)", readme)}
	if !slices.Equal(warnings, wantWarn) {
		t.Errorf("Load(%q) warnings = %q, want %q", args, warnings, wantWarn)
	}
}

func TestLoadFileAndDirOrderInterleaves(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := writeFile(t, dir, "first.json", `{"node_name": "first"}`)
	inDir := writeFile(t, dir, "d/mid.json", `{"node_name": "mid"}`)
	last := writeFile(t, dir, "last.hcl", `node_name = "last"`)

	for _, tc := range []struct {
		args        []string
		wantSources []string
		wantNode    string
	}{
		{
			args:        []string{"--config-file", first, "--config-dir", filepath.Join(dir, "d"), "--config-file", last},
			wantSources: []string{first, inDir, last},
			wantNode:    "last",
		},
		{
			args:        []string{"--config-file", last, "--config-dir", filepath.Join(dir, "d")},
			wantSources: []string{last, inDir},
			wantNode:    "mid",
		},
		{
			// Like Consul, either flag may name a file or a directory.
			args:        []string{"--config-dir", first, "--config-file", filepath.Join(dir, "d")},
			wantSources: []string{first, inDir},
			wantNode:    "mid",
		},
	} {
		args := append([]string{"--dev"}, tc.args...)
		c := mustLoad(t, args...)
		if !slices.Equal(c.Sources, tc.wantSources) || c.NodeName != tc.wantNode {
			t.Errorf("Load(%q) = sources %q node %q, want %q %q", args, c.Sources, c.NodeName, tc.wantSources, tc.wantNode)
		}
	}
}

func TestLoadConfigFormat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hcl := writeFile(t, dir, "agent.conf", `node_name = "from-conf"`)
	conf := filepath.Join(dir, "conf.d")
	writeFile(t, conf, "10-agent", `node_name = "from-dir"`)
	writeFile(t, conf, "20-dc.json", `{"datacenter": "west"}`)

	args := []string{"--dev", "--config-format", "hcl", "--config-file", hcl}
	if c := mustLoad(t, args...); c.NodeName != "from-conf" {
		t.Errorf("Load(%q).NodeName = %q, want %q", args, c.NodeName, "from-conf")
	}

	// A forced format reads extension-less files in a directory too; files
	// with an extension keep theirs.
	args = []string{"--dev", "--config-format", "hcl", "--config-dir", conf}
	if c := mustLoad(t, args...); c.NodeName != "from-dir" || c.Datacenter != "west" {
		t.Errorf("Load(%q) = node %q dc %q, want %q %q", args, c.NodeName, c.Datacenter, "from-dir", "west")
	}
}

func TestLoadUnknownKeysWarn(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := writeFile(t, dir, "a.json", `{
		"foo": 1,
		"ports": {"bogus": 2, "http": 8501},
		"performance": {"leave_drain_time": "5s"},
		"ports.http": 9,
		"services": []
	}`)
	hclPath := writeFile(t, dir, "b.hcl", "limits { x = 1 }\nbar { baz = 1 }\n")
	args := []string{"--dev", "--config-file", path, "--config-file", hclPath}
	c, warnings, err := load(t, args...)
	if err != nil {
		t.Fatalf("Load(%q) = %v, want no error", args, err)
	}
	want := []string{
		fmt.Sprintf(`config: %s: unknown key "foo" (ignored)`, path),
		fmt.Sprintf(`config: %s: unknown key "performance.leave_drain_time" (ignored)`, path),
		fmt.Sprintf(`config: %s: unknown key "ports.bogus" (ignored)`, path),
		fmt.Sprintf(`config: %s: unknown key "ports.http" (ignored)`, path),
		fmt.Sprintf(`config: %s: unknown key "bar" (ignored)`, hclPath),
		fmt.Sprintf(`config: %s: key "limits" is not supported yet and has no effect (ignored)`, hclPath),
	}
	if !slices.Equal(warnings, want) {
		t.Errorf("Load(%q) warnings =\n%s\nwant\n%s", args, strings.Join(warnings, "\n"), strings.Join(want, "\n"))
	}
	if c.Ports.HTTP != 8501 {
		t.Errorf("Load(%q).Ports.HTTP = %d, want 8501 (known keys next to unknown ones still apply)", args, c.Ports.HTTP)
	}
}

// hashicorp/hcl panics on some malformed input; a broken file must stop
// start-up with an error, not crash the agent.
func TestLoadHCLParserPanicIsAnError(t *testing.T) {
	t.Parallel()
	path := writeFile(t, t.TempDir(), "a.hcl", `{"\0`)
	_, _, err := load(t, "--dev", "--config-file", path)
	want := "config: " + path + ": invalid HCL: the HCL parser failed on this input: "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Load(%s) = %v, want an error starting %q", path, err, want)
	}
}
