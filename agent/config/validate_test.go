package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	// Each case writes body to a file named name (none if name is empty)
	// and loads it after args; want is the whole message, with %[1]s for
	// the file's path.
	for _, tc := range []struct {
		desc, name, body string
		args             []string
		want             string
	}{
		// Type mismatches.
		{"bool", "a.json", `{"server": "yes"}`, nil,
			`config: %[1]s: server: "yes" is not a boolean (true or false)`},
		{"int from text", "a.json", `{"ports": {"http": "abc"}}`, nil,
			`config: %[1]s: ports.http: "abc" is not an integer`},
		{"int from fraction", "a.json", `{"ports": {"dns": 53.5}}`, nil,
			`config: %[1]s: ports.dns: 53.5 is not an integer`},
		{"string from number", "a.json", `{"node_name": 5}`, nil,
			`config: %[1]s: node_name: 5 is not a string`},
		{"block from string", "a.json", `{"ports": "8500"}`, nil,
			`config: %[1]s: ports: "8500" is not an object of keys`},
		{"list from number", "a.json", `{"retry_join": 5}`, nil,
			`config: %[1]s: retry_join: 5 is not a list of strings`},
		{"list element", "a.hcl", `retry_join = ["a", 1]`, nil,
			`config: %[1]s: retry_join: element 2 is 1, not a string`},
		{"duration", "a.json", `{"raft_snapshot_interval": "soon"}`, nil,
			`config: %[1]s: raft_snapshot_interval: invalid duration "soon" (use a duration such as "30s" or "5m")`},
		{"duration from number", "a.json", `{"retry_interval": 30}`, nil,
			`config: %[1]s: retry_interval: invalid duration 30 (use a duration such as "30s" or "5m")`},

		// Ports.
		{"port too big", "a.json", `{"ports": {"http": 70000}}`, nil,
			`config: %[1]s: ports.http: 70000 is not a valid port (1-65535, or -1 to disable)`},
		{"port too big in HCL", "a.hcl", "ports {\n  http = 70000\n}\n", nil,
			`config: %[1]s: ports.http: 70000 is not a valid port (1-65535, or -1 to disable)`},
		{"port zero", "a.json", `{"ports": {"dns": 0}}`, nil,
			`config: %[1]s: ports.dns: 0 is not a valid port (1-65535, or -1 to disable)`},
		{"server port cannot be disabled", "a.json", `{"ports": {"server": -1}}`, nil,
			`config: %[1]s: ports.server: -1 is not a valid port (1-65535)`},
		{"port flag", "", "", []string{"--http-port", "70000"},
			`config: flag -http-port: ports.http: 70000 is not a valid port (1-65535, or -1 to disable)`},

		// Addresses.
		{"bind not an IP", "a.json", `{"bind_addr": "eth0"}`, nil,
			`config: %[1]s: bind_addr: "eth0" is not an IP address`},
		{"bind template", "a.json", `{"bind_addr": "{{ GetPrivateIP }}"}`, nil,
			`config: %[1]s: bind_addr: "{{ GetPrivateIP }}" is not an IP address`},
		{"client list", "a.json", `{"client_addr": "127.0.0.1 nope"}`, nil,
			`config: %[1]s: client_addr: "nope" is not an IP address`},
		{"client empty", "a.json", `{"client_addr": " "}`, nil,
			`config: %[1]s: client_addr: must list at least one IP address`},
		{"advertise unspecified", "a.json", `{"advertise_addr": "0.0.0.0"}`, nil,
			`config: %[1]s: advertise_addr: "0.0.0.0" cannot be advertised: other agents need a routable address`},
		{"advertise wan not an address", "a.json", `{"advertise_addr_wan": "wan.example"}`, nil,
			`config: %[1]s: advertise_addr_wan: "wan.example" is not an IP address`},
		{"addresses.http", "a.hcl", "addresses {\n  http = \"localhost\"\n}\n", nil,
			`config: %[1]s: addresses.http: "localhost" is not an IP address`},
		{"bind flag", "", "", []string{"--bind", "nope"},
			`config: flag -bind: bind_addr: "nope" is not an IP address`},

		// Other values.
		{"log level", "a.json", `{"log_level": "loud"}`, nil,
			`config: %[1]s: log_level: "loud" is not one of trace, debug, info, warn, error`},
		{"raft multiplier", "a.json", `{"performance": {"raft_multiplier": 11}}`, nil,
			`config: %[1]s: performance.raft_multiplier: 11 is out of range (1-10)`},
		{"raft multiplier zero", "a.hcl", "performance {\n  raft_multiplier = 0\n}\n", nil,
			`config: %[1]s: performance.raft_multiplier: 0 is out of range (1-10)`},
		{"snapshot threshold", "a.json", `{"raft_snapshot_threshold": 0}`, nil,
			`config: %[1]s: raft_snapshot_threshold: must be at least 1, got 0`},
		{"session ttl min", "a.json", `{"session_ttl_min": "0s"}`, nil,
			`config: %[1]s: session_ttl_min: must be positive, got 0s`},
		{"snapshot interval", "a.json", `{"raft_snapshot_interval": "1ms"}`, nil,
			`config: %[1]s: raft_snapshot_interval: must be at least 5ms, got 1ms`},
		{"retry max", "", "", []string{"--retry-max", "-1"},
			`config: flag -retry-max: retry_max: must not be negative, got -1`},
		{"retry interval", "", "", []string{"--retry-interval", "0s"},
			`config: flag -retry-interval: retry_interval: must be positive, got 0s`},
		{"node id", "a.json", `{"node_id": "abc"}`, nil,
			`config: %[1]s: node_id: "abc" is not a UUID (like 6a2f1b4e-0c3d-4e5f-8a9b-1c2d3e4f5a6b)`},
		{"datacenter", "a.json", `{"datacenter": "dc 1"}`, nil,
			`config: %[1]s: datacenter: "dc 1" may contain only letters, digits, '_' and '-'`},
		{"datacenter flag", "", "", []string{"--datacenter", "dc.1"},
			`config: flag -datacenter: datacenter: "dc.1" may contain only letters, digits, '_' and '-'`},

		// Bootstrapping.
		{"bootstrap and expect", "a.json", `{"server": true, "bootstrap": true, "bootstrap_expect": 3}`, nil,
			`config: %[1]s: bootstrap_expect: cannot be used with bootstrap (set in %[1]s)`},
		{"bootstrap flag and expect file", "a.json", `{"server": true, "bootstrap_expect": 3}`, []string{"--bootstrap"},
			`config: %[1]s: bootstrap_expect: cannot be used with bootstrap (set in flag -bootstrap)`},
		{"dev and expect", "", "", []string{"--dev", "--bootstrap-expect", "3"},
			`config: flag -bootstrap-expect: bootstrap_expect: cannot be used with bootstrap (set in flag -dev)`},
		{"expect on a client", "a.json", `{"bootstrap_expect": 3}`, nil,
			`config: %[1]s: bootstrap_expect: requires server mode (server = true or -server)`},
		{"bootstrap on a client", "", "", []string{"--bootstrap"},
			`config: flag -bootstrap: bootstrap: requires server mode (server = true or -server)`},
		{"negative expect", "a.json", `{"server": true, "bootstrap_expect": -1}`, nil,
			`config: %[1]s: bootstrap_expect: must not be negative, got -1`},

		// Files and flags themselves.
		{"bad JSON", "a.json", `{"server": true,,}`, nil,
			`config: %[1]s: invalid JSON: line 1, column 17: invalid character ',' looking for beginning of object key string`},
		{"bad JSON line", "a.json", "{\n  \"server\": true\n  \"x\": 1\n}", nil,
			`config: %[1]s: invalid JSON: line 3, column 3: invalid character '"' after object key:value pair`},
		{"JSON not an object", "a.json", `[1, 2]`, nil,
			`config: %[1]s: invalid JSON: the top level must be an object, not array`},
		{"bad HCL", "a.hcl", "server = yes\n", nil,
			`config: %[1]s: invalid HCL: At 1:10: Unknown token: 1:10 IDENT yes`},
		{"unknown extension", "agent.yaml", `node_name: x`, nil,
			`config: %[1]s: unknown format: name the file *.json or *.hcl, or set -config-format`},
		{"bad config format", "", "", []string{"--config-format", "yaml"},
			`config: flag -config-format: "yaml" is not json or hcl`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			loadCase(t, tc.name, tc.body, tc.args).wantError(t, tc.want)
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nope.json")
	args := []string{"--dev", "--config-file", path}
	want := fmt.Sprintf("config: %s: cannot read: no such file or directory", path)
	if _, _, err := load(t, args...); err == nil || err.Error() != want {
		t.Errorf("Load(%q) = %v, want %s", args, err, want)
	}
}

func TestLoadDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A path under a regular file cannot be created, even by root.
	file := writeFile(t, dir, "plain-file", "x")
	blocked := filepath.Join(file, "data")
	inFile := writeFile(t, dir, "a.json", fmt.Sprintf(`{"data_dir": %q}`, blocked))

	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "config: data_dir: must be set for a non-dev agent"},
		{[]string{"--server"}, "config: data_dir: must be set for a non-dev agent"},
		{[]string{"--data-dir", blocked},
			fmt.Sprintf("config: flag -data-dir: data_dir: %s: cannot write: not a directory", blocked)},
		{[]string{"--data-dir", file},
			fmt.Sprintf("config: flag -data-dir: data_dir: %s: cannot write: not a directory", file)},
		{[]string{"--config-file", inFile},
			fmt.Sprintf("config: %s: data_dir: %s: cannot write: not a directory", inFile, blocked)},
		{[]string{"--dev", "--data-dir", blocked},
			fmt.Sprintf("config: flag -data-dir: data_dir: %s: cannot write: not a directory", blocked)},
	} {
		if _, _, err := load(t, tc.args...); err == nil || err.Error() != tc.want {
			t.Errorf("Load(%q) = %v, want %s", tc.args, err, tc.want)
		}
	}
}

