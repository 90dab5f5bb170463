//go:build unix

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"conclave/internal/testutil"
)

// cfgWrite writes a config file named name into a fresh directory.
func cfgWrite(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigErrorsStopStartUp runs `conclave agent` with a bad config: it
// must exit 1 before serving, with one line on stderr naming where the
// problem is (file or flag), the key and the reason, and nothing on stdout.
func TestConfigErrorsStopStartUp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file, body string
		extra            []string // more flags
		want             []string // each must appear in the stderr line
	}{
		{"port not a number (JSON)", "bad.json", `{"ports":{"http":"abc"}}`, nil,
			[]string{"bad.json", "ports.http", `"abc" is not an integer`}},
		{"port not a number (HCL)", "bad.hcl", "ports {\n  http = \"abc\"\n}\n", nil,
			[]string{"bad.hcl", "ports.http", `"abc" is not an integer`}},
		{"broken JSON", "broken.json", "{\n  \"node_name\": \"x\",\n  \"ports\": \n", nil,
			[]string{"broken.json", "invalid JSON", "line "}},
		{"snapshot threshold out of range", "snap.json", `{"raft_snapshot_threshold": 0}`, nil,
			[]string{"snap.json", "raft_snapshot_threshold", "at least 1"}},
		{"bad log level", "log.json", `{"log_level": "loud"}`, nil,
			[]string{"log.json", "log_level", `"loud"`}},
		// A misspelt key in a service definition, refused as Consul's
		// agent refuses it, rather than registering port 0 (issue 16).
		{"unknown key in a service", "web.json", `{"service": {"name": "web", "prot": 80}}`, nil,
			[]string{"web.json", "service.prot: unknown key"}},
		{"bad flag value beats a good file", "ok.json", `{"node_name": "fine"}`, []string{"-log-level", "loud"},
			[]string{"flag -log-level", "log_level", `"loud"`}},
		{"bad ACL default policy", "acl.hcl", "acl {\n  enabled = true\n  default_policy = \"maybe\"\n}\n", nil,
			[]string{"acl.hcl", "acl.default_policy", `"maybe" is not allow or deny`}},
		// A file asking for protection conclave lacks must not start an
		// open agent.
		{"gossip key too short", "enc.json", `{"encrypt": "c2hvcnQ="}`, nil,
			[]string{"enc.json", "encrypt: the key is 5 bytes, want 16, 24 or 32"}},
		{"verify_incoming without a CA", "tls.hcl", "tls {\n  defaults {\n    verify_incoming = true\n  }\n}\n", nil,
			[]string{"tls.hcl", "tls.defaults.verify_incoming: needs ca_file or ca_path"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := cfgWrite(t, tc.file, tc.body)
			ports, err := testutil.FreeAgentPorts()
			if err != nil {
				t.Fatal(err)
			}
			// -dev and free ports: if the config were wrongly accepted, the
			// agent would start harmlessly and RunCLI would fail the test.
			args := append([]string{"agent", "-dev", "-config-file", path}, tc.extra...)
			args = append(args, ports.Flags()...)
			got := testutil.RunCLI(t, conclaveBin, nil, "", args...)
			if got.Code != 1 || got.Stdout != "" {
				t.Fatalf("agent -config-file %s = exit %d, stdout %q, want exit 1 and no stdout; stderr:\n%s", tc.file, got.Code, got.Stdout, got.Stderr)
			}
			if strings.Count(got.Stderr, "\n") != 1 || !strings.HasSuffix(got.Stderr, "\n") {
				t.Errorf("agent -config-file %s stderr = %q, want exactly one line", tc.file, got.Stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(got.Stderr, w) {
					t.Errorf("agent -config-file %s stderr = %q, want it to name %q", tc.file, got.Stderr, w)
				}
			}
		})
	}
}

// TestConfigUnknownKeysOnlyWarn starts an agent whose file has keys it does
// not know, or knows and does not implement yet: each is a warning naming
// the file and key, and the rest of the file still applies.
func TestConfigUnknownKeysOnlyWarn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file, body string
		warnings   []string
		node       string // node_name set by the same file
	}{
		{"unknown.json", `{"node_name": "cfg-json", "no_such_key": 1, "ports": {"no_such_port": 2}}`,
			[]string{`unknown key "no_such_key"`, `unknown key "ports.no_such_port"`}, "cfg-json"},
		{"unknown.hcl", "node_name = \"cfg-hcl\"\nno_such_key = true\n",
			[]string{`unknown key "no_such_key"`}, "cfg-hcl"},
		{"future.hcl", "node_name = \"cfg-future\"\nlimits {\n  http_max_conns_per_client = 10\n}\nwatches = [{ type = \"key\", key = \"k\", args = [\"true\"] }]\n",
			[]string{`key "limits" is not supported yet and has no effect`}, "cfg-future"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			path := cfgWrite(t, tc.file, tc.body)
			p := testutil.StartProcess(t, testutil.ProcessOptions{Bin: conclaveBin, Args: []string{"-dev", "-config-file", path}})
			lines := strings.Split(p.Log(), "\n")
			for _, w := range tc.warnings {
				found := false
				for _, l := range lines {
					if strings.Contains(l, "[WARN]") && strings.Contains(l, path) && strings.Contains(l, w) {
						found = true
					}
				}
				if !found {
					t.Errorf("agent log has no [WARN] line naming %s and %s:\n%s", path, w, p.Log())
				}
			}
			self := durNewKV(p.HTTPAddr()).self(t)
			if got, _ := self.Config["NodeName"].(string); got != tc.node {
				t.Errorf("NodeName = %q, want %q from %s", got, tc.node, tc.file)
			}
		})
	}
}