func TestLoadCreatesDataDir(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "a", "b")
	args := []string{"--data-dir", dataDir}
	mustLoad(t, args...)
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		t.Fatalf("Load(%q) did not create the data dir: %v", args, err)
	}
	if len(entries) != 0 {
		t.Errorf("Load(%q) left %d files in the data dir, want none", args, len(entries))
	}
}

func TestLoadNormalises(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		get  func(*Config) string
		want string
	}{
		{[]string{"--log-level", "WARN"}, func(c *Config) string { return c.LogLevel }, "warn"},
		{[]string{"--log-level", "warning"}, func(c *Config) string { return c.LogLevel }, "warn"},
		{[]string{"--log-level", "ERR"}, func(c *Config) string { return c.LogLevel }, "error"},
		{[]string{"--log-level", "Trace"}, func(c *Config) string { return c.LogLevel }, "trace"},
		{[]string{"--datacenter", "East-1"}, func(c *Config) string { return c.Datacenter }, "east-1"},
		{[]string{"--node-id", "6A2F1B4E-0C3D-4E5F-8A9B-1C2D3E4F5A6B"}, func(c *Config) string { return c.NodeID },
			"6a2f1b4e-0c3d-4e5f-8a9b-1c2d3e4f5a6b"},
		{[]string{"--client", " 127.0.0.1   [::1] "}, func(c *Config) string { return c.ClientAddr }, "127.0.0.1 ::1"},
		{[]string{"--advertise", "[2001:db8::1]"}, func(c *Config) string { return c.AdvertiseAddr }, "2001:db8::1"},
		{[]string{"--advertise-wan", "198.51.100.7"}, func(c *Config) string { return c.AdvertiseAddrWAN }, "198.51.100.7"},
	} {
		args := append([]string{"--dev"}, tc.args...)
		if got := tc.get(mustLoad(t, args...)); got != tc.want {
			t.Errorf("Load(%q) = %q, want %q", args, got, tc.want)
		}
	}
}

func TestLoadWarnings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--dev", "--node", "web_1"},
			[]string{`config: flag -node: node_name: "web_1" is not a valid DNS label (letters, digits and '-', at most 63), so DNS cannot answer for it`}},
		{[]string{"--server", "--bootstrap-expect", "2"},
			[]string{"config: flag -bootstrap-expect: bootstrap_expect: 2 servers survive no more failures than 1; prefer an odd number"}},
		{[]string{"--server", "--bootstrap-expect", "3"}, nil},
	} {
		args := append([]string{"--data-dir", t.TempDir()}, tc.args...)
		_, warnings, err := load(t, args...)
		if err != nil {
			t.Errorf("Load(%q) = %v, want no error", args, err)
			continue
		}
		if !slices.Equal(warnings, tc.want) {
			t.Errorf("Load(%q) warnings = %q, want %q", args, warnings, tc.want)
		}
	}
}

func TestNodeNameFromHost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ host, want string }{
		{"web01", "web01"},
		{"Web01.Example.COM", "web01-example-com"},
		{"db_primary", "db-primary"},
		{" box ", "box"},
	} {
		if got, err := nodeNameFromHost(tc.host); err != nil || got != tc.want {
			t.Errorf("nodeNameFromHost(%q) = %q, %v, want %q", tc.host, got, err, tc.want)
		}
	}
	if got, err := nodeNameFromHost(""); err == nil {
		t.Errorf("nodeNameFromHost(%q) = %q, want an error", "", got)
	}
}

func TestErrorIsOneLine(t *testing.T) {
	t.Parallel()
	e := &Error{Source: "a.json", Key: "ports.http", Err: errors.New("bad")}
	if got, want := e.Error(), "config: a.json: ports.http: bad"; got != want || strings.Contains(got, "\n") {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := (&Error{Key: "data_dir", Err: errors.New("x")}).Error(), "config: data_dir: x"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
